"""What `trellis ingest` prints: the table counts documents, and a line says how many
documents and chunks the index holds and how many chunks this run wrote; a document with
more text than the limit is skipped with a warning naming it, and the limit can be raised."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli.main import cli
from app.cli.workspaces import STARTER
from app.knowledge.limits import MAX_DOCUMENT_CHARS
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


def test_output_that_is_no_terminal_hears_how_far_indexing_is(workspace):
    first = trellis("ingest", "-w", workspace)  # CliRunner's output is no terminal
    assert first.exit_code == 0, first.output
    assert "Indexing documents: 5 of 5 changed ones done" in flat(first.output)
    second = trellis("ingest", "-w", workspace)  # nothing changed: nothing to count
    assert "Indexing documents" not in second.output


def test_a_document_over_the_limit_is_skipped_at_once_with_a_warning(workspace):
    dump = workspace / "knowledge" / "dump.md"
    dump.write_text("---\naccess: [everyone]\n---\n# Dump\n\n" + "row " * 300_000, "utf-8")
    started = time.perf_counter()
    skipped = trellis("ingest", "-w", workspace)
    assert time.perf_counter() - started < 30  # indexing it took minutes
    assert skipped.exit_code == 0, skipped.output
    warning = flat(skipped.stderr)
    assert warning.startswith(
        f"warning knowledge/dump.md: has 1,200,005 characters of text, more than the "
        f"{MAX_DOCUMENT_CHARS:,} Trellis indexes from one document, so it was not indexed"
    )
    assert "raise the limit with knowledge.max_document_chars in trellis.yml" in warning
    assert "The index holds 5 documents" in skipped.output
    # The output does not only say all went well: it counts the document left out.
    assert "1 document too long to index kept the version indexed before" in flat(skipped.output)


def test_the_limit_can_be_raised_and_a_version_indexed_stays(workspace):
    dump = workspace / "knowledge" / "dump.md"
    dump.write_text("---\naccess: [everyone]\n---\n# Dump\n\n" + "row " * 1_000, "utf-8")
    lowered = trellis("ingest", "-w", workspace, "--max-document-chars", "1000")
    assert lowered.exit_code == 0, lowered.output
    assert "knowledge/dump.md: has 4,005 characters of text, more than the 1,000" in flat(
        lowered.stderr
    )
    assert "The index holds 5 documents" in lowered.output

    usual = trellis("ingest", "-w", workspace)
    assert usual.exit_code == 0 and usual.stderr == "", usual.output
    assert "The index holds 6 documents" in usual.output
    again = trellis("ingest", "-w", workspace, "--max-document-chars", "1000")
    assert "The index holds 6 documents" in again.output and "dump.md" in again.stderr


def test_the_workspaces_limit_holds_for_every_command_that_indexes(workspace):
    dump = workspace / "knowledge" / "dump.md"
    dump.write_text("---\naccess: [everyone]\n---\n# Dump\n\n" + "row " * 1_000, "utf-8")
    config = workspace / "trellis.yml"
    config.write_text(
        config.read_text(encoding="utf-8") + "\nknowledge:\n  max_document_chars: 1000\n",
        encoding="utf-8",
    )
    skipped = trellis("ingest", "-w", workspace)
    assert "knowledge/dump.md: has 4,005 characters of text, more than the 1,000" in flat(
        skipped.stderr
    ), skipped.output
    asked = trellis("ask", "-w", workspace, "--as", "sam@example.com", "What is in the dump?")
    assert asked.exit_code == 0, asked.output
    # `ask` indexed with the same limit: had it taken the dump in, it would have stayed
    assert "The index holds 5 documents" in trellis("ingest", "-w", workspace).output
    raised = trellis("ingest", "-w", workspace, "--max-document-chars", "5000")
    assert raised.stderr == "" and "The index holds 6 documents" in raised.output

    config.write_text(config.read_text().replace("1000\n", "0\n"), encoding="utf-8")
    refused = trellis("check", "-w", workspace)
    assert "trellis.yml:" in refused.output and "max_document_chars" in refused.output


def test_every_mistake_in_a_documents_front_matter_is_named(workspace):
    (workspace / "knowledge" / "uids.md").write_text(
        "---\ntitel: UIDs\nlayout: page\nowners: hr\n---\n# UIDs\n\nSystem users.\n", "utf-8"
    )
    ingest = trellis("ingest", "-w", workspace)
    assert ingest.exit_code == 1
    said = flat(ingest.output)
    assert "knowledge/uids.md:2: titel: unknown key; did you mean 'title'?" in said
    assert "knowledge/uids.md:4: owners: unknown key; did you mean 'owner'?" in said
    assert "layout" not in said
