"""The directory of PEOPLE and a RuleBook over RULES_YML, for the rules tests."""

from __future__ import annotations

import pytest

from app.config.directory import Directory
from app.rules.loading import load_rules
from app.rules.rulebook import RuleBook
from tests.rules.helpers import PEOPLE, RULES_YML, write


@pytest.fixture
def directory() -> Directory:
    return Directory(PEOPLE)


@pytest.fixture
def book(tmp_path, directory) -> RuleBook:
    return RuleBook(load_rules(write(tmp_path, RULES_YML)), directory)
