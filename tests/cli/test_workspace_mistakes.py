"""Mistakes in a workspace that used to pass `trellis check` and then changed what Trellis
did: each is reported by `check` with its file and line, in one round, and the commands
that read the workspace refuse what they cannot do right. Every test runs the real
command on a starter workspace (`trellis init`) with the mistake written into its files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_check_and_init import env_for, findings, trellis


@pytest.fixture
def cobalt(tmp_path) -> Path:
    done = trellis(tmp_path, "init", str(tmp_path / "cobalt"))
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / "cobalt"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new))


def check(tmp_path: Path, root: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    """The command's run and its findings by (kind, file, line): the problem."""
    done = trellis(tmp_path, "check", "--workspace", str(root))
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    found = {(kind, file, line): problem for kind, file, line, problem in findings(done.stdout)}
    return done, found


def ask(tmp_path: Path, root: Path, email: str, question: str) -> dict:
    done = trellis(tmp_path, "ask", "--workspace", str(root), "--as", email, "--json", question)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


TRAVEL_CARD = "# Travel card\n\nThe travel card PIN is 4321; finance hands out the cards.\n"
TRAVEL_RULES = 'default: [everyone]\nfiles:\n  "travel-card.md": [finance]\n'


def test_a_misspelt_access_pattern_is_an_error_and_never_opens_the_document(tmp_path, cobalt):
    write(
        cobalt,
        {
            "knowledge/travel/_access.yml": TRAVEL_RULES,
            "knowledge/travel/travel-card.md": TRAVEL_CARD,
        },
    )
    assert trellis(tmp_path, "ingest", "--workspace", str(cobalt)).returncode == 0

    edit(cobalt, "knowledge/travel/_access.yml", "travel-card.md", "travel-crad.md")
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 1, done.stdout
    problem = found[("error", "knowledge/travel/_access.yml", 3)]
    assert problem.startswith(
        "files: 'travel-crad.md' matches no file in knowledge/travel/; "
        "did you mean 'travel-card.md'?"
    ), problem

    ingested = trellis(tmp_path, "ingest", "--workspace", str(cobalt))
    assert ingested.returncode == 1
    assert "knowledge/travel/_access.yml:3" in " ".join(ingested.stderr.split())
    # Not everyone's, as the folder's default says: the document the pattern most likely
    # meant is withheld from everyone, even those its last indexed access admitted, until
    # the pattern is fixed.
    question = "What is the travel card PIN?"
    assert "4321" not in ask(tmp_path, cobalt, "sam@example.com", question)["answer"]
    answer = ask(tmp_path, cobalt, "jo@example.com", question)
    assert "4321" not in answer["answer"] and not answer["citations"]

    edit(cobalt, "knowledge/travel/_access.yml", "travel-crad.md", "travel-card.md")
    assert trellis(tmp_path, "ingest", "--workspace", str(cobalt)).returncode == 0
    answer = ask(tmp_path, cobalt, "jo@example.com", question)
    assert [c["doc_id"] for c in answer["citations"]] == ["travel/travel-card"]


def test_a_pattern_for_documents_still_to_come_passes_when_it_says_so(tmp_path, cobalt):
    rules = 'default: [everyone]\nfiles:\n  "cards-*.md": [finance]\n'
    write(cobalt, {"knowledge/travel/_access.yml": rules, "knowledge/travel/booking.md": "# B\n"})
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 1
    assert "allow_unmatched" in found[("error", "knowledge/travel/_access.yml", 3)]

    write(cobalt, {"knowledge/travel/_access.yml": rules + 'allow_unmatched: ["cards-*.md"]\n'})
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 0, done.stdout
    assert found == {}


