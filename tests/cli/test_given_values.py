"""A mistake in a value or a path given on the command line is one line naming the option
and what is wrong, with exit status 2, never a traceback: every command goes through the
same error handling, whether the mistake is found before, inside or after its work; a
broken workspace is listed whole, one mistake a line. A refusal (a person asking where
Slack would not let them) is one line and exit status 1."""

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


def one_line(result: Result, status: int) -> str:
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert result.exit_code == status, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    shutil.copytree(STARTER, tmp_path / "acme")
    return tmp_path / "acme"


@pytest.mark.parametrize("head", ["garbage", "99:abcd", ""])
def test_a_head_that_is_not_seq_hash_names_the_option(workspace, head):
    line = one_line(trellis("audit", "verify", "--head", head), 2)
    assert line.startswith("Setup error --head: "), line
    assert f"{head!r} is not an audit head; expected SEQ:HASH" in line


def test_a_head_file_that_cannot_be_read_or_holds_no_head_names_the_option(workspace, tmp_path):
    line = one_line(trellis("audit", "verify", "--head-file", tmp_path), 2)
    assert line == f"Setup error --head-file: cannot read {tmp_path} (is a directory)"
    garbled = tmp_path / "head"
    garbled.write_text("not a head\n")
    line = one_line(trellis("audit", "verify", "--head-file", garbled), 2)
    assert f"--head-file: {garbled} holds no audit head: 'not a head' is not" in line
    blocked = tmp_path / "head" / "below-a-file"
    line = one_line(trellis("audit", "verify", "--head-file", blocked), 2)
    assert line.startswith(f"Setup error --head-file: cannot create the folder {garbled}")


def test_a_missing_head_file_is_said_to_be_new_and_the_anchor_is_checked_instead(
    workspace, tmp_path
):
    head_file = tmp_path / "kept" / "audit-head"
    first = trellis("audit", "verify", "--head-file", head_file)
    assert first.exit_code == 0, first.output
    said = " ".join(first.stderr.split())
    assert f"--head-file {head_file} did not exist: no head was recorded there" in said
    assert "so this run checks against the latest audit anchor" in said
    assert "No audit anchor yet" in first.stdout
    assert head_file.read_text().startswith("0:")

    second = trellis("audit", "verify", "--head-file", head_file)
    assert second.exit_code == 0, second.output
    assert second.stderr == "" and "anchor" not in second.stdout


def test_an_html_report_nowhere_to_be_written_stops_before_any_work(workspace, tmp_path):
    for target, problem in (
        (tmp_path / "no" / "such" / "x.html", f"the folder {tmp_path / 'no' / 'such'} does not"),
        (tmp_path, f"{tmp_path} is a folder; name a file to write"),
    ):
        line = one_line(trellis("about", "--workspace", workspace, "--html", target), 2)
        assert line.startswith(f"Setup error --html: {problem}"), line
    assert not (tmp_path / "trellis.db").exists()


def test_init_says_what_is_in_the_way(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    line = one_line(trellis("init", a_file), 2)
    assert line == (
        f"Setup error {a_file}: already exists and is a file, not a folder; name a new folder "
        "for the workspace"
    )
    line = one_line(trellis("init", a_file / "acme"), 2)
    assert line.startswith(f"Setup error {a_file / 'acme'}: cannot be created (not a directory)")


def test_an_unknown_channel_is_a_mistake_in_the_option(workspace):
    asked = trellis(
        "ask", "--workspace", workspace, "--as", "sam@example.com", "--channel", "nope", "Hi?"
    )
    line = one_line(asked, 2)
    assert line.startswith("Setup error --channel: there is no channel nope in the workspace")


def test_nobody_asks_in_a_private_channel_they_are_not_a_member_of(workspace):
    question = "Who approves expenses?"
    outsider = trellis(
        "ask", "-w", workspace, "--as", "sam@example.com", "--channel", "approvals", question
    )
    line = one_line(outsider, 1)
    assert line == (
        "Error sam@example.com is not a member of the private channel #approvals, so Slack "
        "would not let them ask there."
    )
    member = trellis(
        "ask", "-w", workspace, "--as", "jo@example.com", "--channel", "C0APPROVE1", question
    )
    assert member.exit_code == 0, member.output
    assert member.stdout.startswith("answered")


def test_every_mistake_in_the_workspace_is_listed_by_every_command(workspace):
    (workspace / "trellis.yml").write_text("answers: {min_confidence: 5}\n", encoding="utf-8")
    rules = workspace / "rules.yml"
    rules.write_text(rules.read_text().replace("mode: draft_only", "mode: sometimes"))
    for command in (
        ["ingest", "-w", workspace],
        ["ask", "-w", workspace, "--as", "sam@example.com", "When is the office open?"],
        ["eval", "-w", workspace],
    ):
        done = trellis(*command)
        assert done.exit_code == 2, done.output
        lines = done.output.splitlines()
        assert len(lines) == 2, done.output  # as `trellis check` lists them, not only the first
        assert lines[0].startswith("Workspace error trellis.yml:1: answers.min_confidence")
        assert lines[1].startswith("Workspace error rules.yml:7: workflows.expense_request.mode")
    refused = trellis("reload", "-w", workspace)  # the eval gate's reason names both too
    assert refused.exit_code == 2, refused.output
    said = " ".join(refused.output.split())
    assert "did not go live: trellis.yml:1: answers.min_confidence" in said, said
    assert "; rules.yml:7: workflows.expense_request.mode" in said, said
