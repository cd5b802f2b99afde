"""Respond first, think second: the status line and the started stream (or the thinking
indicator) are in the thread before the question is answered, a few questions are answered at once, in turns across the people asking, and
no question is left without an answer or a notice.

Through the real Bolt app and the sandbox, with the offline answerer held until the test
lets it go (so a question can be kept running while others arrive), and one question
answered at a time (TRELLIS_QUESTION_CONCURRENCY=1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from sqlalchemy import select

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.workspace import Workspace
from app.db.models.records import ReceivedQuestion
from app.domain import ModelAnswer, Passage, Turn
from app.sandbox.records import Change
from tests.harness import RunningTrellis, running_trellis

SAM = "sam.ortiz@northwind.example"
PRIYA = "priya.nair@northwind.example"
LIAM = "liam.carter@northwind.example"
TRAIL_DAY = "When is Trail Day in 2026?"
TENT = "What is the wholesale price of the Ridgeline 2P Tent?"
THINKING = "Looking through"


class HeldAnswerer:
    """The offline answerer, holding every answer until `release` is set; a question in
    `failing` raises instead."""

    name = "extractive"

    def __init__(self, failing: Sequence[str] = ()) -> None:
        self.inner = ExtractiveAnswerer()
        self.release = asyncio.Event()
        self.asked: list[str] = []
        self.failing = set(failing)
        self._arrived = asyncio.Event()

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        self.asked.append(question)
        self._arrived.set()
        await self.release.wait()
        if question in self.failing:
            raise RuntimeError("the answering backend broke")
        return await self.inner.answer(
            question=question,
            passages=passages,
            history=history,
            instructions=instructions,
            model=model,
        )

    async def asked_at_least(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.asked) < count:
                self._arrived.clear()
                await self._arrived.wait()


class Threads:
    """The bot's messages in the question threads of the sandbox, as they change."""

    def __init__(self, trellis: RunningTrellis) -> None:
        self.sandbox = trellis.sandbox
        self.finished: list[str] = []
        """Threads (question ts) in the order their indicator was replaced."""
        self.bot = trellis.sandbox.workspace.bot.user_id
        self._unsubscribe = trellis.sandbox.workspace.subscribe(self._changed)

    def _changed(self, change: Change) -> None:
        message = change.message
        if (
            change.kind == "message_changed"
            and message is not None
            and message.bot_id
            and not message.streaming
            and THINKING not in (message.text or "")
            and message.thread_ts not in self.finished
        ):
            self.finished.append(message.thread_ts or "")

    async def ask(self, user: str, text: str) -> str:
        return await self.sandbox.post_message(user, self.bot, text)

    def replies(self, ts: str) -> list[str]:
        return [
            m.text
            for channel in list(self.sandbox.workspace.messages)
            for m in self.sandbox.messages(channel)
            if m.bot_id and m.thread_ts == ts
        ]

    def _working(self, ts: str) -> bool:
        """The thread of `ts` shows that Trellis is at work: the thinking indicator, or the
        status line over a stream that has started."""
        workspace = self.sandbox.workspace
        streams = [
            m
            for channel in list(workspace.messages)
            for m in self.sandbox.messages(channel)
            if m.bot_id and m.thread_ts == ts and m.streaming
        ]
        status = any(key[1] == ts for key in workspace.thread_status)
        return any(THINKING in t for t in self.replies(ts)) or (bool(streams) and status)

    async def thinking(self, ts: str) -> None:
        """Until the thread of `ts` shows that Trellis is at work on it."""
        await self.sandbox.wait_until(
            lambda: True if self._working(ts) else None, 10, f"thinking indicator for {ts}"
        )

    async def all_finished(self, count: int) -> None:
        await self.sandbox.wait_until(
            lambda: True if len(self.finished) >= count else None, 20, f"{count} answers"
        )


def held(answerer: HeldAnswerer) -> Callable[[Workspace], HeldAnswerer]:
    return lambda _workspace: answerer


async def waiting_questions(trellis: RunningTrellis, count: int) -> None:
    """Until the queue's metric shows `count` questions waiting for their turn."""
    registry = trellis.services.metrics.registry
    async with asyncio.timeout(10):
        while True:
            if registry.get_sample_value("trellis_questions_waiting") == count:
                return
            await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRELLIS_QUESTION_CONCURRENCY", "1")


