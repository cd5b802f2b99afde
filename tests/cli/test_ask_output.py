"""What `trellis ask` prints: an answer, its citations, a fuller private answer when the
channel's answer had to leave sources out, and the audit id once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")

DEMO = Path(__file__).resolve().parents[2] / "app" / "demo" / "workspace"
PTO = "How many days of paid time off do full-time employees get per year?"


def test_a_fuller_private_answer_still_prints_the_audit_id_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    workspace = shutil.copytree(DEMO, tmp_path / "demo")
    result = CliRunner().invoke(
        cli,
        ["ask", "-w", str(workspace), "--as", "grace.adeyemi@northwind.example"]
        + ["--channel", "general", PTO],
    )
    assert result.exit_code == 0, result.output
    assert "Fuller answer shown only to the asker" in result.output
    # The channel's reply reads as it does in Slack: nobody could answer it there, and
    # nothing is passed on (the asker was answered), nor said about the command line.
    channel_reply = " ".join(result.output.split("Fuller answer")[0].split())
    assert "couldn't find a well-supported answer" in channel_reply
    assert "command line" not in channel_reply and "pass your question" not in channel_reply
    audits = [line for line in result.output.splitlines() if line.startswith("audit ")]
    assert len(audits) == 1, result.output


def test_ask_says_which_document_it_could_not_read_and_answers_from_its_last_good_version(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    workspace = shutil.copytree(DEMO, tmp_path / "demo")
    ask = ["ask", "-w", str(workspace), "--as", "sam.ortiz@northwind.example"]
    question = "When is Trail Day in 2026?"
    first = CliRunner().invoke(cli, [*ask, question])
    assert first.exit_code == 0 and "October 9" in first.output, first.output
    holidays = workspace / "knowledge/company/holidays-2026.md"
    text = holidays.read_text().replace("owner: people-ops", "tags: [holidays, days")
    holidays.write_text(text.replace("October 9, 2026", "October 16, 2026"))

    again = CliRunner().invoke(cli, [*ask, question])
    assert again.exit_code == 0, again.output
    printed = " ".join(again.output.split())
    assert "knowledge/company/holidays-2026.md:6: invalid YAML" in printed, printed
    assert "the last good version of its documents keeps being served" in printed
    assert "October 9" in printed and "October 16" not in printed


def test_several_questions_are_answered_in_one_run_and_a_thread_carries_its_topic(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    workspace = shutil.copytree(DEMO, tmp_path / "demo")
    asked = tmp_path / "questions.txt"
    asked.write_text(
        "# tried on the first day\nHow many unused PTO days carry over into next year?\n\n"
        "By when do I have to take them?\n",
        "utf-8",
    )
    ask = ["ask", "-w", str(workspace), "--as", "sam.ortiz@northwind.example", "--json"]

    apart = CliRunner().invoke(cli, [*ask, "--file", str(asked)])
    assert apart.exit_code == 0, apart.output
    answers = [json.loads(line) for line in apart.stdout.splitlines()]
    assert [a["question"] for a in answers] == [
        "How many unused PTO days carry over into next year?",
        "By when do I have to take them?",
    ]
    assert "5 unused days" in answers[0]["answer"]
    assert "March 31" not in answers[1]["answer"]  # asked alone, "them" is nothing

    threaded = CliRunner().invoke(cli, [*ask, "--thread", "--file", str(asked)])
    assert threaded.exit_code == 0, threaded.output
    follow_up = json.loads(threaded.stdout.splitlines()[1])
    assert "March 31" in follow_up["answer"]  # the thread says what "them" are

    one = CliRunner().invoke(cli, [*ask, "When is Trail Day in 2026?"])
    assert "question" not in json.loads(one.stdout)  # one question: one object, as before


def test_a_questions_file_that_cannot_be_read_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    missing = tmp_path / "nowhere.txt"
    ask = ["ask", "-w", str(DEMO), "--as", "sam.ortiz@northwind.example", "--file", str(missing)]
    result = CliRunner().invoke(cli, ask)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"--file: cannot read {missing} (no such file or directory)" in said


def test_a_question_not_answered_names_the_closest_page_in_print_and_in_json(tmp_path, monkeypatch):
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    workspace = shutil.copytree(DEMO, tmp_path / "demo")
    ask = ["ask", "-w", str(workspace), "--as", "sam.ortiz@northwind.example"]
    asked = ["What is the parental leave policy in Brazil?", "Where can I park my car?"]
    printed = CliRunner().invoke(cli, [*ask, *asked])
    assert printed.exit_code == 0, printed.output
    brazil, parking = " ".join(printed.output.split()).split("Q: ")[1:]
    assert brazil.startswith(asked[0]) and "no_answer" in brazil
    assert "The closest page I found is “Parental Leave" in brazil
    assert "closest page" not in parking  # nothing is near enough to name
    shown = CliRunner().invoke(cli, [*ask, "--json", *asked])
    results = [json.loads(line) for line in shown.output.splitlines() if line.startswith("{")]
    assert [r["status"] for r in results] == ["no_answer", "no_answer"]
    assert results[0]["nearest"].startswith("Parental Leave") and results[1]["nearest"] is None
