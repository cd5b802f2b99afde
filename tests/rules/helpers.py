"""A rules.yml with every kind of rule, the people it names, and ways to load it."""

from __future__ import annotations

import textwrap

import pytest

from app.config.directory import Directory
from app.domain import Person
from app.errors import WorkspaceError
from app.rules.loading import load_rules

RULES_YML = """\
workflows:
  discount_request:
    title: Discount request
    started_by: [sales]
    mode: act_after_approval
    inputs:
      customer: {type: string, label: Customer, max: 40}
      percent: {type: number, min: 0, max: 100, label: Discount %}
      reason: {type: text, label: Why, required: false}
      seats: {type: integer, min: 1, label: Seats, required: false}
      region: {type: choice, choices: [EMEA, AMER, APAC], default: EMEA}
      contact: {type: email, label: Contact email, required: false}
      renewal: {type: boolean, label: Renewal, required: false}
    draft: {prompt: discount_request}
    approval:
      - when: "input.percent <= 10.0"
        approvers: []
      - when: "input.percent <= 25.0"
        approvers: [sales-managers]
      - approvers: [vp-sales, finance]
        require: all
    channel: C0DEALS01
    remind_after: 2h
    escalate_after: 8h
    escalate_to: manager
    expire_after: 2d
    actions:
      - connector: webhook
        with: {url: "https://crm.acme.example/hooks/discounts"}
  open_door:
    title: Open door
    started_by: [everyone]
    approval:
      - approvers: [manager]
answers:
  review_when: "channel.is_shared || 'review' in draft.tags"
  reviewers: [support-leads]
  channel: C0REVIEW1
connectors:
  webhook: {secret_env: TRELLIS_WEBHOOK_SECRET}
"""

PEOPLE = [
    Person("ceo@acme.example", "Cleo", groups=frozenset({"leadership"})),
    Person(
        "vp@acme.example",
        "Vic",
        groups=frozenset({"sales", "vp-sales"}),
        manager="ceo@acme.example",
    ),
    Person(
        "sm1@acme.example",
        "Sam",
        groups=frozenset({"sales", "sales-managers"}),
        manager="vp@acme.example",
    ),
    Person(
        "sm2@acme.example",
        "Sue",
        groups=frozenset({"sales", "sales-managers"}),
        manager="vp@acme.example",
    ),
    Person(
        "ae@acme.example",
        "Abe",
        groups=frozenset({"sales"}),
        manager="sm1@acme.example",
        region="EMEA",
    ),
    Person("fin@acme.example", "Fay", groups=frozenset({"finance"}), manager="ceo@acme.example"),
    Person(
        "lead@acme.example", "Lee", groups=frozenset({"support-leads"}), manager="ceo@acme.example"
    ),
]


def write(tmp_path, text: str):
    path = tmp_path / "rules.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def person(directory: Directory, who: str) -> Person:
    found = directory.by_email(f"{who}@acme.example")
    assert found is not None
    return found


def load_error(tmp_path, text: str) -> WorkspaceError:
    with pytest.raises(WorkspaceError) as caught:
        load_rules(write(tmp_path, text))
    return caught.value
