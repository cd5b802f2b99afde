"""Closing the database at shutdown: sessions in progress finish first, and work that
outlives the close leaves no connection open behind it."""

from __future__ import annotations

import asyncio
import gc
import warnings

from sqlalchemy import text

from app.db.session import Database


async def test_closing_waits_for_the_sessions_in_progress(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}")
    started, release = asyncio.Event(), asyncio.Event()

    async def work() -> int:
        async with database.session() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
            started.set()
            await release.wait()
            await session.execute(text("INSERT INTO t VALUES (1)"))
        async with database.reading() as session:
            return int(await session.scalar(text("SELECT count(*) FROM t")) or 0)

    task = asyncio.create_task(work())
    await started.wait()
    closing = asyncio.create_task(database.dispose(grace=5))
    await asyncio.sleep(0.2)
    assert not closing.done()  # the write in progress is not cut off
    release.set()
    assert await task == 1
    await closing
    assert database.engine.pool.checkedin() == 0


async def test_work_that_outlives_the_close_leaves_no_connection_open(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}")
    await database.dispose()
    # A listener still finishing at shutdown reads and writes after the close.
    async with database.session() as session:
        await session.execute(text("CREATE TABLE t (x INTEGER)"))
    async with database.reading() as session:
        await session.execute(text("SELECT count(*) FROM t"))
    assert database.engine.pool.checkedin() == 0
    assert database.read_engine.pool.checkedin() == 0


async def test_a_session_that_never_ends_delays_the_close_only_by_the_grace(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}")
    started = asyncio.Event()

    async def stuck() -> None:
        async with database.reading() as session:
            await session.execute(text("SELECT 1"))
            started.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(stuck())
    await started.wait()
    async with asyncio.timeout(3):
        await database.dispose(grace=0.5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert database.read_engine.pool.checkedin() == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
