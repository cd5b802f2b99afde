"""The shape of rules.yml: workflows, their inputs, approval tiers, answer review, connectors.

Each value is checked as it is read: principals are group names or emails, durations
look like `2h`, and conditions are compiled CEL (`app.rules.conditions`). Checks that
span several keys live in `app.rules.loading`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

from app.config.people import EMAIL_RE, GROUP_RE, invalid
from app.config.yamlfile import Loc
from app.domain import EVERYONE, PUBLIC
from app.rules.conditions import Condition

MANAGER = "manager"
"""In `approvers` and `escalate_to`: the requester's manager from the directory."""

DURATION_RE = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# --- Values ---------------------------------------------------------------------------


def _condition(value: Any) -> Condition:
    if isinstance(value, Condition):
        return value
    if not isinstance(value, str) or not value.strip():
        raise invalid("expected a CEL expression in quotes")
    try:
        return Condition.compile(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def parse_duration(value: Any) -> timedelta:
    """`30m`, `2h`, `2d` (also `s` and `w`) -> timedelta."""
    if isinstance(value, timedelta):
        return value
    match = DURATION_RE.match(str(value).strip()) if isinstance(value, str) else None
    if not match or int(match.group(1)) == 0:
        raise invalid("expected a duration like 30m, 2h or 2d")
    return timedelta(**{DURATION_UNITS[match.group(2)]: int(match.group(1))})


def parse_principal(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("expected a group name or an email")
    text = value.strip()
    if "@" in text:
        if not EMAIL_RE.match(text.lower()):
            raise invalid(f"{text!r} is not a valid email")
        return text.lower()
    if text in (EVERYONE, PUBLIC) or GROUP_RE.match(text):
        return text
    raise invalid(
        f"{text!r} is not a group name (lower-case letters, digits, '-', '_') or an email"
    )


def _approver(value: Any) -> str:
    principal = parse_principal(value)
    if principal == PUBLIC:
        raise invalid("'public' cannot approve: name people or groups")
    return principal


def _escalate_to(value: Any) -> str | list[str]:
    if value == MANAGER:
        return MANAGER
    if isinstance(value, str):
        return [parse_principal(value)]
    if isinstance(value, list) and value:
        return [parse_principal(v) for v in value]
    raise invalid("expected `manager` or a list of groups and emails")


CelCondition = Annotated[
    Condition, PlainValidator(_condition), PlainSerializer(lambda c: c.source, return_type=str)
]
Duration = Annotated[timedelta, PlainValidator(parse_duration)]
Principal = Annotated[str, PlainValidator(parse_principal)]
Approver = Annotated[str, PlainValidator(_approver)]
EscalateTo = Annotated[str | list[str], PlainValidator(_escalate_to)]


# --- Sections -------------------------------------------------------------------------

InputType = Literal["string", "text", "number", "integer", "boolean", "email", "choice"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputField(Strict):
    type: InputType = "string"
    label: str | None = None
    required: bool = True
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None
    default: Any = None

    def title(self, name: str) -> str:
        return self.label or name.replace("_", " ").capitalize()


class DraftSpec(Strict):
    prompt: str


class ApprovalTier(Strict):
    when: CelCondition | None = None
    approvers: list[Approver]
    require: Literal["any", "all"] = "any"


class ActionSpec(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    connector: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


class Workflow(Strict):
    title: str
    description: str | None = None
    started_by: list[Principal]
    mode: Literal["draft_only", "act_after_approval", "act"] = "draft_only"
    inputs: dict[str, InputField] = {}
    draft: DraftSpec | None = None
    approval: list[ApprovalTier] = []
    channel: str | None = None
    progress: Literal["private", "channel"] = "private"
    """Where a request started by command hears back (its status, the decision, the
    result): `private`, the requester's direct messages with Trellis; `channel`, a thread
    in the conversation the command was typed in, seen by everyone there."""
    remind_after: Duration | None = None
    escalate_after: Duration | None = None
    escalate_to: EscalateTo | None = None
    expire_after: Duration | None = None
    actions: list[ActionSpec] = []


class AnswerReview(Strict):
    review_when: CelCondition | None = None
    reviewers: list[Approver] = []
    channel: str | None = None


class RulesConfig(Strict):
    workflows: dict[str, Workflow] = {}
    answers: AnswerReview = AnswerReview()
    connectors: dict[str, dict[str, Any]] = {}

    def principal_refs(self) -> Iterator[tuple[Loc, str]]:
        """Every principal named in rules.yml with where it is (`manager` left out)."""
        for slug, wf in self.workflows.items():
            for i, p in enumerate(wf.started_by):
                yield ("workflows", slug, "started_by", i), p
            for t, tier in enumerate(wf.approval):
                for i, p in enumerate(tier.approvers):
                    if p != MANAGER:
                        yield ("workflows", slug, "approval", t, "approvers", i), p
            if isinstance(wf.escalate_to, list):
                for i, p in enumerate(wf.escalate_to):
                    yield ("workflows", slug, "escalate_to", i), p
        for i, p in enumerate(self.answers.reviewers):
            yield ("answers", "reviewers", i), p

    def prompt_refs(self) -> Iterator[tuple[Loc, str]]:
        for slug, wf in self.workflows.items():
            if wf.draft is not None:
                yield ("workflows", slug, "draft", "prompt"), wf.draft.prompt
