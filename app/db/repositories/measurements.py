"""SQL for measurement: spend per person, audit records over a period, optional tables.

Evaluation runs write kinds that start with `eval.`; they are never counted here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, inspect, not_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import models
from app.db.base import aware
from app.db.models.knowledge import Chunk
from app.db.models.records import AuditRecord
from app.db.session import Database

EVAL_KIND_PREFIX = "eval."


@dataclass(frozen=True)
class ActorUsage:
    email: str
    model: str | None
    usage: dict[str, Any]


def _production() -> ColumnElement[bool]:
    return not_(AuditRecord.kind.startswith(EVAL_KIND_PREFIX))


class MeasurementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def usage_by_actor(self, *, since: datetime, emails: Collection[str]) -> list[ActorUsage]:
        """Model usage recorded since `since` by any of these people (emails are stored lower case)."""
        if not emails:
            return []
        rows = await self.session.execute(
            select(AuditRecord.actor_email, AuditRecord.payload).where(
                AuditRecord.occurred_at >= since,
                _production(),
                AuditRecord.actor_email.in_(sorted(e.lower() for e in emails)),
            )
        )
        found = []
        for email, payload in rows:
            if isinstance(payload, dict) and payload.get("usage"):
                found.append(ActorUsage(email.lower(), payload.get("model"), payload["usage"]))
        return found

    async def records_since(
        self, since: datetime | None, *, batch_size: int = 2000
    ) -> AsyncIterator[AuditRecord]:
        """Production audit records in chain order, fetched in batches."""
        after = 0
        while True:
            query = select(AuditRecord).where(AuditRecord.seq > after, _production())
            if since is not None:
                query = query.where(AuditRecord.occurred_at >= since)
            batch: Sequence[AuditRecord] = (
                (await self.session.execute(query.order_by(AuditRecord.seq).limit(batch_size)))
                .scalars()
                .all()
            )
            if not batch:
                return
            for record in batch:
                yield record
            after = batch[-1].seq

    async def table_columns(self, table: str) -> set[str] | None:
        """The columns of `table` when both the models and the database have it, else None."""
        if table not in models.Base.metadata.tables:
            return None
        connection = await self.session.connection()

        def read(sync_connection: Connection) -> set[str] | None:
            inspector = inspect(sync_connection)
            if not inspector.has_table(table):
                return None
            return {column["name"] for column in inspector.get_columns(table)}

        return await connection.run_sync(read)

    async def count_by(
        self,
        table: str,
        column: str,
        *,
        since: datetime | None = None,
        time_column: str | None = None,
    ) -> dict[str, int]:
        """Row counts of a table grouped by one column (after `since`, when given)."""
        model_table = models.Base.metadata.tables[table]
        grouped = model_table.c[column]
        query = select(grouped, func.count()).select_from(model_table).group_by(grouped)
        if since is not None and time_column:
            query = query.where(model_table.c[time_column] >= since)
        rows = await self.session.execute(query)
        return {str(value): count for value, count in rows}

    async def count_rows(
        self, table: str, *, since: datetime | None = None, time_column: str | None = None
    ) -> int:
        model_table = models.Base.metadata.tables[table]
        query = select(func.count()).select_from(model_table)
        if since is not None and time_column:
            query = query.where(model_table.c[time_column] >= since)
        return (await self.session.execute(query)).scalar_one()

    async def durations(
        self, table: str, *, start: str, end: str, since: datetime | None = None
    ) -> list[float]:
        """Seconds between two timestamp columns, for rows where both are set."""
        model_table = models.Base.metadata.tables[table]
        query = select(model_table.c[start], model_table.c[end]).where(
            model_table.c[start].is_not(None), model_table.c[end].is_not(None)
        )
        if since is not None:
            query = query.where(model_table.c[start] >= since)
        rows = await self.session.execute(query)
        return [(aware(b) - aware(a)).total_seconds() for a, b in rows]


async def chunk_texts(session: AsyncSession, doc_ids: Collection[str]) -> dict[str, list[str]]:
    """The indexed text of each document, chunk by chunk."""
    if not doc_ids:
        return {}
    rows = await session.execute(
        select(Chunk.doc_id, Chunk.text)
        .where(Chunk.doc_id.in_(sorted(doc_ids)))
        .order_by(Chunk.doc_id, Chunk.ordinal)
    )
    texts: dict[str, list[str]] = {}
    for doc_id, text in rows:
        texts.setdefault(doc_id, []).append(text)
    return texts


async def copy_tables(
    source: Database, target: Database, tables: Sequence[str], *, batch: int = 500
) -> None:
    """Copy every row of these tables (those both databases have) from source to target,
    `batch` rows at a time (an index's chunks carry their vectors: never all at once). All
    of them are read in one transaction that sees one moment of the source (on PostgreSQL a
    repeatable read), so a re-index that commits meanwhile is copied whole or not at all."""
    async with source.reading() as read:
        if source.is_postgres:
            await read.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        for name in tables:
            table = models.Base.metadata.tables.get(name)
            if table is None or await MeasurementRepository(read).table_columns(name) is None:
                continue
            rows = await read.stream(select(table).execution_options(yield_per=batch))
            async for part in rows.partitions(batch):
                async with target.session() as write:
                    await write.execute(table.insert(), [dict(row._mapping) for row in part])
