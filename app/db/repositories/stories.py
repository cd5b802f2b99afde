"""SQL for an answer's story: its audit records, its posted answers, drafts made from it."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import models
from app.db.models.records import AuditRecord, PostedAnswer


class StoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, record_id: str) -> AuditRecord | None:
        """The record with this id, or with this number in the chain ("22", as `audit
        verify` names records)."""
        result = await self.session.execute(select(AuditRecord).where(AuditRecord.id == record_id))
        found = result.scalar_one_or_none()
        if found is None and record_id.isdigit():
            numbered = select(AuditRecord).where(AuditRecord.seq == int(record_id))
            found = (await self.session.execute(numbered)).scalar_one_or_none()
        return found

    async def about(self, subject_ids: Collection[str]) -> Sequence[AuditRecord]:
        if not subject_ids:
            return []
        result = await self.session.execute(
            select(AuditRecord)
            .where(AuditRecord.subject_id.in_(sorted(subject_ids)))
            .order_by(AuditRecord.seq)
        )
        return result.scalars().all()

    async def answer(self, answer_id: str) -> PostedAnswer | None:
        return await self.session.get(PostedAnswer, answer_id)

    async def answers_for(self, audit_id: str) -> Sequence[PostedAnswer]:
        result = await self.session.execute(
            select(PostedAnswer)
            .where(PostedAnswer.audit_id == audit_id)
            .order_by(PostedAnswer.created_at)
        )
        return result.scalars().all()

    async def draft_ids_for(self, answer_ids: Collection[str]) -> list[str]:
        """Drafts made from these answers (held for review), when drafts exist at all."""
        drafts = models.Base.metadata.tables.get("drafts")
        if drafts is None or "answer_id" not in drafts.c or not answer_ids:
            return []
        result = await self.session.execute(
            select(drafts.c.id).where(drafts.c.answer_id.in_(sorted(answer_ids)))
        )
        return [row[0] for row in result]
