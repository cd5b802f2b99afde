"""SQL for the questions Trellis has taken on and not yet answered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.records import ReceivedQuestion
from app.db.repositories.dml import rowcount


class ReceivedQuestionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, questions: Sequence[ReceivedQuestion]) -> None:
        self.session.add_all(questions)
        await self.session.flush()

    async def recorded(
        self, question_id: str, audit_id: str, *, taken_by: str, shown_ts: str | None
    ) -> bool:
        """Mark the question answered, in the message `shown_ts` (when it is shown at
        once), only while `taken_by` holds it: False when another process took it over."""
        values: dict[str, str] = {"audit_id": audit_id}
        if shown_ts is not None:
            values["shown_ts"] = shown_ts
        result = await self.session.execute(
            update(ReceivedQuestion)
            .where(
                ReceivedQuestion.id == question_id,
                ReceivedQuestion.taken_by == taken_by,
                ReceivedQuestion.audit_id.is_(None),
            )
            .values(values)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def shown_in(
        self, question_id: str, ts: str, *, taken_by: str, unnamed: bool = False
    ) -> bool:
        """Name `ts` the message showing the question's progress, only while `taken_by`
        holds it (and, `unnamed`, only while no message is named or withdrawn)."""
        conditions = [ReceivedQuestion.id == question_id, ReceivedQuestion.taken_by == taken_by]
        if unnamed:
            conditions.append(ReceivedQuestion.shown_ts.is_(None))
        result = await self.session.execute(
            update(ReceivedQuestion)
            .where(*conditions)
            .values(shown_ts=ts)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def withdraw(self, question_id: str) -> bool:
        """Mark that no unnamed message shows the question's progress (one was withdrawn),
        unless one is named already; whether it was marked."""
        result = await self.session.execute(
            update(ReceivedQuestion)
            .where(ReceivedQuestion.id == question_id, ReceivedQuestion.shown_ts.is_(None))
            .values(shown_ts="")
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def get(self, question_id: str) -> ReceivedQuestion | None:
        return await self.session.get(ReceivedQuestion, question_id)

    async def settle(self, question_ids: Sequence[str]) -> None:
        await self.session.execute(
            delete(ReceivedQuestion).where(ReceivedQuestion.id.in_(question_ids))
        )

    async def renew(self, question_ids: Sequence[str], *, taken_by: str, until: datetime) -> int:
        """Extend the leases of these questions that `taken_by` still holds."""
        result = await self.session.execute(
            update(ReceivedQuestion)
            .where(ReceivedQuestion.id.in_(question_ids), ReceivedQuestion.taken_by == taken_by)
            .values(taken_until=until)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def held(self, question_ids: Sequence[str], *, taken_by: str) -> set[str]:
        """Those of these questions `taken_by` holds."""
        result = await self.session.execute(
            select(ReceivedQuestion.id).where(
                ReceivedQuestion.id.in_(question_ids), ReceivedQuestion.taken_by == taken_by
            )
        )
        return set(result.scalars().all())

    async def abandoned(self, *, now: datetime, limit: int) -> Sequence[ReceivedQuestion]:
        """Questions whose taker stopped renewing its lease, the least tried first (so the
        ones that keep failing do not hold the others back), then the oldest."""
        result = await self.session.execute(
            select(ReceivedQuestion)
            .where(ReceivedQuestion.taken_until < now)
            .order_by(ReceivedQuestion.attempts, ReceivedQuestion.received_at)
            .limit(limit)
        )
        return result.scalars().all()

    async def take(
        self, question: ReceivedQuestion, *, taken_by: str, now: datetime, until: datetime
    ) -> bool:
        """Take an abandoned question over, as it was read; False when someone else took it
        first, or its answer was recorded or its message named since."""
        result = await self.session.execute(
            update(ReceivedQuestion)
            .where(
                ReceivedQuestion.id == question.id,
                ReceivedQuestion.taken_until < now,
                ReceivedQuestion.taken_by == question.taken_by,
                ReceivedQuestion.audit_id.is_not_distinct_from(question.audit_id),
                ReceivedQuestion.shown_ts.is_not_distinct_from(question.shown_ts),
            )
            .values(taken_by=taken_by, taken_until=until, attempts=question.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1
