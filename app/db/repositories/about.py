"""SQL for `/trellis about` and `trellis about`: refusals, flags, votes, decisions, eval runs,
configuration versions, and the head and last verification of the audit chain.

Every function returns plain values; measurement over time (weeks, rates, medians) is
app/trust/about_weeks.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import aware
from app.db.models.approvals import Draft
from app.db.models.feedback import AnswerFeedback, Flag
from app.db.models.records import AuditRecord
from app.db.models.versions import ConfigVersion

EVAL_RUN = "eval.run"
VERIFIED = "audit.verified"
REFUSED = "question.refused"


@dataclass(frozen=True)
class Timing:
    """When something started and (if it has) when it was decided."""

    status: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class Vote:
    helpful: bool
    at: datetime


@dataclass(frozen=True)
class Logged:
    """One audit record, as measurement needs it."""

    seq: int
    kind: str
    at: datetime
    subject_id: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class VersionRow:
    version: str
    status: str
    created_at: datetime
    live_since: datetime | None
    eval_scores: dict[str, Any] | None


class AboutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def refusal_reasons(self, *, since: datetime) -> list[str]:
        """The stored reason of each refused question since `since`."""
        rows = await self.session.execute(
            select(AuditRecord.payload).where(
                AuditRecord.kind == REFUSED, AuditRecord.occurred_at >= since
            )
        )
        return [str((p or {}).get("reason") or "") for (p,) in rows]

    async def flags(self, *, since: datetime) -> list[Timing]:
        rows = await self.session.execute(
            select(Flag.status, Flag.created_at, Flag.decided_at).where(Flag.created_at >= since)
        )
        return [Timing(s, aware(c), aware(d) if d else None) for s, c, d in rows]

    async def open_flags(self) -> int:
        statement = select(func.count()).select_from(Flag).where(Flag.status == "open")
        return (await self.session.execute(statement)).scalar_one()

    async def votes(self, *, since: datetime) -> list[Vote]:
        rows = await self.session.execute(
            select(AnswerFeedback.helpful, AnswerFeedback.updated_at).where(
                AnswerFeedback.updated_at >= since
            )
        )
        return [Vote(bool(h), aware(at)) for h, at in rows]

    async def decisions(self, *, since: datetime) -> list[Timing]:
        """Drafts (answers held for review and workflow requests) created since `since`."""
        rows = await self.session.execute(
            select(Draft.state, Draft.created_at, Draft.decided_at).where(Draft.created_at >= since)
        )
        return [Timing(s, aware(c), aware(d) if d else None) for s, c, d in rows]

    async def eval_runs(self) -> list[Logged]:
        """Every recorded eval run, oldest first."""
        return await self._of_kind(EVAL_RUN)

    async def last_verification(self) -> Logged | None:
        rows = await self._of_kind(VERIFIED, newest=True, limit=1)
        return rows[0] if rows else None

    async def _of_kind(
        self, kind: str, *, newest: bool = False, limit: int | None = None
    ) -> list[Logged]:
        order = AuditRecord.seq.desc() if newest else AuditRecord.seq
        statement = (
            select(
                AuditRecord.seq,
                AuditRecord.kind,
                AuditRecord.occurred_at,
                AuditRecord.subject_id,
                AuditRecord.payload,
            )
            .where(AuditRecord.kind == kind)
            .order_by(order)
        )
        if limit is not None:
            statement = statement.limit(limit)
        rows = await self.session.execute(statement)
        return [
            Logged(seq, k, aware(at), subject, payload if isinstance(payload, dict) else {})
            for seq, k, at, subject, payload in rows
        ]

    async def head(self) -> Logged | None:
        """The newest record of the chain."""
        rows = await self.session.execute(
            select(
                AuditRecord.seq,
                AuditRecord.kind,
                AuditRecord.occurred_at,
                AuditRecord.subject_id,
                AuditRecord.hash,
            )
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        )
        row = rows.first()
        if row is None:
            return None
        seq, kind, at, subject, digest = row
        return Logged(seq, kind, aware(at), subject, {"hash": digest})

    async def record_count(self) -> int:
        return (
            await self.session.execute(select(func.count()).select_from(AuditRecord))
        ).scalar_one()

    async def versions(self) -> list[VersionRow]:
        """Every configuration version seen, oldest first."""
        rows = await self.session.execute(
            select(
                ConfigVersion.version,
                ConfigVersion.status,
                ConfigVersion.created_at,
                ConfigVersion.live_since,
                ConfigVersion.eval_scores,
            ).order_by(ConfigVersion.created_at)
        )
        return [
            VersionRow(v, s, aware(c), aware(live) if live else None, scores)
            for v, s, c, live, scores in rows
        ]
