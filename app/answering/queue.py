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

The number waiting, the number running and every wait go to the metrics. `close()` ends
the waiting (each waiting question gets `ShuttingDown`, so its asker is told) and gives
the running ones time to finish.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from app.errors import ShuttingDown
from app.trust.metrics import Metrics

DEFAULT_CONCURRENCY = 4
STOPPING = (
    "Trellis is restarting and did not get to your question. Please ask it again in a minute."
)

_Waiter = tuple[int, int, asyncio.Future[None]]
"""A question waiting for its turn: its round, when it started waiting (a sequence number),
and the future its place is handed over by."""


class QuestionQueue:
    def __init__(
        self,
        *,
        limit: int = DEFAULT_CONCURRENCY,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("at least one question must be able to run")
        self.limit = limit
        self.running = 0
        self.waiting = 0
        self._metrics = metrics
        self._clock = clock
        self._queue: list[_Waiter] = []  # a heap: the earliest round, then the longest wait
        self._arrivals = itertools.count()
        self._round = 0
        """The round of the question that started last."""
        self._asked: Counter[str] = Counter()
        """Each person's questions running or waiting."""
        self._last_round: dict[str, int] = {}
        """The round of each person's latest question, while they have one running or waiting."""
        self._tasks: set[asyncio.Task[object]] = set()
        self._closed = False

    @asynccontextmanager
    async def turn(self, *, asker: str) -> AsyncIterator[None]:
        """Wait for `asker`'s turn, then hold one of the `limit` places until the block ends."""
        self._follow(asyncio.current_task())
        await self._take(asker)
        try:
            yield
        finally:
            self._leave(asker)

    async def close(self, *, grace: float = 30.0) -> None:
        """Take no more questions, tell the waiting ones, and wait up to `grace` seconds for
        every question that had a place or was waiting to be finished (answered or told)."""
        self._closed = True
        for _, _, future in self._queue:
            if not future.done():
                future.set_exception(ShuttingDown(STOPPING))
        self._queue.clear()
        self.waiting = 0
        self._measure()
        others = self._tasks - {asyncio.current_task()}
        if others:
            await asyncio.wait(others, timeout=grace)

    async def _take(self, asker: str) -> None:
        if self._closed:
            raise ShuttingDown(STOPPING)
        round_ = self._enter(asker)
        if self.running < self.limit and not self.waiting:
            self._start(round_)
            self._observe_wait(0.0)
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (round_, next(self._arrivals), future))
        self.waiting += 1
        self._measure()
        started = self._clock()
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._leave(asker)  # the place came just as the asker gave up: pass it on
            else:
                if future.cancelled():
                    self.waiting -= 1  # still in the heap; `_hand_on` skips it
                self._exit(asker)
                self._measure()
            raise
        finally:
            self._observe_wait(self._clock() - started)

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

    def _leave(self, asker: str) -> None:
        self.running -= 1
        self._exit(asker)
        self._hand_on()

    def _hand_on(self) -> None:
        while self.running < self.limit and self._queue:
            round_, _, future = heapq.heappop(self._queue)
            if future.done():
                continue  # its asker stopped waiting
            future.set_result(None)
            self.waiting -= 1
            self._start(round_)
        self._measure()

    def _follow(self, task: asyncio.Task[object] | None) -> None:
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _measure(self) -> None:
        if self._metrics is not None:
            self._metrics.questions_waiting.set(self.waiting)
            self._metrics.questions_running.set(self.running)

    def _observe_wait(self, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.question_wait_seconds.observe(max(seconds, 0.0))
            self._measure()
