"""The question queue on its own: turns in rounds, places passed on, waiting ended on stop."""

from __future__ import annotations

import asyncio

import pytest

from app.answering.queue import QuestionQueue
from app.errors import ShuttingDown
from app.trust.metrics import Metrics


class Askers:
    """Questions that take their turn and then hold their place until let go."""

    def __init__(self, queue: QuestionQueue) -> None:
        self.queue = queue
        self.started: list[str] = []
        self.done: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def ask(self, asker: str, name: str) -> asyncio.Task[None]:
        self.done[name] = asyncio.Event()

        async def question() -> None:
            async with self.queue.turn(asker=asker):
                self.started.append(name)
                await self.done[name].wait()

        self.tasks[name] = asyncio.create_task(question())
        return self.tasks[name]

    async def settle(self) -> None:
        for _ in range(5):
            await asyncio.sleep(0)

    async def finish(self, name: str) -> None:
        self.done[name].set()
        await self.tasks[name]
        await self.settle()


async def test_with_two_places_a_flood_is_answered_one_per_round_beside_the_others():
    askers = Askers(QuestionQueue(limit=2))
    for n in range(6):
        askers.ask("ana", f"ana{n}")
    await askers.settle()
    askers.ask("bo", "bo0")
    askers.ask("cy", "cy0")
    await askers.settle()
    assert askers.started == ["ana0", "ana1"]
    order = ["ana0", "ana1", "bo0", "cy0", "ana2", "ana3", "ana4", "ana5"]
    for name in order:
        await askers.finish(name)
    # Ana already had two questions running: Bo and Cy each go before her third.
    assert askers.started == order


async def test_a_question_that_stops_waiting_gives_up_its_place():
    metrics = Metrics()
    askers = Askers(QuestionQueue(limit=1, metrics=metrics))
    askers.ask("ana", "first")
    gone, last = askers.ask("bo", "gone"), askers.ask("cy", "last")
    await askers.settle()
    assert metrics.registry.get_sample_value("trellis_questions_waiting") == 2
    gone.cancel()
    await askers.settle()
    assert metrics.registry.get_sample_value("trellis_questions_waiting") == 1
    await askers.finish("first")
    assert askers.started == ["first", "last"]
    await askers.finish("last")
    assert gone.cancelled() and last.done()
    assert metrics.registry.get_sample_value("trellis_questions_running") == 0
    assert metrics.registry.get_sample_value("trellis_question_wait_seconds_count") == 3


async def test_a_place_handed_over_as_its_question_gives_up_goes_to_the_next():
    queue = QuestionQueue(limit=1)
    askers = Askers(queue)
    async with queue.turn(asker="ana"):
        gone = askers.ask("bo", "gone")
        askers.ask("cy", "last")
        await askers.settle()
    gone.cancel()  # its place was handed over as the block above ended, before it ran
    await askers.settle()
    assert askers.started == ["last"]
    await askers.finish("last")
    assert queue.running == 0 and queue.waiting == 0


async def test_stopping_tells_the_waiting_questions_and_lets_the_running_one_finish():
    queue = QuestionQueue(limit=1)
    askers = Askers(queue)
    askers.ask("ana", "running")
    waiting = askers.ask("bo", "waiting")
    await askers.settle()
    stopping = asyncio.create_task(queue.close(grace=5))
    await askers.settle()
    with pytest.raises(ShuttingDown):
        await waiting
    with pytest.raises(ShuttingDown):
        async with queue.turn(asker="cy"):
            pass
    assert not stopping.done()
    askers.done["running"].set()
    await stopping
    assert askers.tasks["running"].done() and askers.started == ["running"]
