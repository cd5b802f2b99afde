"""Claims on Slack deliveries: each delivery is taken on once, however many arrive together.
On SQLite a claim does not wait behind the writes already waiting for the lock, and a
stream of claims does not hold those writes back either."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from app.db.claims import DeliveryClaims
from app.db.repositories.records import HandledEventRepository


async def test_deliveries_arriving_together_are_each_taken_on_once(database):
    claims = DeliveryClaims(database)
    assert await claims.claim(["event:Ev0", "msg:C1:0.5"])
    attempts = [
        ["event:Ev0", "msg:C1:0.5"],  # Slack's retry of a delivery already taken on
        *([f"event:Ev{n}", f"msg:C1:{n}.0"] for n in range(1, 21)),
        *([f"event:Ev{n}", f"msg:C1:{n}.0"] for n in range(1, 21)),  # each retried at once
        ["event:EvMention", "msg:C1:99.0"],  # two events about one message
        ["event:EvMessage", "msg:C1:99.0"],
    ]
    fresh = await asyncio.gather(*(claims.claim(keys) for keys in attempts))
    assert fresh[0] is False
    for n in range(1, 21):
        assert sorted([fresh[n], fresh[n + 20]]) == [False, True]
    assert sorted(fresh[-2:]) == [False, True]
    async with database.reading() as session:
        assert await HandledEventRepository(session).taken("msg:C1:20.0")


async def test_a_claim_goes_before_the_writes_already_waiting(sqlite_database):
    database = sqlite_database
    claims = DeliveryClaims(database)
    writing, release = asyncio.Event(), asyncio.Event()
    claim_seen_by: list[bool] = []

    async def long_write() -> None:
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
            writing.set()
            await release.wait()

    async def answer_write() -> None:
        async with database.session() as session:
            claim_seen_by.append(await HandledEventRepository(session).taken("event:EvLate"))

    holder = asyncio.create_task(long_write())
    await writing.wait()
    answers = [asyncio.create_task(answer_write()) for _ in range(3)]
    for _ in range(3):
        await asyncio.sleep(0)  # the answers' writes are waiting for the lock
    claim = asyncio.create_task(claims.claim(["event:EvLate"]))
    for _ in range(3):
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(holder, *answers)
    assert await claim is True
    assert claim_seen_by == [True, True, True]


async def test_a_writer_that_stops_waiting_passes_its_turn_on(sqlite_database):
    database = sqlite_database
    writing, release = asyncio.Event(), asyncio.Event()
    wrote: list[str] = []

    async def write(name: str) -> None:
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
            wrote.append(name)
            if name == "first":
                writing.set()
                await release.wait()

    first = asyncio.create_task(write("first"))
    await writing.wait()
    gone, last = asyncio.create_task(write("gone")), asyncio.create_task(write("last"))
    for _ in range(3):
        await asyncio.sleep(0)
    gone.cancel()
    release.set()
    await asyncio.gather(first, last)
    assert wrote == ["first", "last"]
    assert gone.cancelled()


async def test_urgent_writes_take_turns_with_the_others(sqlite_database):
    database = sqlite_database
    writing, release = asyncio.Event(), asyncio.Event()
    wrote: list[str] = []

    async def write(name: str, *, urgent: bool) -> None:
        async with database.session(urgent=urgent) as session:
            await session.execute(text("SELECT 1"))
            wrote.append(name)
            if name == "claims":
                writing.set()
                await release.wait()

    first = asyncio.create_task(write("claims", urgent=True))
    await writing.wait()
    answer = asyncio.create_task(write("answer", urgent=False))
    for _ in range(3):
        await asyncio.sleep(0)
    more = asyncio.create_task(write("more claims", urgent=True))
    for _ in range(3):
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, answer, more)
    assert wrote == ["claims", "answer", "more claims"]
