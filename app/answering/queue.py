"""Whose question is answered next, and how many at once.

At most `limit` questions run the pipeline at the same time in one process; the others
wait their turn. Turns go in rounds: a question joins the current round, unless its asker
already has one running or waiting, and then the round after that one. A free place goes
to the earliest round, and within a round to the question that has waited longest. A
person who sends twenty questions at once has them answered one per round, so everyone
else's question waits behind at most one of theirs; when nobody crowds anyone, questions
are answered first come, first served. Each person's own questions keep their order. When
nobody is waiting and a place is free, a question starts at once.

    async with questions.turn(asker="T0123:U0456"):
        outcome = await answer_question(services, question)

The places limit the work that needs this process's CPU, not the waiting on a model. Where
the chain waits for a model's answer it says so (`app/answering/compose.py`):

    async with at_the_model():
        answer = await answerer.answer(question=..., passages=...)

and for that time its place goes to the next question. At most `model_limit` questions
are at the model at once (the others wait for one of those slots, holding no place), so
a burst never opens more connections than that. When the model has replied, the question
takes a place again before it goes on. It comes back with the round and the arrival it
first had, as if it had never left: it goes before every question that arrived after it
did, which in practice puts it at the front of the line. Going to the back instead would
make a question wait in line a second time, behind everything that arrived while the
model was writing; the rounds are still kept, because the question that comes back was
already its asker's turn. A question comes back at most once per model
call, so those that come back cannot starve the new ones. The turn is found through a
context variable, so the code that calls the model needs no handle on the queue; outside a
turn (the CLI, evals) `at_the_model()` does nothing.

The numbers waiting, running, at the model and waiting for a model slot, and every wait
for a first place, go to the metrics. `close()` ends the waiting of questions that have
not started (each gets `ShuttingDown`, so its asker is told); those that started, at the
model or coming back from it included, keep their places and are given time to finish.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from app.errors import ShuttingDown
from app.trust.metrics import Metrics

DEFAULT_CONCURRENCY = 4
DEFAULT_MODEL_CONCURRENCY = 64
STOPPING = (
    "Trellis is restarting and did not get to your question. Please ask it again in a minute."
)

_Waiter = tuple[int, int, bool, asyncio.Future[None]]
"""A question waiting for a place: its round, when it was asked (a sequence number),
whether it is coming back from the model, and the future its place is handed over by."""


@dataclass(eq=False)
class _Turn:
    """One question's turn, from its first place to its end."""

    queue: QuestionQueue
    asker: str
    round: int
    arrival: int
    holding: bool = True
    """Whether it holds one of the places (not while it is at the model)."""
    away: int = 0
    """Model calls under way (more than one only when the chain calls the model from
    several tasks at once)."""
    over: bool = False
    """The turn has ended (a task it started may still be running, with its context)."""


_current: ContextVar[_Turn | None] = ContextVar("trellis_question_turn", default=None)


@asynccontextmanager
async def at_the_model() -> AsyncIterator[None]:
    """Wait on the model without holding a place (see the module docstring); take one back
    after. A no-op outside a question's turn."""
    turn = _current.get()
    if turn is None or turn.over:
        yield
        return
    async with turn.queue._at_the_model(turn):
        yield


