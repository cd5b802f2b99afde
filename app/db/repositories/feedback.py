"""SQL for flags, curated answers, answer feedback and owner notices.

State changes that people race on (two owners clicking at once, a reaction added twice)
are single statements: an insert that does nothing on conflict, or an update guarded by
the current status, so exactly one of them wins on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.feedback import AnswerFeedback, CuratedAnswer, Flag, OwnerNotice
from app.db.repositories.dml import dialect_insert, rowcount


class FlagRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, flag_id: str) -> Flag | None:
        return await self.session.get(Flag, flag_id, populate_existing=True)

    async def find(self, answer_id: str, flagger_email: str) -> Flag | None:
        result = await self.session.execute(
            select(Flag)
            .where(Flag.answer_id == answer_id, Flag.flagger_email == flagger_email)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        """True when this insert created the flag; False when the flagger already had one."""
        statement = dialect_insert(self.session)(Flag).values(**values).on_conflict_do_nothing()
        result = await self.session.execute(statement)
        return rowcount(result) == 1

    async def change_status(
        self, flag_id: str, *, expected: Collection[str], status: str, now: datetime, **values: Any
    ) -> bool:
        """Compare-and-set: True only for the one caller that found the flag in `expected`."""
        result = await self.session.execute(
            update(Flag)
            .where(Flag.id == flag_id, Flag.status.in_(sorted(expected)))
            .values(status=status, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def open_flags(self, *, limit: int = 500) -> Sequence[Flag]:
        result = await self.session.execute(
            select(Flag).where(Flag.status == "open").order_by(Flag.created_at).limit(limit)
        )
        return result.scalars().all()

    async def count_by_status(self, *, since: datetime | None = None) -> dict[str, int]:
        statement = select(Flag.status, func.count()).group_by(Flag.status)
        if since is not None:
            statement = statement.where(Flag.created_at >= since)
        return {status: count for status, count in (await self.session.execute(statement)).all()}

    async def most_flagged_documents(
        self, *, since: datetime, limit: int = 5
    ) -> list[tuple[str, int]]:
        """Document ids by how many flags (withdrawn ones aside) cited them."""
        rows = await self.session.execute(
            select(Flag.doc_ids).where(Flag.created_at >= since, Flag.status != "withdrawn")
        )
        counts: Counter[str] = Counter()
        for (doc_ids,) in rows:
            counts.update(set(doc_ids or ()))
        return counts.most_common(limit)


class CuratedAnswerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, curated: CuratedAnswer) -> None:
        self.session.add(curated)
        await self.session.flush()

    async def active(self) -> Sequence[CuratedAnswer]:
        result = await self.session.execute(
            select(CuratedAnswer)
            .where(CuratedAnswer.active.is_(True))
            .order_by(CuratedAnswer.created_at.desc())
        )
        return result.scalars().all()

    async def active_terms(self) -> list[tuple[str, str, datetime]]:
        """(id, terms, created_at) of every active curated answer, newest first: what
        matching a question needs, without the answers and their citations."""
        result = await self.session.execute(
            select(CuratedAnswer.id, CuratedAnswer.terms, CuratedAnswer.created_at)
            .where(CuratedAnswer.active.is_(True))
            .order_by(CuratedAnswer.created_at.desc())
        )
        return [(row.id, row.terms, row.created_at) for row in result]

    async def get(self, curated_id: str) -> CuratedAnswer | None:
        return await self.session.get(CuratedAnswer, curated_id)

    async def retire(self, curated_ids: Collection[str]) -> None:
        if curated_ids:
            await self.session.execute(
                update(CuratedAnswer)
                .where(CuratedAnswer.id.in_(sorted(curated_ids)))
                .values(active=False)
                .execution_options(synchronize_session=False)
            )

    async def count(self, *, since: datetime | None = None) -> int:
        statement = select(func.count()).select_from(CuratedAnswer)
        if since is not None:
            statement = statement.where(CuratedAnswer.created_at >= since)
        return (await self.session.execute(statement)).scalar_one()


class AnswerFeedbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, answer_id: str, person_email: str) -> AnswerFeedback | None:
        result = await self.session.execute(
            select(AnswerFeedback).where(
                AnswerFeedback.answer_id == answer_id, AnswerFeedback.person_email == person_email
            )
        )
        return result.scalar_one_or_none()

    async def record(
        self, *, feedback_id: str, answer_id: str, person_email: str, helpful: bool, now: datetime
    ) -> bool | None:
        """Insert or update one person's verdict; returns the verdict it replaced (None: new)."""
        before = await self.find(answer_id, person_email)
        statement = dialect_insert(self.session)(AnswerFeedback).values(
            id=feedback_id,
            answer_id=answer_id,
            person_email=person_email,
            helpful=helpful,
            created_at=now,
            updated_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["answer_id", "person_email"],
            set_={"helpful": helpful, "updated_at": now},
        )
        await self.session.execute(statement)
        return None if before is None else before.helpful

    async def for_answer(self, answer_id: str) -> Sequence[AnswerFeedback]:
        result = await self.session.execute(
            select(AnswerFeedback).where(AnswerFeedback.answer_id == answer_id)
        )
        return result.scalars().all()

    async def counts(self, *, since: datetime) -> dict[bool, int]:
        rows = await self.session.execute(
            select(AnswerFeedback.helpful, func.count())
            .where(AnswerFeedback.updated_at >= since)
            .group_by(AnswerFeedback.helpful)
        )
        return {bool(helpful): count for helpful, count in rows.all()}


class OwnerNoticeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, notice: OwnerNotice) -> None:
        self.session.add(notice)
        await self.session.flush()

    async def last_sent(self, route: str) -> datetime | None:
        return (
            await self.session.execute(
                select(func.max(OwnerNotice.sent_at)).where(OwnerNotice.route == route)
            )
        ).scalar_one()

    async def get(self, notice_id: str) -> OwnerNotice | None:
        return await self.session.get(OwnerNotice, notice_id)

    async def routes_waiting(self) -> list[str]:
        rows = await self.session.execute(
            select(OwnerNotice.route)
            .where(OwnerNotice.sent_at.is_(None), OwnerNotice.withdrawn_at.is_(None))
            .distinct()
        )
        return sorted(route for (route,) in rows)

    async def claim(
        self, route: str, *, claim_id: str, now: datetime, created_by: datetime | None = None
    ) -> list[OwnerNotice]:
        """Take every unsent, not withdrawn notice of a route (created by `created_by`, when
        given); a concurrent claimer gets none of them."""
        due = [
            OwnerNotice.route == route,
            OwnerNotice.sent_at.is_(None),
            OwnerNotice.withdrawn_at.is_(None),
        ]
        if created_by is not None:
            due.append(OwnerNotice.created_at <= created_by)
        await self.session.execute(
            update(OwnerNotice)
            .where(*due)
            .values(sent_at=now, claimed_by=claim_id)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(
            select(OwnerNotice)
            .where(OwnerNotice.claimed_by == claim_id)
            .order_by(OwnerNotice.created_at)
        )
        return list(result.scalars().all())

    async def release(self, claim_id: str) -> None:
        """Put claimed notices back (sending them failed) for the next attempt."""
        await self.session.execute(
            update(OwnerNotice)
            .where(OwnerNotice.claimed_by == claim_id)
            .values(sent_at=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )

    async def withdraw(self, notice_id: str, *, now: datetime) -> bool:
        """Mark a notice withdrawn unless it was sent (or claimed for sending) first."""
        result = await self.session.execute(
            update(OwnerNotice)
            .where(
                OwnerNotice.id == notice_id,
                OwnerNotice.sent_at.is_(None),
                OwnerNotice.withdrawn_at.is_(None),
            )
            .values(withdrawn_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def count_waiting(self) -> int:
        return (
            await self.session.execute(
                select(func.count())
                .select_from(OwnerNotice)
                .where(OwnerNotice.sent_at.is_(None), OwnerNotice.withdrawn_at.is_(None))
            )
        ).scalar_one()
