"""What reading a knowledge file costs the operator: a parser's own log lines, which name
no file, stay out of the log (they are kept, with the file's name, at debug level)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import structlog

from app.errors import WorkspaceError
from app.knowledge.loaders import load_document
from tests.knowledge.test_loaders import make_pdf


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
