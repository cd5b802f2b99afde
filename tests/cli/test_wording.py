"""Counts in what the command line prints agree with their nouns ("1 record", "2 records"),
and a question asked with `trellis ask` is recorded as asked from the command line, not in
a direct message."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli.main import cli
from app.cli.workspaces import STARTER
from app.db.migrate import open_database
from app.trust.audit import AuditLog
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")


def trellis(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def flat(text: str) -> str:
    return " ".join(text.split())


async def one_record(url: str) -> None:
    async with open_database(url) as database:
        await AuditLog(database).record(kind="question", payload={"question": "Hi?"})


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    return shutil.copytree(STARTER, tmp_path / "acme")


def test_one_record_is_one_record(workspace, tmp_path):
    asyncio.run(one_record(f"sqlite:///{tmp_path / 'trellis.db'}"))
    assert "Audit chain intact: 1 record, head 1:" in flat(trellis("audit", "verify").output)
    assert "(1 audit record)" in trellis("report", "-w", str(workspace), "--since", "all").output
    about = flat(trellis("about", "-w", str(workspace)).stdout)
    assert "UTC: intact over 1 record." in about


def test_a_question_from_the_command_line_is_recorded_as_asked_there(workspace):
    asked = trellis(
        "ask", "-w", str(workspace), "--as", "sam@example.com", "--json", "When is the office open?"
    )
    audit_id = json.loads(asked.stdout)["audit_id"]
    story = flat(trellis("audit", "show", audit_id, "-w", str(workspace)).output)
    assert "in the command line" in story and "direct message" not in story
    assert "scope you (1 reader, 0 outside the directory)" in story


@pytest.mark.parametrize("group", [[], ["audit"], ["db"]])
def test_the_commands_list_gives_each_command_its_help_in_one_paragraph(group):
    """A docstring's own line breaks do not break a command's line in `--help`: the list
    wraps each command's first paragraph to the terminal alone."""
    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = [line.strip("│ ").strip() for line in result.output.splitlines() if "│" in line]
    commands = [row for row in rows if row and not row.startswith("--")]
    assert commands, result.output
    for row in commands:
        name, _, help_text = row.partition(" ")
        assert help_text.strip(), f"{name}'s help runs onto a line of its own:\n{result.output}"
