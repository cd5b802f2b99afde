"""Claims on Slack deliveries, written together.

A delivery (an event, a message) is claimed before anything is posted for it, so Slack's
retry of it, or a second event about the same message, finds it taken, on this replica or
another. A burst of questions would otherwise be a burst of tiny write transactions, each
waiting its turn for the database's write lock (on SQLite, one writer at a time). Here the
claims that arrive while one transaction is being written are written together in the
next: one transaction, one statement, however many are waiting. A claim is only answered
once its transaction is committed. A question's claim stores the question in the same
transaction (app/answering/intake.py), so a delivery is never taken on without its question
being kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.db.models.records import ReceivedQuestion
from app.db.repositories.questions import ReceivedQuestionRepository
from app.db.repositories.records import HandledEventRepository
from app.db.session import Database

_Claim = tuple[tuple[str, ...], ReceivedQuestion | None, asyncio.Future[bool]]


class DeliveryClaims:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._waiting: list[_Claim] = []
        self._writing = asyncio.Lock()

    async def claim(self, keys: Sequence[str], question: ReceivedQuestion | None = None) -> bool:
        """True, once committed, when none of these keys was claimed before (the first
        delivery of this event and this message), and then `question` is stored with the
        claim; False otherwise."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((tuple(keys), question, future))
        async with self._writing:
            if not future.done():
                batch, self._waiting = self._waiting, []
                # Shielded: the others in the batch are answered even if this claimer is
                # cancelled.
                await asyncio.shield(self._write(batch))
        return await future

    async def _write(self, batch: list[_Claim]) -> None:
        try:
            async with self._database.session(urgent=True) as session:
                fresh = await HandledEventRepository(session).claim_each([k for k, _, _ in batch])
                questions = [q for (_, q, _), first in zip(batch, fresh, strict=True) if first]
                if kept := [q for q in questions if q is not None]:
                    await ReceivedQuestionRepository(session).add(kept)
        except Exception as error:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        except BaseException:
            for _, _, future in batch:
                future.cancel()
            raise
        for (_, _, future), first in zip(batch, fresh, strict=True):
            if not future.done():
                future.set_result(first)