async def test_the_thinking_indicator_is_in_the_thread_before_the_question_is_answered(tmp_path):
    answerer = HeldAnswerer()
    async with running_trellis(tmp_path, answerer_for=held(answerer)) as trellis:
        threads = Threads(trellis)
        first = await threads.ask(trellis.user(SAM), TRAIL_DAY)
        await threads.thinking(first)
        await answerer.asked_at_least(1)  # Sam's question holds the one place

        # Priya's question cannot run yet, and she already sees that Trellis is on it.
        second = await threads.ask(trellis.user(PRIYA), TENT)
        await threads.thinking(second)
        await waiting_questions(trellis, 1)
        assert answerer.asked == [TRAIL_DAY]
        assert threads.finished == []

        answerer.release.set()
        await threads.all_finished(2)
        assert threads.finished == [first, second]
        assert answerer.asked == [TRAIL_DAY, TENT]
        assert all(
            THINKING not in text for text in threads.replies(first) + threads.replies(second)
        )


async def test_a_person_sending_many_questions_cannot_keep_another_waiting(tmp_path):
    answerer = HeldAnswerer()
    async with running_trellis(tmp_path, answerer_for=held(answerer)) as trellis:
        threads = Threads(trellis)
        sam, priya = trellis.user(SAM), trellis.user(PRIYA)
        flood = [await threads.ask(sam, TRAIL_DAY)]
        await answerer.asked_at_least(1)
        for n in range(4):
            flood.append(await threads.ask(sam, TRAIL_DAY))
            await waiting_questions(trellis, n + 1)
        other = await threads.ask(priya, TENT)
        await waiting_questions(trellis, 5)

        answerer.release.set()
        await threads.all_finished(6)
        # Priya's question goes next, before the rest of Sam's, which keep their order.
        assert threads.finished == [flood[0], other, *flood[1:]]


async def test_first_come_first_served_when_nobody_crowds_the_others(tmp_path):
    answerer = HeldAnswerer()
    async with running_trellis(tmp_path, answerer_for=held(answerer)) as trellis:
        threads = Threads(trellis)
        asked = [await threads.ask(trellis.user(SAM), TRAIL_DAY)]
        await answerer.asked_at_least(1)
        for n, person in enumerate((PRIYA, LIAM)):
            asked.append(await threads.ask(trellis.user(person), TRAIL_DAY))
            await waiting_questions(trellis, n + 1)

        answerer.release.set()
        await threads.all_finished(3)
        assert threads.finished == asked


async def test_no_question_is_dropped_when_answering_fails(tmp_path):
    broken = "What is the daily meal allowance when travelling in North America?"
    answerer = HeldAnswerer(failing=[broken])
    async with running_trellis(tmp_path, answerer_for=held(answerer)) as trellis:
        threads = Threads(trellis)
        sam, liam = trellis.user(SAM), trellis.user(LIAM)
        asked = [await threads.ask(liam, broken)]
        await answerer.asked_at_least(1)
        asked += [await threads.ask(sam, TRAIL_DAY), await threads.ask(liam, TRAIL_DAY)]
        await waiting_questions(trellis, 2)

        answerer.release.set()
        await threads.all_finished(3)
        failed, *answered = (threads.replies(ts) for ts in asked)
        assert len(failed) == 1 and "Something went wrong" in failed[0]
        assert "reference" in failed[0]
        for replies in answered:
            assert len(replies) == 1 and "Trail Day" in replies[0]
        assert trellis.services.metrics.registry.get_sample_value("trellis_questions_running") == 0


async def test_questions_still_waiting_when_trellis_stops_are_kept_for_the_next_start(tmp_path):
    answerer = HeldAnswerer()
    async with running_trellis(tmp_path, answerer_for=held(answerer)) as trellis:
        threads = Threads(trellis)
        running = await threads.ask(trellis.user(SAM), TRAIL_DAY)
        await answerer.asked_at_least(1)
        waiting = await threads.ask(trellis.user(PRIYA), TENT)
        await waiting_questions(trellis, 1)

        stopping = asyncio.create_task(trellis.services.questions.close(grace=10))
        await threads.all_finished(1)
        assert threads.finished == [waiting]
        assert "Your question is kept" in threads.replies(waiting)[0]
        async with trellis.services.database.reading() as session:
            kept = await session.scalar(
                select(ReceivedQuestion.text).where(ReceivedQuestion.message_ts == waiting)
            )
        assert kept == TENT  # the next process to start answers it (handlers/recovery.py)

        answerer.release.set()  # the running question is finished before Trellis stops
        await stopping
        assert threads.finished == [waiting, running]
        assert "Trail Day" in threads.replies(running)[0]
        assert answerer.asked == [TRAIL_DAY]
