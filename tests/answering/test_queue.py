"""The question queue on its own: turns in rounds, places passed on, waiting ended on stop."""

from __future__ import annotations

import asyncio

import pytest

from app.answering.queue import QuestionQueue, at_the_model
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


class ModelAskers(Askers):
    """Questions that take their turn, wait on the model until it replies, take a place back
    and then hold it until let go."""

    def __init__(self, queue: QuestionQueue) -> None:
        super().__init__(queue)
        self.replied: dict[str, asyncio.Event] = {}
        self.back: list[str] = []

    def ask(self, asker: str, name: str) -> asyncio.Task[None]:
        self.done[name] = asyncio.Event()
        self.replied[name] = asyncio.Event()

        async def question() -> None:
            async with self.queue.turn(asker=asker):
                self.started.append(name)
                async with at_the_model():
                    await self.replied[name].wait()
                self.back.append(name)
                await self.done[name].wait()

        self.tasks[name] = asyncio.create_task(question())
        return self.tasks[name]

    async def reply(self, name: str) -> None:
        self.replied[name].set()
        await self.settle()


async def test_a_question_at_the_model_gives_its_place_and_comes_back_before_later_ones():
    metrics = Metrics()
    queue = QuestionQueue(limit=1, metrics=metrics)
    askers = ModelAskers(queue)
    for name in ("ana", "bo", "cy"):
        askers.ask(name, name)
    await askers.settle()
    # All three are at the model at once, though only one place exists.
    assert askers.started == ["ana", "bo", "cy"]
    assert queue.running == 0 and queue.at_model == 3
    assert metrics.registry.get_sample_value("trellis_questions_at_model") == 3
    await askers.reply("bo")
    assert askers.back == ["bo"] and queue.running == 1
    await askers.reply("ana")
    askers.ask("di", "di")  # arrives after Ana: waits behind her
    await askers.settle()
    assert askers.back == ["bo"] and queue.waiting == 2
    await askers.finish("bo")
    assert askers.back == ["bo", "ana"] and askers.started == ["ana", "bo", "cy"]
    await askers.finish("ana")
    assert askers.started == ["ana", "bo", "cy", "di"]
    await askers.reply("di")
    await askers.reply("cy")
    await askers.finish("di")
    await askers.finish("cy")
    assert queue.running == queue.waiting == queue.at_model == 0


async def test_no_more_than_the_model_limit_wait_on_the_model_at_once():
    metrics = Metrics()
    queue = QuestionQueue(limit=4, model_limit=2, metrics=metrics)
    askers = ModelAskers(queue)
    for n in range(5):
        askers.ask(f"p{n}", f"q{n}")
    await askers.settle()
    assert queue.at_model == 2 and queue.waiting_for_model == 3 and queue.running == 0
    assert metrics.registry.get_sample_value("trellis_questions_waiting_for_model") == 3
    await askers.reply("q0")
    await askers.reply("q1")
    assert queue.at_model == 2 and queue.waiting_for_model == 1 and queue.running == 2
    for n in range(2, 5):
        await askers.reply(f"q{n}")
    assert queue.at_model == 0 and queue.running == 4 and queue.waiting == 1
    for n in range(5):
        await askers.finish(f"q{n}")
    assert queue.running == queue.waiting == queue.waiting_for_model == 0


async def test_stopping_lets_a_question_at_the_model_come_back_and_finish():
    queue = QuestionQueue(limit=1)
    askers = ModelAskers(queue)
    askers.ask("ana", "at_model")
    await askers.settle()
    running = Askers(queue)
    running.ask("bo", "running")
    waiting = running.ask("cy", "waiting")
    await askers.settle()
    await askers.reply("at_model")  # back from the model while Bo holds the only place
    stopping = asyncio.create_task(queue.close(grace=5))
    await askers.settle()
    with pytest.raises(ShuttingDown):
        await waiting
    assert askers.back == [] and not stopping.done()
    await running.finish("running")
    assert askers.back == ["at_model"]
    askers.done["at_model"].set()
    await stopping
    assert askers.tasks["at_model"].done() and queue.running == 0


async def test_a_question_cancelled_at_the_model_gives_back_no_place():
    queue = QuestionQueue(limit=1)
    askers = ModelAskers(queue)
    gone = askers.ask("ana", "gone")
    askers.ask("bo", "other")
    await askers.settle()
    gone.cancel()
    await askers.settle()
    assert gone.cancelled() and queue.running == 0 and queue.at_model == 1
    await askers.reply("other")
    await askers.finish("other")
    assert queue.running == queue.waiting == queue.at_model == 0


async def test_outside_a_turn_waiting_on_the_model_changes_nothing():
    queue = QuestionQueue(limit=1)
    async with at_the_model():
        assert queue.running == 0 and queue.at_model == 0


async def test_a_task_outliving_its_turn_waits_on_the_model_without_touching_the_places():
    queue = QuestionQueue(limit=1)
    replied = asyncio.Event()

    async def later() -> None:
        await replied.wait()
        async with at_the_model():
            assert queue.at_model == 0

    async with queue.turn(asker="ana"):
        straggler = asyncio.create_task(later())  # inherits the turn's context
    replied.set()
    await straggler
    assert queue.running == 0 and queue.waiting == 0
