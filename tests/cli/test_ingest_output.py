"""What `trellis ingest` prints: the table counts documents, and a line says how many
documents and chunks the index holds and how many chunks this run wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli.main import cli
from app.cli.workspaces import STARTER
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")


def trellis(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    shutil.copytree(STARTER, tmp_path / "acme")
    return tmp_path / "acme"


def test_a_second_ingest_says_what_the_index_holds_not_zero_chunks(workspace):
    first = trellis("ingest", "-w", workspace)
    assert first.exit_code == 0, first.output
    second = trellis("ingest", "-w", workspace)
    assert second.exit_code == 0, second.output
    assert "chunks" not in second.output.split("The index holds")[0]
    assert "The index holds 5 documents in 5 chunks; this run wrote 0 chunks." in second.output
