"""Indexing is safe to start from any replica: the cluster's lease on re-indexing lets one
process index at a time, on SQLite and on PostgreSQL, and a holder that died is taken over
once its lease runs out.

Each replica here is its own engine on the same database, as separate `trellis run`
processes would be.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.config.workspace import load_workspace
from app.db.migrate import upgrade
from app.db.repositories.approvals import JobLeaseRepository
from app.db.repositories.knowledge import KnowledgeRepository
from app.db.session import Database
from app.knowledge.sync import LEASE_SECONDS, REINDEX_JOB, reindexing, sync_knowledge
from tests.trust.test_versions import demo_copy


async def counts(database: Database) -> tuple[int, int]:
    async with database.session() as session:
        repository = KnowledgeRepository(session)
        return await repository.count_documents(), await repository.count_chunks()


async def test_two_replicas_indexing_at_once_index_each_document_once(database, tmp_path):
    workspace = load_workspace(demo_copy(tmp_path))
    other = Database(database.url)
    try:
        first, second = await asyncio.gather(
            sync_knowledge(database, workspace), sync_knowledge(other, workspace)
        )
    finally:
        await other.dispose()
    documents, chunks = await counts(database)
    assert documents > 0 and chunks >= documents
    # One indexed everything; the other, waiting its turn, found nothing left to do.
    assert sorted([first.added, second.added]) == [0, documents], (first, second)
    assert sorted([first.unchanged, second.unchanged]) == [0, documents], (first, second)

    alone = Database(f"sqlite+aiosqlite:///{tmp_path / 'alone.db'}")
    try:
        await upgrade(alone)
        await sync_knowledge(alone, workspace)
        assert await counts(alone) == (documents, chunks)  # as one process indexing alone
    finally:
        await alone.dispose()


async def test_one_holder_at_a_time_and_a_dead_holder_is_taken_over(database):
    now = datetime.now(UTC)
    other = Database(database.url)
    try:
        holders = [(f"replica-{i}", (database, other)[i % 2]) for i in range(6)]

        async def contend(holder: str, db: Database) -> bool:
            async with reindexing(db, holder=holder, wait=False, clock=lambda: now) as held:
                await asyncio.sleep(0.2)  # still holding while the others try
                return held

        results = await asyncio.gather(*(contend(h, db) for h, db in holders))
        assert sum(results) == 1, results

        # replica-a takes the lease and dies holding it (its process is gone: no renewal,
        # no release): replica-b is refused until the lease runs out, then takes over.
        async with database.session() as session:
            until = now + timedelta(seconds=LEASE_SECONDS)
            assert await JobLeaseRepository(session).acquire(
                REINDEX_JOB, owner="replica-a", now=now, until=until
            )
        soon = now + timedelta(seconds=LEASE_SECONDS / 2)
        async with reindexing(other, holder="replica-b", wait=False, clock=lambda: soon) as held:
            assert not held
        later = now + timedelta(seconds=LEASE_SECONDS + 1)
        async with reindexing(other, holder="replica-b", wait=False, clock=lambda: later) as held:
            assert held
    finally:
        await other.dispose()