MISTAKES = {
    "sandbox.yml": (
        "channels:\n"
        "  - {id: C0GENERAL1, name: general, members: [everyone, ghost@x.com]}\n"
        "  - {id: C0APPROVE1, name: approvals, members: [group:managers, group:nogroup]}\n"
        "  - {id: C0GENERAL1, name: lounge, members: [everyone]}\n"
    ),
    "knowledge/parking.md": (
        "---\ntitle: Parking\nowner: facilities-team\naccess: [everyone]\n---\n"
        "# Parking\n\nPark in lot B.\n"
    ),
    "evals/golden.yml": (
        "cases:\n"
        "  - id: office\n"
        "    question: When is the office open?\n"
        "    asker: nobody@cobalt.test\n"
        "    expect_status: answered\n"
        "    expect_sources: [security/nonexistent-doc]\n"
        "  - id: budget\n"
        "    question: What is the budget for 2026?\n"
        "    asker: sam@example.com\n"
        "    channel: '#random'\n"
        "    expect_status: answered\n"
        "    expect_sources: [finance/budget-2026]\n"
    ),
}


def test_check_reports_what_would_go_wrong_at_run_time_in_one_round(tmp_path, cobalt):
    write(cobalt, MISTAKES)
    edit(cobalt, "rules.yml", "channel: C0APPROVE1 ", "channel: C0DOESNOTEXIST ")
    edit(cobalt, "rules.yml", 'when: "input.amount <= 100.0"', 'when: "input.reason"')
    edit(cobalt, "trellis.yml", "name: Example Co", 'name: Example Co\nowners_channel: "#nope"')

    done, found = check(tmp_path, cobalt)
    assert done.returncode == 1
    said = {where: " ".join(problem.split()) for where, problem in found.items()}
    assert set(said) == {
        ("error", "rules.yml", 12),  # a condition that is not true or false
        ("error", "sandbox.yml", 2),  # a member nobody knows
        ("error", "sandbox.yml", 3),  # a group nobody is in
        ("error", "sandbox.yml", 4),  # a channel id used twice
        ("error", "evals/golden.yml", 4),  # an asker outside the directory
        ("error", "evals/golden.yml", 6),  # a source no document is
        ("error", "evals/golden.yml", 10),  # a channel the sandbox does not have
        ("error", "evals/golden.yml", 12),  # a source the asker may not see
        ("warning", "knowledge/parking.md", 3),  # an owner nobody knows
        ("warning", "trellis.yml", 3),  # a channel the sandbox does not have
        ("warning", "rules.yml", 15),  # the same, in rules.yml
    }, done.stdout
    assert (
        'is not true or false: it gives text; compare it with something, as in input.reason != ""'
        in said[("error", "rules.yml", 12)]
    )
    assert (
        "ghost@x.com is neither in directory.yml nor in users" in said[("error", "sandbox.yml", 2)]
    )
    assert "group:nogroup names no group of directory.yml" in said[("error", "sandbox.yml", 3)]
    assert (
        "C0GENERAL1 is already the id of channels.0 (line 2)" in said[("error", "sandbox.yml", 4)]
    )
    assert "nobody@cobalt.test is not in directory.yml" in said[("error", "evals/golden.yml", 4)]
    assert (
        "no document has the id 'security/nonexistent-doc'"
        in said[("error", "evals/golden.yml", 6)]
    )
    assert "no channel #random in sandbox.yml" in said[("error", "evals/golden.yml", 10)]
    assert (
        "sam@example.com may not see 'finance/budget-2026'"
        in said[("error", "evals/golden.yml", 12)]
    )
    assert (
        "owner: 'facilities-team' is neither a group in directory.yml"
        in said[("warning", "knowledge/parking.md", 3)]
    )
    assert "no channel #nope in sandbox.yml" in said[("warning", "trellis.yml", 3)]
    assert "no channel C0DOESNOTEXIST in sandbox.yml" in said[("warning", "rules.yml", 15)]


