"""rules.yml in words: approval tiers from their CEL conditions, as `/trellis about` says them."""

from __future__ import annotations

import pytest

from app.config.directory import Directory
from app.config.workspace import default_workspace_path, load_workspace
from app.domain import Person
from app.rules.schema import Workflow
from app.trust.about_facts import downstream_systems
from app.trust.about_rules import approvers_words, condition_words, tier_conditions


def _workflow(*tiers: dict, inputs: dict | None = None) -> Workflow:
    return Workflow.model_validate(
        {
            "title": "Discount request",
            "started_by": ["sales"],
            "inputs": inputs
            or {"percent": {"type": "number", "label": "Discount %"}, "region": {"type": "string"}},
            "approval": list(tiers),
        }
    )


def test_the_demo_discount_tiers_read_as_ranges_of_the_discount():
    workflow = load_workspace(default_workspace_path()).rulebook.workflows["discount_request"]
    assert tier_conditions(workflow) == [
        "Discount up to 10 %",
        "Discount more than 10 % and up to 25 %",
        "Discount more than 25 %",
    ]


def test_a_new_tier_splits_the_range_it_falls_in():
    workflow = _workflow(
        {"when": "input.percent <= 10.0", "approvers": []},
        {"when": "input.percent <= 25.0", "approvers": ["sales-managers"]},
        {"when": "input.percent < 40.0", "approvers": ["vp-sales"]},
        {"approvers": ["vp-sales", "finance"], "require": "all"},
    )
    assert tier_conditions(workflow)[2:] == [
        "Discount more than 25 % and less than 40 %",
        "Discount 40 % or more",
    ]


def test_a_tier_that_can_never_apply_says_so():
    workflow = _workflow(
        {"when": "input.percent <= 25.0", "approvers": ["sales-managers"]},
        {"when": "input.percent <= 10.0", "approvers": []},
        {"approvers": ["vp-sales"]},
    )
    assert tier_conditions(workflow)[1].startswith("never")


def test_conditions_on_other_facts_are_said_in_turn():
    workflow = _workflow(
        {"when": '"review" in draft.tags || channel.is_shared', "approvers": ["support-leads"]},
        {"when": 'input.region == "EMEA" && !channel.is_dm', "approvers": ["sales-managers"]},
        {"approvers": []},
    )
    assert tier_conditions(workflow) == [
        "when a cited document is tagged “review”, or the channel is shared with another "
        "organisation",
        "otherwise, when Region is “EMEA” and it is not asked in a direct message",
        "otherwise",
    ]


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ('"sales" in requester.groups', "the requester is in sales"),
        ("draft.confidence < 0.6", "the draft's confidence is less than 0.6"),
        ('requester.region in ["EMEA", "APAC"]', "the requester's region is one of “EMEA”, “APAC”"),
        ("10.0 < input.percent", "percent is more than 10"),
        ("has(input.reason)", "reason is filled in"),
    ],
)
def test_common_conditions_in_words(source, words):
    assert condition_words(source) == words


def test_a_condition_it_cannot_say_is_quoted_as_written():
    assert condition_words("size(draft.citations) == 0") == "`size(draft.citations) == 0` holds"
    assert condition_words("a || b && c") == "`a || b && c` holds"
    assert condition_words('requester.name == "a\\"b"') == '`requester.name == "a\\"b"` holds'
    assert condition_words("input.percent <=") == "`input.percent <=` holds"


def test_approvers_are_named_with_the_people_behind_them():
    directory = Directory(
        [
            Person("sofia@x.example", "Sofia Marino", groups=frozenset({"sales-managers"})),
            Person("daniel@x.example", "Daniel Okafor", groups=frozenset({"vp-sales"})),
            Person("elena@x.example", "Elena Petrova", groups=frozenset({"finance"})),
        ]
    )
    assert approvers_words([], "any", directory) == "approved automatically"
    assert approvers_words(["sales-managers"], "any", directory) == (
        "one of sales-managers (Sofia Marino)"
    )
    assert approvers_words(["vp-sales", "finance"], "all", directory) == (
        "one distinct person from each of vp-sales (Daniel Okafor) and finance (Elena Petrova)"
    )
    assert approvers_words(["manager"], "any", directory) == "the requester's manager"
    assert approvers_words(["legal"], "any", directory) == "one of legal (nobody in the directory)"


def test_downstream_systems_name_where_they_write_and_no_secret():
    workspace = load_workspace(default_workspace_path())
    found = downstream_systems(
        workspace.rulebook.workflows["discount_request"], workspace.rules.connectors
    )
    assert found == [
        "sql: writes to a database (table discounts)",
        "webhook: calls a webhook (at 127.0.0.1:8089)",
    ]
    assert not any("CRM_DATABASE_URL" in s or "SECRET" in s for s in found)
