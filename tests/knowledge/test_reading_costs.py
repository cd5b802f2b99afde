"""What reading a knowledge file costs the operator: a parser's own log lines, which name
no file, stay out of the log (they are kept, with the file's name, at debug level); a long
run of letters with no hyphen is indexed in linear time; and a document with more text
than the limit is left out of the index with a warning, its earlier version kept."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from app.errors import WorkspaceError
from app.knowledge.ingest import ingest
from app.knowledge.loaders import load_document
from app.knowledge.search import count_documents
from app.text.words import _HYPHENATED, index_terms
from tests.knowledge.test_loaders import make_pdf

PLAIN_HYPHENATED = re.compile(r"[^\W_]+(?:[-\u2010\u2011][^\W_]+)+")
"""The compound pattern as first written: right, but quadratic on a long unbroken word."""


def _knowledge(tmp_path: Path, files: dict[str, bytes]) -> Path:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    for name, data in files.items():
        (knowledge / name).write_bytes(data)
    return knowledge


@pytest.mark.parametrize(
    ("raw", "readable"),
    [
        (b"this is not a pdf", False),
        (b"junk\n" + make_pdf([["Opening hours", "We open at nine."]]), True),
    ],
    ids=["unreadable", "repaired"],
)
def test_pypdf_log_lines_are_kept_with_the_file_name_at_debug_level(
    tmp_path, caplog, raw, readable
):
    knowledge = _knowledge(tmp_path, {"hours.pdf": raw})
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logged:
        try:
            document = load_document(knowledge / "hours.pdf", knowledge_dir=knowledge)
        except WorkspaceError as exc:
            assert not readable
            assert str(exc).startswith("knowledge/hours.pdf: is not a readable PDF")
        else:
            assert readable and "We open at nine." in document.text
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    [notes] = [e for e in logged if e["event"] == "parser_notes"]
    assert notes["log_level"] == "debug"
    assert (notes["file"], notes["library"]) == ("knowledge/hours.pdf", "pypdf")
    assert any("pdf header" in note for note in notes["notes"])
    assert logging.getLogger("pypdf").propagate is True
    assert not logging.getLogger("pypdf").handlers


def test_a_long_run_of_letters_is_indexed_in_linear_time():
    started = time.perf_counter()
    terms = index_terms("a" * 200_000 + " carry-over")
    assert time.perf_counter() - started < 2  # minutes before
    assert "carryov" in terms


@given(st.text(alphabet="ab-\u2010_ 'é9x", max_size=40))
def test_compounds_are_found_as_the_plain_pattern_finds_them(text):
    assert _HYPHENATED.findall(text) == PLAIN_HYPHENATED.findall(text)


async def test_a_document_over_the_limit_keeps_its_indexed_version(database, tmp_path):
    body = b"---\naccess: [everyone]\n---\n# Rates\n\n" + b"The rate is five. " * 50
    knowledge = _knowledge(tmp_path, {"rates.md": body})
    first = await ingest(database, knowledge, retrieval="keyword")
    assert (first.added, first.warnings) == (1, [])

    (knowledge / "rates.md").write_bytes(body + b"The rate is six. " * 100)
    grown = await ingest(database, knowledge, retrieval="keyword", max_document_chars=1_000)
    [warning] = grown.warnings
    assert warning.file == "knowledge/rates.md"
    assert warning.problem.startswith("has 2,606 characters of text, more than the 1,000")
    assert (grown.updated, grown.removed, grown.errors) == (0, 0, [])
    assert await count_documents(database) == 1
