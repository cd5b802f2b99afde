"""SQL for the audit trail, handled events and posted answers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.records import AuditRecord, HandledEvent, PostedAnswer
from app.db.repositories.dml import dialect_insert, is_postgres

# Any constant works; it names the lock that serialises appends to the audit chain.
AUDIT_CHAIN_LOCK = 7_340_031


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_chain(self) -> None:
        """Serialise appenders. SQLite already holds the write lock (BEGIN IMMEDIATE)."""
        if is_postgres(self.session):
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_CHAIN_LOCK}
            )

    async def head(self) -> AuditRecord | None:
        result = await self.session.execute(
            select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)
        )
        return result.scalar_one_or_none()

    async def head_link(self) -> tuple[int, str] | None:
        """The last record's sequence number and hash, what the next record links to (its
        payload, which can be large, is not read)."""
        result = await self.session.execute(
            select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
        )
        row = result.first()
        return (row.seq, row.hash) if row is not None else None

    async def add(self, record: AuditRecord) -> None:
        self.session.add(record)
        await self.session.flush()

    async def get(self, record_id: str) -> AuditRecord | None:
        result = await self.session.execute(select(AuditRecord).where(AuditRecord.id == record_id))
        return result.scalar_one_or_none()

    async def for_subject(self, subject_id: str) -> Sequence[AuditRecord]:
        result = await self.session.execute(
            select(AuditRecord)
            .where(AuditRecord.subject_id == subject_id)
            .order_by(AuditRecord.seq)
        )
        return result.scalars().all()

    async def batch(self, after_seq: int, limit: int) -> Sequence[AuditRecord]:
        result = await self.session.execute(
            select(AuditRecord)
            .where(AuditRecord.seq > after_seq)
            .order_by(AuditRecord.seq)
            .limit(limit)
        )
        return result.scalars().all()

    async def latest(self, kind: str) -> AuditRecord | None:
        result = await self.session.execute(
            select(AuditRecord)
            .where(AuditRecord.kind == kind)
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def count(self, kind: str | None = None) -> int:
        query = select(func.count()).select_from(AuditRecord)
        if kind:
            query = query.where(AuditRecord.kind == kind)
        return (await self.session.execute(query)).scalar_one()


class HandledEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, keys: Sequence[str]) -> bool:
        """Record every key; False when any of them was already taken."""
        return (await self.claim_each([keys]))[0]

    async def claim_each(self, claims: Sequence[Sequence[str]]) -> list[bool]:
        """`claim` for several deliveries in one statement, in order: a delivery is fresh
        when every one of its keys was new, and no delivery before it took any of them."""
        keys = list(dict.fromkeys(key for claim in claims for key in claim))
        if not keys:
            return [True for _ in claims]
        statement = (
            dialect_insert(self.session)(HandledEvent)
            .values([{"key": key, "received_at": utcnow()} for key in keys])
            .on_conflict_do_nothing()
            .returning(HandledEvent.key)
        )
        new = set((await self.session.execute(statement)).scalars())
        fresh: list[bool] = []
        for claim in claims:
            fresh.append(all(key in new for key in claim))
            new.difference_update(claim)
        return fresh

    async def taken(self, key: str) -> bool:
        return await self.session.get(HandledEvent, key) is not None


class AnswerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, answer: PostedAnswer) -> None:
        self.session.add(answer)
        await self.session.flush()

    async def set_message(self, answer_id: str, *, message_ts: str, thread_ts: str | None) -> None:
        row = await self.session.get(PostedAnswer, answer_id)
        if row is not None:
            row.message_ts = message_ts
            row.thread_ts = thread_ts or message_ts

    async def by_message(self, channel_id: str, message_ts: str) -> PostedAnswer | None:
        result = await self.session.execute(
            select(PostedAnswer)
            .where(PostedAnswer.channel_id == channel_id, PostedAnswer.message_ts == message_ts)
            .order_by(PostedAnswer.created_at.desc())  # a question answered again after a crash
        )
        return result.scalars().first()

    async def in_thread(self, channel_id: str, thread_ts: str) -> Sequence[PostedAnswer]:
        result = await self.session.execute(
            select(PostedAnswer)
            .where(PostedAnswer.channel_id == channel_id, PostedAnswer.thread_ts == thread_ts)
            .order_by(PostedAnswer.created_at)
        )
        return result.scalars().all()

    async def answered_privately(self, audit_id: str) -> PostedAnswer | None:
        """The asker's private answer to the question `audit_id`, when they were answered."""
        result = await self.session.execute(
            select(PostedAnswer).where(
                PostedAnswer.audit_id == audit_id,
                PostedAnswer.private.is_(True),
                PostedAnswer.status == "answered",
            )
        )
        return result.scalars().first()