def test_a_person_the_schema_refuses_hides_no_other_mistake(tmp_path, cobalt):
    write(cobalt, MISTAKES)
    edit(cobalt, "directory.yml", "    title: Accountant", "    title: Accountant\n    colour: red")
    with (cobalt / "directory.yml").open("a") as directory:
        directory.write("\n  - email: sam@example.com\n    name: Sam Again\n")

    done, found = check(tmp_path, cobalt)
    assert done.returncode == 1
    assert set(found) == {
        ("error", "directory.yml", 13),  # an unknown key
        ("error", "directory.yml", 23),  # sam listed twice
        ("warning", "directory.yml", None),  # people and groups are checked once it loads
        # What does not depend on who is in the directory is checked all the same.
        ("error", "sandbox.yml", 4),
        ("error", "evals/golden.yml", 6),
        ("error", "evals/golden.yml", 10),
    }, done.stdout
    assert (
        "sam@example.com is listed twice (first on line 17)"
        in found[("error", "directory.yml", 23)]
    )


def test_a_sandbox_member_nobody_knows_keeps_the_workspace_from_loading(tmp_path, cobalt):
    edit(cobalt, "sandbox.yml", "members: [everyone]", "members: [everyone, ghost@x.com]")
    done = trellis(tmp_path, "ask", "--workspace", str(cobalt), "--as", "sam@example.com", "Hi?")
    assert done.returncode == 2
    assert "sandbox.yml:5: channels.0.members.1: ghost@x.com" in " ".join(done.stderr.split())


def test_without_sandbox_channels_a_channel_is_left_to_slack_with_a_warning(tmp_path, cobalt):
    (cobalt / "sandbox.yml").unlink()
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 0, done.stdout
    assert set(found) == {("warning", "rules.yml", 15)}  # #general is the sandbox's own
    assert "cannot be checked without the workspace's channels in sandbox.yml" in " ".join(
        found[("warning", "rules.yml", 15)].split()
    )


def test_ingest_takes_its_path_inside_knowledge_and_refuses_one_that_is_not_there(tmp_path, cobalt):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def ingest(path: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "ingest", "--workspace", str(cobalt), path],
            env=env_for(tmp_path),
            cwd=elsewhere,  # not where the workspace is
            capture_output=True,
            text=True,
            timeout=120,
        )

    for path, counts in [
        ("handbook", {"added": 1}),  # relative to knowledge/
        ("handbook/office-hours.md", {"unchanged": 1}),
        ("knowledge/handbook", {"unchanged": 1}),  # relative to the workspace
        (str(cobalt / "knowledge" / "finance"), {"added": 2}),  # absolute
    ]:
        done = ingest(path)
        assert done.returncode == 0, (path, done.stderr)
        assert table(done.stdout) == {**ZERO, **counts}, path

    missing = ingest("handbok")
    assert missing.returncode == 2
    assert "knowledge/handbok: does not exist" in " ".join(missing.stderr.split())
    outside = ingest("../trellis.db")
    assert outside.returncode == 2
    assert "is not inside knowledge/" in " ".join(outside.stderr.split())


def test_a_blank_question_is_a_usage_error_and_nothing_is_audited(tmp_path, cobalt):
    ask(tmp_path, cobalt, "sam@example.com", "When is the office open?")
    before = audit_records(tmp_path)
    for blank in ("", "   "):
        done = trellis(
            tmp_path, "ask", "--workspace", str(cobalt), "--as", "sam@example.com", blank
        )
        assert done.returncode == 2
        assert "the question is empty" in done.stderr
    assert audit_records(tmp_path) == before > 0


def audit_records(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "trellis.db") as database:
        return database.execute("SELECT count(*) FROM audit_events").fetchone()[0]


ZERO = dict.fromkeys(("added", "updated", "unchanged", "removed", "visible to nobody", "errors"), 0)


def table(output: str) -> dict[str, int]:
    """The document counts `trellis ingest` prints, by column."""
    row = next(line for line in output.splitlines() if line.startswith("│"))
    return dict(zip(ZERO, (int(cell) for cell in row.strip("│").split("│")), strict=True))


SECTIONS_RULES = """\
workflows:
  expense_request:
    title: Expense request
    started_by: [everyone]
    inputs:
      amount: {type: number, min: 0}
    approval:
      - when: "input.amont <= 50.0"
        approvers: []
      - when: "input.amount <== 500.0"
        approvers: [finance]
      - when: "input.amount <= '900'"
        approvers: [finance]
      - approvers: [managers]
        require: most
  refund:
    title: Refund
    started_by: [everyone]
    approval:
      - approvers: [fnance]
    channel: C0NOWHERE
"""


