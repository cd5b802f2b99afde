"""One question is one unit of work: one read transaction and one write transaction.

Counted end to end, through the real Bolt app and the sandbox, on SQLite and PostgreSQL:
every `Database.session()` and `Database.reading()` a question opens, and every
transaction its engines begin (so nothing slips past the counter by using an engine
directly).

What is counted, and why a Slack question opens three. The question itself, from the
thinking indicator to the answer, is `answer_question`: it opens one `reading()` for
everything its answers rest on (the thread so far, the passages for the channel and for
the asker, curated answers, the day's spend) and, after the model has written, one
`session()` for its audit record, its answer records and the link to the Slack message
that shows the answer. Before it, the Slack layer claims the delivery (`first_delivery`) in
a write of its own. That claim cannot join either transaction: it must be committed
before anything is posted, so that Slack's retry of the same event, or the second event
for the same post, arriving at another replica at the same moment finds it taken; and
joining the read would make the read take the write lock on SQLite. A claim kept in
memory and recorded with the answer would let two replicas both answer. So a question
over Slack is the claim, then at most two for the question.

Held answers (a reviewer checks them first) also become drafts, which the approvals
service creates in its own unit of work; owners who hear about a question nobody could
answer are told in theirs. Neither is part of the question counted here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import event

from app.db.session import Database
from tests.harness import blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"  # support agent
DELIVERY_CLAIM = ["session"]
QUESTION = ["reading", "session"]


@dataclass
class SessionCounter:
    """The sessions a `Database` opens, in order, and the transactions its engines begin."""

    opened: list[str] = field(default_factory=list)
    transactions: int = 0
    open_now: int = 0
    most_open: int = 0

    @classmethod
    def on(cls, database: Database) -> SessionCounter:
        counter = cls()
        database.session = counter._counting("session", database.session)
        database.reading = counter._counting("reading", database.reading)
        for engine in {database.engine, database.read_engine}:
            event.listen(engine.sync_engine, "begin", counter._began)
        return counter

    def _counting(self, kind: str, open_session: Callable) -> Callable:
        @asynccontextmanager
        async def counted(**options) -> AsyncIterator:
            self.opened.append(kind)
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
            try:
                async with open_session(**options) as session:
                    yield session
            finally:
                self.open_now -= 1

        return counted

    def _began(self, _connection) -> None:
        self.transactions += 1

    def reset(self) -> None:
        self.opened, self.transactions, self.most_open = [], 0, 0

    async def settled(self, quiet: float = 0.5) -> list[str]:
        """What was opened, once nothing new has opened for `quiet` seconds."""
        seen = -1
        while seen != len(self.opened) or self.open_now:
            seen = len(self.opened)
            await asyncio.sleep(quiet)
        return self.opened


async def test_a_direct_message_and_its_follow_up_each_read_once_and_write_once(tmp_path, database):
    async with running_trellis(tmp_path, database=database) as trellis:
        counter = SessionCounter.on(trellis.services.database)
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, "When is Trail Day in 2026?")
        im = trellis.dm_with(SAM)
        first = await trellis.answer_in_thread(im, ts)
        assert "Trail Day" in blocks_text(first.blocks)
        assert await counter.settled() == DELIVERY_CLAIM + QUESTION
        assert counter.transactions == 3
        assert counter.most_open == 1  # the read is over before anything is written

        # A follow-up also reads the thread so far, in the same read transaction.
        counter.reset()
        follow = await trellis.sandbox.post_message(
            sam, im, "Is the office closed that day?", thread_ts=ts
        )
        await trellis.reply_after(im, ts, follow)
        assert await counter.settled() == DELIVERY_CLAIM + QUESTION
        assert counter.transactions == 3
        assert counter.most_open == 1


async def test_a_channel_question_with_a_fuller_private_answer_still_reads_once(tmp_path, database):
    # #general has a guest in it: the channel's answer and Sam's fuller private answer are
    # searched, and checked for curated answers, in two scopes, all in one read.
    async with running_trellis(tmp_path, database=database) as trellis:
        counter = SessionCounter.on(trellis.services.database)
        ts = await trellis.ask(
            SAM, "general", "How many days of paid time off do full-time employees get per year?"
        )
        await trellis.answer_in_thread("general", ts)
        private = await trellis.sandbox.wait_for_ephemeral(
            trellis.user(SAM), lambda e: "Only you can see" in blocks_text(e.blocks)
        )
        assert "25 days" in blocks_text(private.blocks)
        assert await counter.settled() == DELIVERY_CLAIM + QUESTION
        assert counter.transactions == 3
        assert counter.most_open == 1
