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

    async def recorded(self, question_id: str, audit_id: str) -> None:
        await self.session.execute(
            update(ReceivedQuestion)
            .where(ReceivedQuestion.id == question_id)
            .values(audit_id=audit_id)
            .execution_options(synchronize_session=False)
        )

    async def settle(self, question_ids: Sequence[str]) -> None:
        await self.session.execute(
            delete(ReceivedQuestion).where(ReceivedQuestion.id.in_(question_ids))
        )

    async def renew(self, question_ids: Sequence[str], *, until: datetime) -> int:
        """Extend the leases of these questions."""
        result = await self.session.execute(
            update(ReceivedQuestion)
            .where(ReceivedQuestion.id.in_(question_ids))
            .values(taken_until=until)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

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
        """Take an abandoned question over; False when someone else took it first."""
        result = await self.session.execute(
            update(ReceivedQuestion)
            .where(ReceivedQuestion.id == question.id, ReceivedQuestion.taken_until < now)
            .values(taken_by=taken_by, taken_until=until, attempts=question.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1
