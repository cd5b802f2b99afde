"""A process still answering a question whose lease ran out (it stalled, or its renewals
failed under load) while another process took the question over: only the process holding
the question records and posts its answer, so the asker sees one answer, recorded once.

Process A is the whole app (Bolt over Socket Mode, the real pipeline) and writes its answer
only when the test lets it; process B shares its database and the sandbox and runs the
sweep that takes abandoned questions over (handlers/recovery.py). The clock both read is
moved past A's lease while A writes (or while A is about to post the message that will show
the answer, so B finds none and posts its own); B takes the question over and answers it;
then A goes on. On SQLite and PostgreSQL, with the answer streamed and with the thinking
indicator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from app.answering.backends.extractive import ExtractiveAnswerer
from app.db.models.records import AuditRecord, PostedAnswer, ReceivedQuestion
from app.db.session import Database
from app.domain import ModelAnswer, Passage, Turn
from app.services import Services, build_services
from app.slack_api import SlackGateway, retrying_client
from handlers import recovery
from handlers.notifier import SlackNotifier
from handlers.views import answers
from tests.approval_helpers import Clock
from tests.harness import RunningTrellis, running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"


class HeldAnswerer(ExtractiveAnswerer):
    """Writes its answer only once `go` is set: until then its process is mid-answer."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = asyncio.Event()
        self.go = asyncio.Event()

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        self.writing.set()
        await self.go.wait()
        return await super().answer(
            question=question,
            passages=passages,
            history=history,
            instructions=instructions,
            model=model,
        )


@asynccontextmanager
async def another_process(
    trellis: RunningTrellis, database: Database, clock: Clock
) -> AsyncIterator[Services]:
    """A second Trellis process on the same database and Slack, with its own leases."""
    gateway = SlackGateway(
        retrying_client(trellis.sandbox.bot_token, base_url=trellis.sandbox.api_url)
    )
    await gateway.connect()
    services = build_services(
        trellis.services.settings,
        trellis.workspace,
        database,
        slack=gateway,
        clock=clock,
        answerer=ExtractiveAnswerer(),
        notifier=SlackNotifier,
    )
    assert services.intake.taker != trellis.services.intake.taker
    try:
        yield services
    finally:
        await services.questions.close(grace=10)


@dataclass
class Stall:
    """The process stalls just before a Slack call until `go` is set (`reached`: it got
    there); the call is then made as always (`made`: it returned)."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)
    made: asyncio.Event = field(default_factory=asyncio.Event)


def stall(gateway: SlackGateway, method: str) -> Stall:
    """Each call of `method` through `gateway` waits for the stall's `go`."""
    stalled, call = Stall(), getattr(gateway, method)

    async def when_let_go(**kwargs: Any) -> Any:
        stalled.reached.set()
        await stalled.go.wait()
        try:
            return await call(**kwargs)
        finally:
            stalled.made.set()

    setattr(gateway, method, when_let_go)
    return stalled


async def count(database: Database, query) -> int:
    async with database.session() as session:
        return (await session.execute(query)).scalar_one()


@pytest.mark.parametrize("shown_by", ["stream", "indicator"])
async def test_a_process_whose_question_was_taken_over_mid_answer_posts_no_second_answer(
    database, tmp_path, shown_by
):
    clock = Clock()
    held = HeldAnswerer()
    stream = "always" if shown_by == "stream" else "never"
    async with running_trellis(
        tmp_path,
        database=database,
        clock=clock,
        answerer_for=lambda _: held,
        settings={"stream_answers": stream},
    ) as a:
        sandbox, sam = a.sandbox, a.user(SAM)
        asked = await sandbox.post_message(sam, a.bot, QUESTION)
        im = a.dm_with(SAM)
        await asyncio.wait_for(held.writing.wait(), 30)  # A is writing the answer

        lease = a.services.intake.lease.total_seconds()
        clock.advance(seconds=lease + 1)  # A's lease ran out: its renewals did not come
        async with another_process(a, database, clock) as b:
            assert await recovery.answer_abandoned(b) == 1  # B took it over and answered

            def replies() -> list:
                return a.bot_replies(im, asked)

            shown_by_b = replies()
            assert len(shown_by_b) == 1 and "Trail Day" in shown_text(shown_by_b[0])

            held.go.set()  # A goes on with the answer it was writing
            await a.services.questions.close(grace=30)  # and finishes it

            texts = [shown_text(m) for m in replies()]
            assert len(texts) == 1, texts
            assert "Trail Day" in texts[0] and answers.THINKING not in texts[0]
            assert not any(m.streaming for m in replies())
            assert replies()[0].ts == shown_by_b[0].ts  # the answer B showed
            assert await count(database, select(func.count()).select_from(PostedAnswer)) == 1
            recorded = select(func.count()).where(AuditRecord.kind == "question")
            assert await count(database, recorded) == 1

            await b.intake.renew()  # deletes the questions B settled
            await a.services.intake.renew()
            assert await count(database, select(func.count()).select_from(ReceivedQuestion)) == 0


@pytest.mark.parametrize("shown_by", ["stream", "indicator"])
async def test_a_message_posted_after_the_question_was_taken_over_is_withdrawn(
    database, tmp_path, shown_by
):
    """A stalls just before posting the message that will show its answer (the stream's
    start, the thinking indicator); B takes the question over, finds no message, posts its
    own and answers there. A's message, posted after all, is deleted once A finds the
    question taken: the thread shows B's answer alone."""
    clock = Clock()
    stream = "always" if shown_by == "stream" else "never"
    async with running_trellis(
        tmp_path, database=database, clock=clock, settings={"stream_answers": stream}
    ) as a:
        gateway = a.services.gateway
        assert gateway is not None
        stalled = stall(gateway, "start_stream" if shown_by == "stream" else "post")
        sandbox, sam = a.sandbox, a.user(SAM)
        asked = await sandbox.post_message(sam, a.bot, QUESTION)
        im = a.dm_with(SAM)
        await asyncio.wait_for(stalled.reached.wait(), 30)  # A is about to post

        lease = a.services.intake.lease.total_seconds()
        clock.advance(seconds=lease + 1)
        async with another_process(a, database, clock) as b:
            assert await recovery.answer_abandoned(b) == 1
            [shown_by_b] = a.bot_replies(im, asked)
            assert "Trail Day" in shown_text(shown_by_b)

            stalled.go.set()  # A posts its message after all, and goes on
            await asyncio.wait_for(stalled.made.wait(), 30)  # A is in its turn when this wakes
            await a.services.questions.close(grace=30)  # A finishes
            method = "chat.startStream" if stream == "always" else "chat.postMessage"
            posted = [
                c
                for c in sandbox.calls_to(method)
                if c.params.get("channel") == im and c.params.get("thread_ts") == asked
            ]
            assert len(posted) == (1 if stream == "always" else 2)  # A's message too

            replies = a.bot_replies(im, asked)
            assert [m.ts for m in replies] == [shown_by_b.ts], [shown_text(m) for m in replies]
            assert "Trail Day" in shown_text(replies[0]) and not replies[0].streaming
            assert await count(database, select(func.count()).select_from(PostedAnswer)) == 1
            recorded = select(func.count()).where(AuditRecord.kind == "question")
            assert await count(database, recorded) == 1
