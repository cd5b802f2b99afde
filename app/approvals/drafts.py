"""What a draft awaiting a decision looks like to the rest of Trellis.

`DraftView` is a frozen snapshot of one draft, its approvals and its outbox actions, read
from the database in one transaction. Handlers render it; nothing changes through it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, overload

from app.answering.citations import marks_sources
from app.approvals.notices import DESCRIPTIONS, actions_of
from app.approvals.outward import must_edit_first
from app.db.models.approvals import Draft, OutboxAction
from app.rules.requirements import ApprovalRequirement


class DraftState(StrEnum):
    DRAFTED = "drafted"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"


WAITING = frozenset({DraftState.DRAFTED, DraftState.PENDING})
APPROVED_STATES = frozenset(
    {DraftState.APPROVED, DraftState.EXECUTING, DraftState.DONE, DraftState.FAILED}
)


def text_hash(text: str) -> str:
    """The sha256 of the exact text a decision is about."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: datetime | None) -> datetime | None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives datetimes back without a zone; every stored time is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Approval:
    """One person's approval, bound to the hash of the text they approved."""

    email: str
    name: str
    slack_id: str | None
    at: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def requirement_from(data: dict[str, Any], workflow: str) -> ApprovalRequirement:
    return ApprovalRequirement(
        workflow,
        approvers=tuple(data.get("approvers", ())),
        require=data.get("require", "any"),
        eligible=tuple(frozenset(group) for group in data.get("eligible", ())),
        tier=data.get("tier"),
        channel=data.get("channel"),
        escalated=bool(data.get("escalated")),
        failed_safe=bool(data.get("failed_safe")),
        reason=data.get("reason", ""),
    )


def requirement_data(requirement: ApprovalRequirement, *, rule: str) -> dict[str, Any]:
    return {
        "approvers": list(requirement.approvers),
        "require": requirement.require,
        "eligible": [sorted(group) for group in requirement.eligible],
        "tier": requirement.tier,
        "channel": requirement.channel,
        "escalated": requirement.escalated,
        "failed_safe": requirement.failed_safe,
        "reason": requirement.reason,
        "rule": rule,
    }


def covered(groups: tuple[frozenset[str], ...], emails: set[str]) -> int:
    """How many principals distinct approvers among `emails` can stand for."""
    owner: dict[str, int] = {}

    def place(i: int, seen: set[str]) -> bool:
        for email in sorted(groups[i] & emails):
            if email in seen:
                continue
            seen.add(email)
            if email not in owner or place(owner[email], seen):
                owner[email] = i
                return True
        return False

    return sum(1 for i in range(len(groups)) if place(i, set()))


@dataclass(frozen=True)
class ActionView:
    id: str
    position: int
    connector: str
    description: str
    state: str
    attempts: int
    max_attempts: int
    idempotency_key: str
    reference: str | None = None
    summary: str | None = None
    url: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class DraftView:
    id: str
    kind: str
    workflow: str
    title: str
    mode: str
    state: DraftState
    version: int
    requester_email: str
    requester_name: str
    requester_slack_id: str | None
    channel_id: str | None
    thread_ts: str | None
    private: bool
    answer_id: str | None
    inputs: dict[str, Any]
    text: str
    original_text: str
    text_hash: str
    citations: tuple[dict[str, Any], ...]
    confidence: float
    actions: tuple[dict[str, Any], ...]
    requirement: dict[str, Any]
    approvals: tuple[Approval, ...]
    rule_version: str
    card_channel: str | None
    card_ts: str | None
    decided_by_email: str | None
    decided_by_name: str | None
    decided_at: datetime | None
    reason: str | None
    edited_by: str | None
    created_at: datetime
    expires_at: datetime | None
    escalated_to: tuple[str, ...]
    outbox: tuple[ActionView, ...] = ()

    @property
    def waiting(self) -> bool:
        return self.state in WAITING

    @property
    def short_hash(self) -> str:
        return self.text_hash[:12]

    @property
    def edited(self) -> bool:
        return self.text != self.original_text

    @property
    def edit_first(self) -> str | None:
        """Why it may not be approved before someone edits it (app/approvals/outward.py)."""
        return must_edit_first(
            text=self.text,
            original_text=self.original_text,
            citations=self.citations,
            actions=self.actions,
        )

    @property
    def sources_edited_out(self) -> bool:
        """An edit took out every source: the draft's first text marked its sources, and
        the text as edited cites none of them (app/answering/citations.py)."""
        return self.edited and not self.citations and marks_sources(self.original_text)

    @property
    def rule(self) -> str:
        return str(self.requirement.get("rule") or "")

    def needs(self) -> ApprovalRequirement:
        return requirement_from(self.requirement, self.workflow)

    def current_approvals(self) -> tuple[Approval, ...]:
        """Approvals given to the text as it is now (an edit voids the earlier ones)."""
        return tuple(a for a in self.approvals if a.hash == self.text_hash)

    def missing_principals(self) -> list[str]:
        """The listed principals nobody has approved for yet (for `require: all`)."""
        needs = self.needs()
        given = {a.email for a in self.current_approvals()}
        if needs.auto:
            return []
        if needs.require == "any":
            return [] if needs.is_satisfied(given) else list(needs.approvers)
        return [
            p for p, group in zip(needs.approvers, needs.eligible, strict=True) if not group & given
        ]


def to_view(draft: Draft, items: Sequence[OutboxAction] = ()) -> DraftView:
    descriptions = [a.get("description", a.get("connector", "")) for a in draft.actions]
    return DraftView(
        id=draft.id,
        kind=draft.kind,
        workflow=draft.workflow,
        title=draft.title,
        mode=draft.mode,
        state=DraftState(draft.state),
        version=draft.version,
        requester_email=draft.requester_email,
        requester_name=draft.requester_name,
        requester_slack_id=draft.requester_slack_id,
        channel_id=draft.channel_id,
        thread_ts=draft.thread_ts,
        private=draft.private,
        answer_id=draft.answer_id,
        inputs=dict(draft.inputs),
        text=draft.text,
        original_text=draft.original_text,
        text_hash=draft.text_hash,
        citations=tuple(draft.citations),
        confidence=draft.confidence,
        actions=tuple(draft.actions),
        requirement=dict(draft.requirement),
        approvals=tuple(Approval(**a) for a in draft.approvals),
        rule_version=draft.rule_version,
        card_channel=draft.card_channel,
        card_ts=draft.card_ts,
        decided_by_email=draft.decided_by_email,
        decided_by_name=draft.decided_by_name,
        decided_at=as_utc(draft.decided_at),
        reason=draft.reason,
        edited_by=draft.edited_by,
        created_at=as_utc(draft.created_at),
        expires_at=as_utc(draft.expires_at),
        escalated_to=tuple(draft.escalated_to),
        outbox=tuple(
            ActionView(
                id=i.id,
                position=i.position,
                connector=i.connector,
                description=descriptions[i.position]
                if i.position < len(descriptions)
                else DESCRIPTIONS.get(i.connector, i.connector),
                state=i.state,
                attempts=i.attempts,
                max_attempts=i.max_attempts,
                idempotency_key=i.idempotency_key,
                reference=i.reference,
                summary=i.summary,
                url=i.url,
                last_error=i.last_error,
            )
            for i in actions_of(items)
        ),
    )
