"""Loading rules.yml: what it parses into, and every mistake reported at its line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.rules.loading import load_rules
from tests.rules.helpers import RULES_YML, load_error, write


def test_durations_and_actions_are_parsed(book):
    wf = book.workflow("discount_request")
    assert wf.remind_after == timedelta(hours=2)
    assert wf.expire_after == timedelta(days=2)
    assert wf.escalate_to == "manager"
    assert wf.actions[0].connector == "webhook"
    assert wf.actions[0].with_ == {"url": "https://crm.acme.example/hooks/discounts"}
    assert book.workflow("open_door").mode == "draft_only"


def test_a_missing_rules_file_section_means_no_rules(tmp_path):
    rules = load_rules(write(tmp_path, "# nothing yet\n"))
    assert rules.workflows == {} and rules.answers.review_when is None


BAD_TIER = """\
workflows:
  discount_request:
    title: Discount request
    started_by: [sales]
    inputs:
      percent: {type: number}
    approval:
      - when: {when}
        approvers: []
      - approvers: [finance]
"""


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        (
            '"input.percent <="',
            "workflows.discount_request.approval.0.when: invalid CEL expression: syntax error at "
            "the end of the expression: expected a value: a number, a 'quoted string', a name "
            "such as input.amount, or (\n    input.percent <=\n" + " " * 20 + "^",
        ),
        (
            '"inptu.percent <= 10.0"',
            "workflows.discount_request.approval.0.when: unknown name 'inptu': conditions can use "
            "requester, channel, input, draft",
        ),
        (
            '"input.percnt <= 10.0"',
            "workflows.discount_request.approval.0.when: unknown field 'percnt'",
        ),
        (
            "\"input.percent <= '10'\"",
            "workflows.discount_request.approval.0.when: compares or combines values of different "
            "types ('10' is text, as it is in quotes: write 10.0 without quotes to compare with "
            "a number)",
        ),
        (
            '"10 >= input.percent"',
            "workflows.discount_request.approval.0.when: compares or combines values of different "
            "types (write 10.0, not 10, to compare with a number)",
        ),
        ("12", "workflows.discount_request.approval.0.when: expected a CEL expression in quotes"),
        (
            '"input.percent"',
            "workflows.discount_request.approval.0.when: is not true or false: it gives a "
            "number; compare it with something, as in input.percent > 0.0",
        ),
        (
            '"requester.groups"',
            "workflows.discount_request.approval.0.when: is not true or false: it gives a "
            "list; compare it with something, as in size(requester.groups) > 0",
        ),
    ],
)
def test_condition_mistakes_are_reported_at_their_line(tmp_path, when, problem):
    err = load_error(tmp_path, BAD_TIER.replace("{when}", when))
    assert (err.file, err.line, err.problem) == ("rules.yml", 8, problem)


@pytest.mark.parametrize(
    ("old", "new", "line", "problem"),
    [
        (
            "    remind_after: 2h\n",
            "    remind_after: soon\n",
            23,
            "workflows.discount_request.remind_after: expected a duration like 30m, 2h or 2d",
        ),
        (
            "    mode: act_after_approval\n",
            "    mode: whenever\n",
            5,
            "workflows.discount_request.mode: Input should be 'draft_only', 'act_after_approval' "
            "or 'act'",
        ),
        (
            "    channel: C0DEALS01\n",
            "    channnel: C0DEALS01\n",
            22,
            "workflows.discount_request.channnel: Extra inputs are not permitted",
        ),
        (
            "      - approvers: [vp-sales, finance]\n",
            "      - approvers: [vp-sales, public]\n",
            20,
            "workflows.discount_request.approval.2.approvers.1: 'public' cannot approve: name "
            "people or groups",
        ),
        (
            "        require: all\n",
            "        require: both\n",
            21,
            "workflows.discount_request.approval.2.require: Input should be 'any' or 'all'",
        ),
        (
            "    started_by: [sales]\n",
            "    started_by: [Sales Team]\n",
            4,
            "workflows.discount_request.started_by.0: 'Sales Team' is not a group name "
            "(lower-case letters, digits, '-', '_') or an email",
        ),
        (
            "      - approvers: [vp-sales, finance]\n        require: all\n",
            '      - when: "input.percent <= 50.0"\n        approvers: [vp-sales]\n',
            20,
            "workflows.discount_request.approval: the last tier must have no `when`, so every "
            "request is covered; add `- approvers: []` to approve the rest automatically",
        ),
        (
            "    expire_after: 2d\n",
            "    expire_after: 4h\n",
            24,
            "workflows.discount_request.escalate_after: must be shorter than expire_after, or it "
            "never happens",
        ),
        (
            "      region: {type: choice, choices: [EMEA, AMER, APAC], default: EMEA}\n",
            "      region: {type: choice, choices: [EMEA, AMER, APAC], default: LATAM}\n",
            11,
            "workflows.discount_request.inputs.region.default: must be one of: EMEA, AMER, APAC",
        ),
        (
            "      region: {type: choice, choices: [EMEA, AMER, APAC], default: EMEA}\n",
            "      region: {type: choice}\n",
            11,
            "workflows.discount_request.inputs.region: a choice field needs `choices`",
        ),
        (
            "      region: {type: choice, choices: [EMEA, AMER, APAC], default: EMEA}\n",
            "      region: {type: choice, choices: [EMEA, " + "A" * 151 + "], default: EMEA}\n",
            11,
            "workflows.discount_request.inputs.region.choices.1: 151 characters, but a choice "
            "in the workflow form's menu takes at most 150",
        ),
        (
            "      region: {type: choice, choices: [EMEA, AMER, APAC], default: EMEA}\n",
            "      region: {type: choice, choices: [EMEA, "
            + ", ".join(f"R{i}" for i in range(100))
            + "], default: EMEA}\n",
            11,
            "workflows.discount_request.inputs.region.choices: 101 choices, but the workflow "
            "form's menu holds at most 100",
        ),
        (
            "      seats: {type: integer, min: 1, label: Seats, required: false}\n",
            "      seats: {type: decimal, label: Seats}\n",
            10,
            "workflows.discount_request.inputs.seats.type: Input should be 'string', 'text', "
            "'number', 'integer', 'boolean', 'email' or 'choice'",
        ),
        (
            "  discount_request:\n",
            "  Discount Request:\n",
            2,
            "workflow name 'Discount Request' must be lower-case letters, digits, '-' and '_', "
            "starting with a letter (it is typed in /trellis)",
        ),
        (
            "  reviewers: [support-leads]\n",
            "",
            36,
            "answers.reviewers: name who reviews the answers that need review",
        ),
    ],
)
def test_rules_mistakes_are_reported_at_their_line(tmp_path, old, new, line, problem):
    assert old in RULES_YML
    err = load_error(tmp_path, RULES_YML.replace(old, new))
    assert (err.file, err.line, err.problem) == ("rules.yml", line, problem)


def test_a_multi_line_expression_error_names_the_line_inside_it(tmp_path):
    text = BAD_TIER.replace(
        "      - when: {when}\n",
        "      - when: |-\n          input.percent <= 10.0 &&\n          (input.percent\n",
    )
    err = load_error(tmp_path, text)
    assert err.line == 8
    assert "syntax error at line 2" in err.problem


def test_every_mistake_of_rules_yml_is_found_in_one_pass(tmp_path):
    text = (
        BAD_TIER.replace("{when}", '"input.reason"')
        .replace("percent: {type: number}", "percent: {type: number}\n      reason: {type: text}")
        .replace("workflows:\n", "workflows:\n  Bad Name:\n    title: B\n    started_by: [x]\n")
        + "  other:\n    title: Other\n    started_by: [sales]\n    colour: red\n"
        + '    approval:\n      - when: "input.x"\n        approvers: []\n'
    )
    err = load_error(tmp_path, text)
    found = [(e.line, e.problem.split(":")[0]) for e in (err, *err.also)]
    assert found == [
        (
            2,
            "workflow name 'Bad Name' must be lower-case letters, digits, '-' and '_', starting "
            "with a letter (it is typed in /trellis)",
        ),
        (12, "workflows.discount_request.approval.0.when"),  # text, not true or false
        (18, "workflows.other.colour"),  # an unknown key: the others are checked all the same
        # The rest of that workflow too: its last tier has a `when`, naming no input.
        (20, "workflows.other.approval"),
        (20, "workflows.other.approval.0.when"),
    ], found
