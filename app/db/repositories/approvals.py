"""SQL for drafts, the outbox and job leases.

Every change of a draft or an outbox row is a compare-and-set: the UPDATE names the row's
id, the state it was read in and its version, and reports whether it hit the row. A
writer that loses the race learns so from the row count, never by overwriting a decision.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models.approvals import WAITING_FROM, Draft, JobLease, OutboxAction
from app.db.repositories.dml import dialect_insert, is_postgres, rowcount
from app.domain import ActionState

WAITING = ("drafted", "pending")
CARRYING_OUT = ("approved", "executing")


class DraftRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, draft: Draft) -> None:
        self.session.add(draft)
        await self.session.flush()

    async def get(self, draft_id: str) -> Draft | None:
        """The row as the database has it now, not as this session last saw it."""
        result = await self.session.execute(
            select(Draft).where(Draft.id == draft_id).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def by_card(self, channel_id: str, ts: str) -> Draft | None:
        result = await self.session.execute(
            select(Draft).where(Draft.card_channel == channel_id, Draft.card_ts == ts)
        )
        return result.scalars().first()

    async def compare_and_set(self, draft: Draft, *, now: datetime, **values: Any) -> bool:
        """Change `draft` only if its state and version are still what was read."""
        statement = (
            update(Draft)
            .where(Draft.id == draft.id, Draft.state == draft.state, Draft.version == draft.version)
            .values(version=draft.version + 1, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return rowcount(result) == 1

    async def waiting(self, *, due_before: datetime, limit: int = 100) -> Sequence[Draft]:
        """Drafts awaiting a decision whose reminder, escalation or expiry is due."""
        due = or_(
            and_(
                Draft.remind_at.is_not(None),
                Draft.remind_at <= due_before,
                Draft.reminded_at.is_(None),
            ),
            and_(
                Draft.escalate_at.is_not(None),
                Draft.escalate_at <= due_before,
                Draft.escalated_at.is_(None),
            ),
            and_(Draft.expires_at.is_not(None), Draft.expires_at <= due_before),
        )
        result = await self.session.execute(
            select(Draft)
            .where(Draft.state.in_(WAITING), due)
            .order_by(Draft.created_at)
            .limit(limit)
        )
        return result.scalars().all()

    async def carrying_out(self, *, limit: int = 200) -> Sequence[Draft]:
        """Approved drafts whose actions are not all accounted for in the draft's state."""
        result = await self.session.execute(
            select(Draft)
            .where(Draft.state.in_(CARRYING_OUT))
            .order_by(Draft.updated_at)
            .limit(limit)
        )
        return result.scalars().all()

    async def without_card(self, *, created_before: datetime, limit: int = 20) -> Sequence[Draft]:
        """Drafts waiting for approvers whose card was never posted (Slack was down)."""
        result = await self.session.execute(
            select(Draft)
            .where(
                Draft.state.in_(WAITING),
                Draft.card_ts.is_(None),
                Draft.created_at <= created_before,
            )
            .order_by(Draft.created_at)
            .limit(limit)
        )
        return result.scalars().all()

    async def waiting_with_card(self, *, limit: int = 200) -> Sequence[Draft]:
        """Drafts waiting for approvers whose card was posted, oldest first."""
        result = await self.session.execute(
            select(Draft)
            .where(Draft.state.in_(WAITING), Draft.card_ts.is_not(None))
            .order_by(Draft.created_at)
            .limit(limit)
        )
        return result.scalars().all()

    async def answers_held_since(
        self, requester_email: str, *, since: datetime
    ) -> tuple[int, datetime | None]:
        """How many answers `requester_email` has had held for review since `since`, and
        when the earliest of them was held (drafts of kind "answer", whatever became of
        them)."""
        result = await self.session.execute(
            select(func.count(Draft.id), func.min(Draft.created_at)).where(
                Draft.kind == "answer",
                Draft.requester_email == requester_email,
                Draft.created_at >= since,
            )
        )
        count, earliest = result.one()
        return int(count or 0), earliest


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, action: OutboxAction) -> None:
        self.session.add(action)
        await self.session.flush()

    async def for_draft(self, draft_id: str) -> Sequence[OutboxAction]:
        result = await self.session.execute(
            select(OutboxAction)
            .where(OutboxAction.draft_id == draft_id)
            .order_by(OutboxAction.position)
            .execution_options(populate_existing=True)
        )
        return result.scalars().all()

    async def get(self, action_id: str) -> OutboxAction | None:
        result = await self.session.execute(
            select(OutboxAction)
            .where(OutboxAction.id == action_id)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def claimable(
        self,
        *,
        now: datetime,
        limit: int,
        draft_id: str | None = None,
        connectors: Collection[str] | None = None,
    ) -> Sequence[OutboxAction]:
        """Due rows whose earlier actions are done: pending ones, and running ones whose
        lease ran out (their worker died); only `draft_id`'s and of `connectors` when given.
        On PostgreSQL the rows are locked and rows another worker holds are skipped;
        SQLite's write lock already serialises claims."""
        earlier = aliased(OutboxAction)
        # A draft's actions go in order; the messages sent while it waited (from
        # WAITING_FROM on) neither wait for them nor hold them up.
        unfinished_before = exists().where(
            earlier.draft_id == OutboxAction.draft_id,
            earlier.position < OutboxAction.position,
            OutboxAction.position < WAITING_FROM,
            earlier.state != ActionState.DONE,
        )
        query = (
            select(OutboxAction)
            .where(
                OutboxAction.next_attempt_at <= now,
                or_(
                    OutboxAction.state == ActionState.PENDING,
                    and_(OutboxAction.state == ActionState.RUNNING, OutboxAction.lease_until < now),
                ),
                ~unfinished_before,
            )
            .order_by(OutboxAction.next_attempt_at, OutboxAction.position)
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        if draft_id is not None:
            query = query.where(OutboxAction.draft_id == draft_id)
        if connectors is not None:
            query = query.where(OutboxAction.connector.in_(connectors))
        if is_postgres(self.session):
            query = query.with_for_update(skip_locked=True, of=OutboxAction)
        result = await self.session.execute(query)
        return result.scalars().all()

    async def compare_and_set(self, action: OutboxAction, *, now: datetime, **values: Any) -> bool:
        statement = (
            update(OutboxAction)
            .where(
                OutboxAction.id == action.id,
                OutboxAction.state == action.state,
                OutboxAction.version == action.version,
            )
            .values(version=action.version + 1, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return rowcount(result) == 1

    async def unreported(self, *, now: datetime, limit: int = 50) -> Sequence[OutboxAction]:
        """Finished rows whose outcome nobody has told the people about yet."""
        result = await self.session.execute(
            select(OutboxAction)
            .where(
                OutboxAction.state.in_((ActionState.DONE, ActionState.DEAD)),
                OutboxAction.reported.is_(False),
                or_(OutboxAction.report_until.is_(None), OutboxAction.report_until < now),
            )
            .order_by(OutboxAction.updated_at)
            .limit(limit)
        )
        return result.scalars().all()


class JobLeaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def acquire(self, name: str, *, owner: str, now: datetime, until: datetime) -> bool:
        """True when `owner` holds the lease on `name` until `until` (taken or renewed)."""
        insert = dialect_insert(self.session)
        await self.session.execute(
            insert(JobLease).values(name=name, owner=owner, until=now).on_conflict_do_nothing()
        )
        statement = (
            update(JobLease)
            .where(JobLease.name == name, or_(JobLease.owner == owner, JobLease.until <= now))
            .values(owner=owner, until=until)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return rowcount(result) == 1

    async def release(self, name: str, *, owner: str, now: datetime) -> None:
        """Give the lease on `name` up now, if `owner` holds it, so another may take it."""
        await self.session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.owner == owner)
            .values(until=now)
            .execution_options(synchronize_session=False)
        )
