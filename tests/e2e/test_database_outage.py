"""A database that goes away does not lose a question.

PostgreSQL is reached through a relay the test takes down (connections cut, new ones
refused), and SQLite is kept busy by another connection holding its write lock past the
busy timeout. Through the real Bolt app and the sandbox:

- the database is away when a question arrives, and back within `database_wait_seconds`:
  the question is taken on when it is back, and answered;
- it stays away longer: the asker is told to ask again (nothing is silently dropped);
- it goes away while the answer is being written: the asker is told the answer will come,
  and once the database is back, the question is taken over and answered in that message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.db import session as db_session
from app.db.migrate import upgrade
from app.db.session import Database
from handlers.asking import LATER_NOTICE
from handlers.events import DATABASE_AWAY
from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.database_helpers import SqliteLock
from tests.e2e.test_respond_first import HeldAnswerer, held
from tests.harness import RunningTrellis, blocks_text, running_trellis, shown_text
from tests.peers.tcp_proxy import TcpProxy
from tests.workflow_helpers import FAST

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"


@dataclass
class Outage:
    """Takes the test's database away and brings it back."""

    database: Database
    away: Callable[[], Awaitable[object]]
    back: Callable[[], Awaitable[object]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def outage(request, tmp_path, monkeypatch) -> AsyncIterator[Outage]:
    monkeypatch.setenv("TRELLIS_QUESTION_LEASE_SECONDS", "1")
    if request.param == "sqlite":
        # A busy timeout a test can outlast (30 s in production).
        monkeypatch.setattr(db_session, "SQLITE_BUSY_TIMEOUT_MS", 300)
        path = tmp_path / "trellis.db"
        database = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(database)
        lock = SqliteLock(str(path))
        try:
            yield Outage(
                database,
                lambda: asyncio.to_thread(lock.take),
                lambda: asyncio.to_thread(lock.release),
            )
        finally:
            lock.release()
            await database.dispose()
        return
    name, url = await _create_postgres_database()
    target = make_url(url)
    async with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        database = Database(target.set(port=proxy.port).render_as_string(hide_password=False))
        try:
            await upgrade(database)
            yield Outage(database, proxy.down, proxy.up)
        finally:
            await database.dispose()
            await _drop_postgres_database(name)


@asynccontextmanager
async def trellis_on(
    tmp_path: Path, outage: Outage, answerer: HeldAnswerer | None = None
) -> AsyncIterator[RunningTrellis]:
    async with running_trellis(
        tmp_path,
        database=outage.database,
        background=FAST,
        answerer_for=held(answerer) if answerer else None,
    ) as trellis:
        yield trellis


def dm_of(trellis: RunningTrellis, email: str) -> str:
    return trellis.sandbox.workspace.open_im(trellis.user(email)).id


async def test_a_question_asked_while_the_database_is_away_is_answered_when_it_is_back(
    tmp_path, outage
):
    async with trellis_on(tmp_path, outage) as trellis:
        await outage.away()
        ts = await trellis.sandbox.post_message(trellis.user(SAM), trellis.bot, QUESTION)
        await asyncio.sleep(2)  # the claim waits for the database
        assert trellis.bot_replies(dm_of(trellis, SAM), ts) == []
        await outage.back()
        answer = await trellis.answer_in_thread(dm_of(trellis, SAM), ts, timeout=30)
        assert "Trail Day" in blocks_text(answer.blocks)
        assert len(trellis.bot_replies(dm_of(trellis, SAM), ts)) == 1


async def test_a_database_away_for_too_long_is_said_to_the_asker(tmp_path, outage, monkeypatch):
    monkeypatch.setenv("TRELLIS_DATABASE_WAIT_SECONDS", "1")
    async with trellis_on(tmp_path, outage) as trellis:
        await outage.away()
        try:
            ts = await trellis.sandbox.post_message(trellis.user(SAM), trellis.bot, QUESTION)
            await trellis.sandbox.wait_for_ephemeral(
                trellis.user(SAM), lambda e: DATABASE_AWAY in (e.text or ""), 90
            )
            assert trellis.bot_replies(dm_of(trellis, SAM), ts) == []
        finally:
            await outage.back()


async def test_a_database_lost_while_answering_is_answered_in_the_same_message(tmp_path, outage):
    answerer = HeldAnswerer()
    async with trellis_on(tmp_path, outage, answerer) as trellis:
        im = dm_of(trellis, SAM)
        ts = await trellis.sandbox.post_message(trellis.user(SAM), trellis.bot, QUESTION)
        await answerer.asked_at_least(1)  # the indicator is up; the answer is being written
        await outage.away()
        answerer.release.set()
        await trellis.sandbox.wait_until(
            lambda: (
                True
                if any(LATER_NOTICE in shown_text(m) for m in trellis.bot_replies(im, ts))
                else None
            ),
            60,
            "the notice that the answer will come",
        )
        await outage.back()
        await trellis.sandbox.wait_until(
            lambda: (
                True
                if any("Trail Day" in shown_text(m) for m in trellis.bot_replies(im, ts))
                else None
            ),
            60,
            "the answer, once the database is back",
        )
        replies = trellis.bot_replies(im, ts)
        assert len(replies) == 1  # the notice became the answer
        assert LATER_NOTICE not in shown_text(replies[0])


EDITED = "What is the daily meal allowance when travelling in North America?"


async def test_an_edit_made_while_the_database_is_away_is_answered_when_it_is_back(
    tmp_path, outage
):
    async with trellis_on(tmp_path, outage) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        await trellis.answer_in_thread("support", ts)
        await outage.away()
        await sandbox.edit_message(trellis.user(SAM), support, ts, f"<@{trellis.bot}> {EDITED}")
        await asyncio.sleep(2)  # whether it was a question taken on waits for the database
        assert len(trellis.bot_replies("support", ts)) == 1
        await outage.back()
        await sandbox.wait_until(
            lambda: (
                True
                if any("meal" in shown_text(m).lower() for m in trellis.bot_replies("support", ts))
                else None
            ),
            30,
            "the edit's answer, once the database is back",
        )


async def test_an_edit_the_database_stays_away_for_is_said_to_its_author(
    tmp_path, outage, monkeypatch
):
    monkeypatch.setenv("TRELLIS_DATABASE_WAIT_SECONDS", "1")
    async with trellis_on(tmp_path, outage) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        await trellis.answer_in_thread("support", ts)
        await outage.away()
        try:
            await sandbox.edit_message(trellis.user(SAM), support, ts, f"<@{trellis.bot}> {EDITED}")
            await sandbox.wait_for_ephemeral(
                trellis.user(SAM), lambda e: DATABASE_AWAY in (e.text or ""), 90
            )
            assert len(trellis.bot_replies("support", ts)) == 1
        finally:
            await outage.back()