class QuestionQueue:
    def __init__(
        self,
        *,
        limit: int = DEFAULT_CONCURRENCY,
        model_limit: int = DEFAULT_MODEL_CONCURRENCY,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or model_limit < 1:
            raise ValueError("at least one question must be able to run and ask the model")
        self.limit = limit
        self.model_limit = model_limit
        self.running = 0
        self.waiting = 0
        self.at_model = 0
        self.waiting_for_model = 0
        self._metrics = metrics
        self._clock = clock
        self._queue: list[_Waiter] = []  # a heap: the earliest round, then the longest wait
        self._arrivals = itertools.count()
        self._round = 0
        """The round of the question that started last."""
        self._asked: Counter[str] = Counter()
        """Each person's questions running, at the model or waiting."""
        self._last_round: dict[str, int] = {}
        """The round of each person's latest question, while they have one running or waiting."""
        self._model_slots = asyncio.Semaphore(model_limit)
        self._tasks: set[asyncio.Task[object]] = set()
        self._closed = False

    @asynccontextmanager
    async def turn(self, *, asker: str) -> AsyncIterator[None]:
        """Wait for `asker`'s turn, then hold one of the `limit` places until the block ends
        (except while the block is `at_the_model()`)."""
        self._follow(asyncio.current_task())
        turn = await self._take(asker)
        token = _current.set(turn)
        try:
            yield
        finally:
            _current.reset(token)
            turn.over = True
            if turn.holding:
                self.running -= 1
            self._exit(asker)
            self._hand_on()

    async def close(self, *, grace: float = 30.0) -> None:
        """Take no more questions, tell the ones waiting for their first place, and wait up to
        `grace` seconds for every question that had a place or was waiting to be finished
        (answered or told)."""
        self._closed = True
        kept: list[_Waiter] = []
        for waiter in self._queue:
            future = waiter[3]
            if future.done():
                continue
            if waiter[2]:
                kept.append(waiter)  # back from the model: its answer is nearly done
            else:
                future.set_exception(ShuttingDown(STOPPING))
        heapq.heapify(kept)
        self._queue = kept
        self.waiting = len(kept)
        self._measure()
        others = self._tasks - {asyncio.current_task()}
        if others:
            await asyncio.wait(others, timeout=grace)

    # --- the first place ---------------------------------------------------------------------

    async def _take(self, asker: str) -> _Turn:
        if self._closed:
            raise ShuttingDown(STOPPING)
        round_ = self._enter(asker)
        turn = _Turn(self, asker, round_, next(self._arrivals))
        if self.running < self.limit and not self.waiting:
            self._start(round_)
            self._observe_wait(0.0)
            return turn
        started = self._clock()
        try:
            await self._wait_for_place(turn, returning=False)
        except BaseException:
            self._exit(asker)
            self._measure()
            raise
        finally:
            self._observe_wait(self._clock() - started)
        return turn

    async def _wait_for_place(self, turn: _Turn, *, returning: bool) -> None:
        """Join the line with `turn`'s round and arrival; hand places on; wait for one."""
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (turn.round, turn.arrival, returning, future))
        self.waiting += 1
        self._hand_on()  # a place may be free, and this question first in line for it
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled() and future.exception() is None:
                self.running -= 1  # the place came just as the asker gave up: pass it on
                self._hand_on()
            elif future.cancelled():
                self.waiting -= 1  # still in the heap; `_hand_on` skips it
                self._measure()
            raise

    def _enter(self, asker: str) -> int:
        """The round of `asker`'s new question: the current one, or the one after theirs."""
        if self._asked[asker]:
            round_ = max(self._last_round[asker] + 1, self._round)
        else:
            round_ = self._round
        self._asked[asker] += 1
        self._last_round[asker] = round_
        return round_

    def _exit(self, asker: str) -> None:
        self._asked[asker] -= 1
        if self._asked[asker] <= 0:
            del self._asked[asker]
            del self._last_round[asker]

    def _start(self, round_: int) -> None:
        self.running += 1
        self._round = max(self._round, round_)

    def _hand_on(self) -> None:
        while self.running < self.limit and self._queue:
            round_, _, _, future = heapq.heappop(self._queue)
            if future.done():
                continue  # its asker stopped waiting
            future.set_result(None)
            self.waiting -= 1
            self._start(round_)
        self._measure()

    # --- at the model ------------------------------------------------------------------------

    @asynccontextmanager
    async def _at_the_model(self, turn: _Turn) -> AsyncIterator[None]:
        turn.away += 1
        if turn.holding:
            turn.holding = False
            self.running -= 1
            self._hand_on()
        try:
            self.waiting_for_model += 1
            self._measure()
            try:
                await self._model_slots.acquire()
            finally:
                self.waiting_for_model -= 1
            self.at_model += 1
            self._measure()
            try:
                yield
            finally:
                self.at_model -= 1
                self._model_slots.release()
                self._measure()
        except asyncio.CancelledError:
            turn.away -= 1  # cancelled: the turn ends without a place to give back
            raise
        except BaseException:
            await self._come_back(turn)
            raise
        await self._come_back(turn)

    async def _come_back(self, turn: _Turn) -> None:
        turn.away -= 1
        if turn.away or turn.holding:
            return
        await self._wait_for_place(turn, returning=True)
        turn.holding = True

    # --- bookkeeping -------------------------------------------------------------------------

    def _follow(self, task: asyncio.Task[object] | None) -> None:
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _measure(self) -> None:
        if self._metrics is not None:
            self._metrics.questions_waiting.set(self.waiting)
            self._metrics.questions_running.set(self.running)
            self._metrics.questions_at_model.set(self.at_model)
            self._metrics.questions_waiting_for_model.set(self.waiting_for_model)

    def _observe_wait(self, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.question_wait_seconds.observe(max(seconds, 0.0))
            self._measure()
