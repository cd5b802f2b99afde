"""What `trellis check` says of a mistake is enough to fix it: a flag reaction Slack does
not have, an escalation that reaches nobody new (at which tier), a condition's syntax
error (where, and what was expected) and text compared with a number. Every test runs the
real command on a starter workspace (`trellis init`) with the mistake written into it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_check_and_init import trellis
from tests.cli.test_workspace_mistakes import check, edit, write


@pytest.fixture
def cobalt(tmp_path) -> Path:
    done = trellis(tmp_path, "init", str(tmp_path / "cobalt"))
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / "cobalt"


ESCALATING = """\
workflows:
  expense_request:
    title: Expense request
    started_by: [everyone]
    inputs:
      amount: {type: number, min: 0}
    approval:
      - when: "input.amount <= 100.0"
        approvers: []
      - when: "input.amount <= 500.0"
        approvers: [finance]
      - approvers: [managers, finance]
    channel: C0APPROVE1
    escalate_after: 1d
    escalate_to: [managers]
"""


def test_a_flag_reaction_that_is_not_a_slack_emoji_is_a_warning(tmp_path, cobalt):
    edit(
        cobalt,
        "trellis.yml",
        "name: Example Co",
        "name: Example Co\nflags: {reactions: [x, nope_emoji]}",
    )
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 0, done.stdout
    said = " ".join(found[("warning", "trellis.yml", 3)].split())
    assert "flags.reactions.1: 'nope_emoji' is not a standard Slack emoji" in said
    assert "'x'" not in said


def test_an_escalation_to_approvers_names_the_tier_it_holds_for(tmp_path, cobalt):
    write(cobalt, {"rules.yml": ESCALATING})
    done, found = check(tmp_path, cobalt)
    said = " ".join(found[("warning", "rules.yml", 15)].split())
    assert "escalate_to: at approval tier 3 (approval.2: managers, finance), requests from" in said
    assert "tier 2" not in said  # finance escalate to a manager who is new to them


def test_a_syntax_error_quotes_the_expression_with_a_caret_and_says_what_was_expected(
    tmp_path, cobalt
):
    edit(cobalt, "rules.yml", 'when: "input.amount <= 100.0"', 'when: "input.amount <== 100.0"')
    done, found = check(tmp_path, cobalt)
    assert done.returncode == 1
    said = found[("error", "rules.yml", 12)]
    assert said.startswith(
        "workflows.expense_request.approval.0.when: invalid CEL expression: syntax error at "
        "column 16: expected a value"
    )
    lines = done.stdout.splitlines()
    quoted = lines.index("    input.amount <== 100.0")
    assert lines[quoted + 1] == "    " + " " * 15 + "^"


def test_a_number_in_quotes_is_said_to_be_text(tmp_path, cobalt):
    edit(cobalt, "rules.yml", 'when: "input.amount <= 100.0"', "when: \"input.amount <= '100'\"")
    done, found = check(tmp_path, cobalt)
    said = " ".join(found[("error", "rules.yml", 12)].split())
    assert "'100' is text, as it is in quotes: write 100.0 without quotes" in said
    assert "write 10.0, not 10" not in said


def test_a_folder_of_documents_no_rule_admits_is_one_warning_naming_the_folder(tmp_path, cobalt):
    page = "---\ntitle: {0}\n---\n\n# {0}\n\nWe work in six-week cycles.\n"
    write(cobalt, {f"knowledge/policies/{n}.md": page.format(n) for n in "abcde"})
    write(cobalt, {"knowledge/loose/only.md": page.format("Only")})
    done, found = check(tmp_path, cobalt)
    folder = " ".join(found[("warning", "knowledge/policies/", None)].split())
    assert "no access rule admits anyone to its 5 documents (a.md, b.md, c.md and 2 more)" in folder
    assert "add an _access.yml to the folder" in folder
    assert not [
        key for key in found if key[1].startswith("knowledge/policies/") and key[1][-1] != "/"
    ]
    alone = " ".join(found[("warning", "knowledge/loose/only.md", None)].split())
    assert alone.startswith("no access rule admits anyone, so nobody will see it")
