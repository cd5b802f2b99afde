"""Pure logic around workflows: command parsing, action settings, rules.yml checks."""

from __future__ import annotations

import pytest

from app.approvals.drafting import rule_for, summary
from app.delivery.actions import check_rules, describe, fill, plan
from app.errors import RuleViolation, WorkspaceError
from app.rules.schema import RulesConfig
from handlers.workflows import parse_fields
from tests.approval_helpers import LIAM, demo, person


def test_command_fields_accept_quotes_including_smart_quotes():
    assert parse_fields('customer="Alpine Co." percent=15 reason=“Volume deal”') == {
        "customer": "Alpine Co.",
        "percent": "15",
        "reason": "Volume deal",
    }
    assert parse_fields("reason='it''s fine'") == {"reason": "its fine"}
    assert parse_fields("") == {}


@pytest.mark.parametrize(
    "text, problem",
    [
        ("customer Alpine", "is not field=value"),
        ('customer="Alpine', "put values with spaces in quotes"),
        ("=15", "is not field=value"),
    ],
)
def test_command_fields_that_cannot_be_read_say_how_to_write_them(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_fields(text)


def test_placeholders_are_looked_up_and_a_lone_one_keeps_its_type():
    context = {"input": {"customer": "Alpine Co.", "percent": 15.0}, "draft": {"text": "Hi"}}
    assert fill(
        {
            "values": {"customer": "{{ input.customer }}", "percent": "{{input.percent}}"},
            "subject": "Discount {{ input.percent }}% for {{ input.customer }}",
            "to": ["{{ input.missing }}"],
            "n": 3,
        },
        context,
    ) == {
        "values": {"customer": "Alpine Co.", "percent": 15.0},
        "subject": "Discount 15% for Alpine Co.",
        "to": [""],
        "n": 3,
    }


def test_the_demo_actions_are_planned_with_what_they_will_do():
    workflow = demo().rules.workflows["customer_reply"]
    inputs = {
        "customer": "Alpine Co.",
        "contact": "purchasing@alpine-co.example",
        "ticket": "SUP-4121",
        "question": "Where are my pole bags?",
    }
    email, ticket = plan(
        workflow,
        inputs=inputs,
        text="Hello Jordan",
        requester_email="sam@x.example",
        requester_name="Sam",
    )
    assert email.params == {
        "to": "purchasing@alpine-co.example",
        "subject": "Re: your request SUP-4121",
        "body": "Hello Jordan",
    }
    assert email.description == "send email to purchasing@alpine-co.example"
    assert ticket.params == {"comment_on": "SUP-4121", "description": "Hello Jordan"}
    assert ticket.settings["description"] == "{{ draft.text }}"


def test_a_value_the_connector_cannot_use_is_refused_before_anyone_approves():
    workflow = demo().rules.workflows["customer_reply"]
    inputs = {
        "customer": "Alpine Co.",
        "contact": "not-an-address",
        "ticket": "SUP-1",
        "question": "?",
    }
    with pytest.raises(RuleViolation, match="cannot send email to not-an-address"):
        plan(
            workflow, inputs=inputs, text="Hi", requester_email="s@x.example", requester_name="Sam"
        )


def test_describe_names_what_each_connector_does():
    assert describe("sql", {"table": "discounts"}) == "add a row to discounts"
    assert describe("webhook", {"url": "https://crm.example/hooks"}) == "notify crm.example"
    assert describe("ticketing", {}) == "open a ticket"


def test_the_demo_connectors_are_valid_and_missing_secrets_are_warnings():
    warnings = check_rules(demo().rules, {})
    assert any("TRELLIS_WEBHOOK_SECRET is not set" in w for w in warnings)
    assert (
        check_rules(
            demo().rules,
            {
                "TRELLIS_WEBHOOK_SECRET": "s",
                "CRM_DATABASE_URL": "u",
                "TRELLIS_TICKETING_TOKEN": "t",
            },
        )
        == []
    )


@pytest.mark.parametrize(
    "rules, problem",
    [
        ({"connectors": {"fax": {}}}, "connectors.fax: there is no such connector"),
        ({"connectors": {"email": {"host": "x", "sender": "nope"}}}, "connectors.email"),
        (
            {
                "workflows": {
                    "w": {
                        "title": "W",
                        "started_by": ["everyone"],
                        "actions": [
                            {
                                "connector": "sql",
                                "with": {"table": "t", "values": {"a": "{{ input.nothing }}"}},
                            }
                        ],
                    }
                }
            },
            "names nothing a request has",
        ),
    ],
)
def test_a_broken_connectors_section_stops_the_start(rules, problem):
    with pytest.raises(WorkspaceError, match=problem):
        check_rules(RulesConfig.model_validate(rules), {})


def test_the_rule_and_the_request_are_described_for_the_card():
    workspace = demo()
    workflow = workspace.rules.workflows["discount_request"]
    needs = workspace.rulebook.approval_for(
        "discount_request", requester=person(LIAM), input={"percent": 30}
    )
    assert rule_for(workflow, needs) == "every other request: vp-sales and finance must approve"
    assert summary(workflow, {"customer": "Alpine Co.", "percent": 30.0}) == (
        "Discount request\nCustomer: Alpine Co.\nDiscount %: 30"
    )


def test_a_field_given_twice_is_refused_not_silently_overwritten():
    with pytest.raises(ValueError, match="percent is given twice"):
        parse_fields("customer=Acme percent=5 percent=99")