def test_a_mistake_in_one_section_hides_none_in_the_others(tmp_path, cobalt):
    """Each section of trellis.yml, each workflow, each approval tier and each condition
    is checked on its own, and the prompts' placeholders too: one run of check lists them
    all, each at its line."""
    write(
        cobalt,
        {"rules.yml": SECTIONS_RULES, "prompts/answer.md": "Answer for {compnay}'s staff.\n"},
    )
    edit(cobalt, "trellis.yml", "min_confidence: 0.5", "min_confidence: 1.5")
    edit(
        cobalt,
        "trellis.yml",
        "name: Example Co",
        'name: Example Co\nowners_channel: "#trellis-owner"\nflags: {flaggers: [managerz]}',
    )

    done, found = check(tmp_path, cobalt)
    assert done.returncode == 1
    said = {where: " ".join(problem.split()) for where, problem in found.items()}
    assert set(said) == {
        ("error", "trellis.yml", 4),  # a flagger nobody is
        ("error", "trellis.yml", 16),  # a confidence above 1
        ("warning", "trellis.yml", 3),  # a channel the sandbox does not have
        ("error", "rules.yml", 8),  # a field the workflow does not have
        ("error", "rules.yml", 10),  # a syntax error
        ("error", "rules.yml", 12),  # text compared with a number
        ("error", "rules.yml", 15),  # require: most
        ("error", "rules.yml", 20),  # a group nobody is in, in the other workflow
        ("warning", "rules.yml", 21),  # and a channel the sandbox does not have
        ("error", "prompts/answer.md", 1),  # a placeholder nothing fills
    }, done.stdout
    assert "'managerz' is not a group in directory.yml" in said[("error", "trellis.yml", 4)]
    assert "answers.min_confidence" in said[("error", "trellis.yml", 16)]
    assert "no channel #trellis-owner in sandbox.yml" in said[("warning", "trellis.yml", 3)]
    assert "unknown field 'amont'" in said[("error", "rules.yml", 8)]
    assert "approval.1.when: invalid CEL expression" in said[("error", "rules.yml", 10)]
    assert "approval.2.when: compares" in said[("error", "rules.yml", 12)]
    assert "approval.3.require" in said[("error", "rules.yml", 15)]
    assert "'fnance' is not a group" in said[("error", "rules.yml", 20)]
    assert "no channel C0NOWHERE in sandbox.yml" in said[("warning", "rules.yml", 21)]
    assert "{compnay} is not {company}" in said[("error", "prompts/answer.md", 1)]


def test_ingest_counts_a_document_only_an_unknown_group_may_read_as_visible_to_nobody(
    tmp_path, cobalt
):
    (cobalt / "knowledge" / "board-minutes.md").write_text(
        "---\naccess: [board]\n---\n# Board minutes\n\nThe board met in March.\n"
    )
    done = trellis(tmp_path, "ingest", "--workspace", str(cobalt))
    assert done.returncode == 0, done.stderr
    assert table(done.stdout)["visible to nobody"] == 1  # nobody in the directory is in "board"
    about = trellis(tmp_path, "about", "--workspace", str(cobalt), "--json")
    assert about.returncode == 0, about.stderr
    assert json.loads(about.stdout)["facts"]["documents"]["visible_to_nobody"] == 1


def test_check_names_a_folder_owner_nobody_in_the_directory_is(tmp_path, cobalt):
    access = cobalt / "knowledge" / "finance" / "_access.yml"
    access.write_text(access.read_text().replace("owner: finance", "owner: finanse"))
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 0, done.stdout
    line = access.read_text().splitlines().index("owner: finanse") + 1
    problem = " ".join(found[("warning", "knowledge/finance/_access.yml", line)].split())
    assert "owner: 'finanse' is neither a group" in problem and "did you mean 'finance'" in problem
