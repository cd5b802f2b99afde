"""SQL for App Home and the owners' digest: questions, failures, and drafts when they exist.

Drafts belong to the approvals module; they are read here only through the table in the
models' metadata, so this keeps working in a build without approvals.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.base import Base, aware
from app.db.models.feedback import OwnerNotice
from app.db.models.records import AuditRecord, PostedAnswer
from app.domain import ActionState

QUESTION_KINDS = ("question", "question.refused")
FAILURE_SUFFIXES = (".failed", ".dead_lettered")
WAITING_STATES = ("drafted", "pending")
DRAFT_COLUMNS = {
    "state",
    "requester_email",
    "title",
    "created_at",
    "requirement",
    "approvals",
    "card_channel",
    "card_ts",
}
OUTBOX_COLUMNS = {"draft_id", "connector", "params", "reference", "state"}


@dataclass(frozen=True)
class QuestionRecord:
    kind: str
    actor_email: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class WaitingDraft:
    id: str
    title: str
    requester_email: str
    created_at: datetime
    eligible: tuple[frozenset[str], ...]
    approved_by: frozenset[str]
    card: tuple[str, str] | None = None
    """(channel, ts) of its card in the approvals channel, once posted."""


@dataclass(frozen=True)
class DirectMessage:
    """A message about a waiting draft for one person who is not in its card's channel:
    the card itself, or a pointer to where it waits."""

    draft_id: str
    email: str
    card: tuple[str, str] | None
    """(channel, ts) of the card once sent; None for a pointer, or a card not sent yet."""


def drafts_table() -> Table | None:
    table = Base.metadata.tables.get("drafts")
    if table is None or not set(table.c.keys()) >= DRAFT_COLUMNS:
        return None
    return table


def outbox_table() -> Table | None:
    table = Base.metadata.tables.get("outbox")
    if table is None or not set(table.c.keys()) >= OUTBOX_COLUMNS:
        return None
    return table


class DashboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def questions(self, *, since: datetime) -> list[QuestionRecord]:
        rows = await self.session.execute(
            select(AuditRecord.kind, AuditRecord.actor_email, AuditRecord.payload).where(
                AuditRecord.occurred_at >= since, AuditRecord.kind.in_(QUESTION_KINDS)
            )
        )
        return [
            QuestionRecord(kind, email, payload if isinstance(payload, dict) else {})
            for kind, email, payload in rows
        ]

    async def failures(self, *, since: datetime) -> dict[str, int]:
        rows = await self.session.execute(
            select(AuditRecord.kind, func.count())
            .where(
                AuditRecord.occurred_at >= since,
                or_(*(AuditRecord.kind.endswith(s) for s in FAILURE_SUFFIXES)),
                not_(AuditRecord.kind.startswith("eval.")),
            )
            .group_by(AuditRecord.kind)
        )
        return dict(rows.all())

    async def unanswered(self, *, since: datetime, limit: int = 5) -> list[tuple[str, int]]:
        """The questions most often left without an answer (by their exact wording), but
        none whose asker withdrew it from the owners or deleted it (handlers/deleted.py), nor
        any whose asker was answered in full privately (the conversation was told only they
        are shown the answer)."""
        count = func.count().label("n")
        withdrawn = select(OwnerNotice.id).where(OwnerNotice.withdrawn_at.is_not(None))
        deleted = select(AuditRecord.subject_id).where(AuditRecord.kind == "question.deleted")
        private = aliased(PostedAnswer)
        answered_privately = select(private.audit_id).where(
            private.private.is_(True), private.status == "answered"
        )
        rows = await self.session.execute(
            select(PostedAnswer.question, count)
            .where(
                PostedAnswer.created_at >= since,
                PostedAnswer.status == "no_answer",
                PostedAnswer.private.is_(False),
                PostedAnswer.id.not_in(withdrawn),
                PostedAnswer.audit_id.not_in(answered_privately),
                PostedAnswer.audit_id.not_in(deleted),
            )
            .group_by(PostedAnswer.question)
            .order_by(count.desc(), PostedAnswer.question)
            .limit(limit)
        )
        return [(question, n) for question, n in rows.all()]

    async def waiting_drafts(self, *, limit: int = 200) -> list[WaitingDraft] | None:
        """Drafts waiting for a decision, oldest first; None when there are no drafts here."""
        table = drafts_table()
        if table is None:
            return None
        rows = await self.session.execute(
            select(
                table.c.id,
                table.c.title,
                table.c.requester_email,
                table.c.created_at,
                table.c.requirement,
                table.c.approvals,
                table.c.card_channel,
                table.c.card_ts,
            )
            .where(table.c.state.in_(WAITING_STATES))
            .order_by(table.c.created_at)
            .limit(limit)
        )
        return [
            WaitingDraft(
                id=row.id,
                title=row.title,
                requester_email=row.requester_email,
                created_at=aware(row.created_at),
                eligible=tuple(frozenset(g) for g in (row.requirement or {}).get("eligible", ())),
                approved_by=frozenset(a.get("email", "") for a in row.approvals or ()),
                card=(row.card_channel, row.card_ts) if row.card_channel and row.card_ts else None,
            )
            for row in rows
        ]

    async def direct_messages(
        self, draft_ids: Collection[str], *, kinds: Collection[str], cards: Collection[str]
    ) -> list[DirectMessage]:
        """The outbox rows of `kinds` for `draft_ids`: messages to one person each (their
        params name them, {"person": {"email": …}}). Those of `cards` carry the card; once
        sent, their reference is "channel ts"."""
        table = outbox_table()
        if table is None or not draft_ids:
            return []
        rows = await self.session.execute(
            select(
                table.c.draft_id,
                table.c.connector,
                table.c.params,
                table.c.reference,
                table.c.state,
            ).where(table.c.draft_id.in_(list(draft_ids)), table.c.connector.in_(list(kinds)))
        )
        found: list[DirectMessage] = []
        for row in rows:
            email = ((row.params or {}).get("person") or {}).get("email")
            place = (row.reference or "").split(" ")
            sent = row.connector in cards and row.state == ActionState.DONE and len(place) == 2
            if email:
                found.append(
                    DirectMessage(
                        row.draft_id, email.lower(), (place[0], place[1]) if sent else None
                    )
                )
        return found

    async def my_drafts(self, email: str, *, limit: int = 10) -> Sequence[WaitingDraft] | None:
        waiting = await self.waiting_drafts()
        if waiting is None:
            return None
        return [d for d in waiting if d.requester_email.lower() == email.lower()][:limit]
