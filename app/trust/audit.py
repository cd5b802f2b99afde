"""The audit trail: append-only records chained by hashes.

Each record's hash covers its own content and the previous record's hash, so editing,
deleting or reordering any record breaks the chain from that point on. Appends take a
lock (SQLite's write lock, a PostgreSQL advisory lock) so concurrent writers still form
one chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.records import AuditRecord
from app.db.repositories.records import AuditRepository
from app.db.session import Database

GENESIS_HASH = "0" * 64


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as the database will give it back: JSON types only."""
    plain: dict[str, Any] = json.loads(json.dumps(payload, default=str))
    return plain


def record_hash(record: AuditRecord) -> str:
    body = {
        "seq": record.seq,
        "id": record.id,
        "kind": record.kind,
        "occurred_at": _timestamp(record.occurred_at),
        "actor_slack_id": record.actor_slack_id,
        "actor_email": record.actor_email,
        "channel_id": record.channel_id,
        "subject_id": record.subject_id,
        "payload": record.payload,
        "prev_hash": record.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class ChainReport:
    records: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    def __init__(self, database: Database, *, clock: Callable[[], datetime] | None = None) -> None:
        self.database = database
        self.clock = clock or (lambda: datetime.now(UTC))

    async def append(
        self,
        session: AsyncSession,
        *,
        kind: str,
        payload: dict[str, Any],
        actor_slack_id: str | None = None,
        actor_email: str | None = None,
        channel_id: str | None = None,
        subject_id: str | None = None,
        record_id: str | None = None,
    ) -> AuditRecord:
        """Append inside the caller's transaction, so the record and the change it
        describes commit together."""
        repo = AuditRepository(session)
        await repo.lock_chain()
        head = await repo.head_link()
        seq, prev_hash = head if head is not None else (0, GENESIS_HASH)
        record = AuditRecord(
            seq=seq + 1,
            id=record_id or str(uuid.uuid4()),
            kind=kind,
            occurred_at=self.clock(),
            actor_slack_id=actor_slack_id,
            actor_email=actor_email,
            channel_id=channel_id,
            subject_id=subject_id,
            payload=_plain(payload),
            prev_hash=prev_hash,
        )
        record.hash = record_hash(record)
        await repo.add(record)
        return record

    async def record(self, **kwargs: Any) -> AuditRecord:
        """Append in a transaction of its own."""
        async with self.database.session() as session:
            return await self.append(session, **kwargs)

    async def get(self, record_id: str) -> AuditRecord | None:
        async with self.database.session() as session:
            return await AuditRepository(session).get(record_id)

    async def story(self, subject_id: str) -> list[AuditRecord]:
        async with self.database.session() as session:
            return list(await AuditRepository(session).for_subject(subject_id))

    async def verify(
        self, *, expected_head: tuple[int, str] | None = None, batch_size: int = 2000
    ) -> ChainReport:
        """Walk the chain in order and report every break.

        `expected_head` is a (seq, hash) pair recorded earlier; when given, a chain that
        ends before it (a truncated tail) or disagrees with it is reported too.
        """
        report = ChainReport()
        prev_hash, expected_seq = GENESIS_HASH, 1
        async with self.database.session() as session:
            repo = AuditRepository(session)
            after = 0
            while batch := await repo.batch(after, batch_size):
                for record in batch:
                    if record.seq != expected_seq:
                        report.problems.append(
                            f"record {expected_seq} is missing (next is {record.seq})"
                            if record.seq > expected_seq
                            else f"record {record.seq} is out of order"
                        )
                    if record.prev_hash != prev_hash:
                        report.problems.append(
                            f"record {record.seq} ({record.id}) does not follow the record before it"
                        )
                    if record_hash(record) != record.hash:
                        report.problems.append(f"record {record.seq} ({record.id}) was altered")
                    prev_hash, expected_seq = record.hash, record.seq + 1
                    report.records += 1
                    report.head_seq, report.head_hash = record.seq, record.hash
                after = batch[-1].seq
        if expected_head is not None:
            seq, head_hash = expected_head
            if report.head_seq < seq:
                report.problems.append(
                    f"the chain ends at record {report.head_seq}, but record {seq} was recorded as the head"
                )
            elif seq == 0:  # recorded while the chain was empty: every chain starts there
                if head_hash != GENESIS_HASH:
                    report.problems.append("record 0 differs from the recorded head")
            else:
                async with self.database.session() as session:
                    repo = AuditRepository(session)
                    rows = await repo.batch(seq - 1, 1)
                if not rows or rows[0].hash != head_hash:
                    report.problems.append(f"record {seq} differs from the recorded head")
        return report
