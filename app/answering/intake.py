"""No question is lost: each is stored before anything is shown for it, and kept until its
asker has an answer or has been told to ask again.

    received = services.intake.receive(Surface.THREAD, ...)   # stored with the delivery's claim
    ... answered: the audit record marks it (Question.received_id)
    ... shown:    services.intake.settle(received)

The process answering a question holds a lease on it and renews it while it works (`renew`,
a few times per lease; a lease taken over is not renewed). When the process dies (kill -9,
a crash, a lost host) or gives a question up (the database went away mid-answer, the
process is stopping), the lease runs out and a sweep on any replica (`take_abandoned`, at
start and then periodically) takes the question over, and it is answered in the message
that showed its progress. A question whose answer was recorded but perhaps not shown gets
the recorded answer; one that has been tried `MAX_ATTEMPTS` times gets an apology asking
for it again.

Only the process holding a question's lease may record its answer (a compare-and-set on
the holder, in the transaction that records it): a process whose lease ran out while it
worked (it stalled, or its renewals failed) and whose question was taken over finds it
taken (`QuestionTakenOver`) and shows nothing more for it. Recording names the message that
shows the answer; from then on a takeover shows the recorded answer in that same message
(an edit, however often it is made), so an answer recorded and then taken over is still
shown once, by either process. The message a process posted for a question before losing
it is withdrawn (`withdraw`) unless the takeover found it first and answers in it
(`adopt`): the two are decided by one compare-and-set on the question's `shown_ts`.

Settling costs no write of its own: settled questions are deleted together, with the
renewal of the others' leases. A process that dies in between leaves settled questions
behind; a takeover then shows their recorded answers once more, unchanged. Nothing of a
question outlives its settling: the audit record and answer records are what remain, as
for any question.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import structlog

from app.db.models.records import ReceivedQuestion
from app.db.repositories.questions import ReceivedQuestionRepository
from app.db.repositories.records import AnswerRepository
from app.db.session import Database

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 3
"""Tries at a question (the first and two takeovers) before its asker is told to ask again."""


class Surface(StrEnum):
    """Where the question was asked, so a takeover answers it in the same place."""

    THREAD = "thread"  # a mention, a DM, a follow-up: answered in the thread
    STREAM = "stream"  # the assistant view: answered in its thread
    COMMAND = "command"  # /trellis ask: answered privately through the response URL


class Intake:
    def __init__(
        self,
        database: Database,
        *,
        lease_seconds: float,
        clock: Callable[[], datetime],
        taker: str | None = None,
    ) -> None:
        self.database = database
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock
        self.taker = taker or f"process-{uuid.uuid4().hex[:12]}"
        self._in_hand: set[str] = set()
        """Questions this process is answering now: the ones whose leases it renews."""
        self._settled: set[str] = set()
        """Questions answered (or their askers told) since the last `renew`."""

    def receive(
        self,
        surface: Surface,
        *,
        team_id: str,
        channel_id: str,
        slack_user_id: str,
        text: str,
        message_ts: str | None,
        thread_ts: str | None = None,
        audience_channel_id: str | None = None,
        response_url: str | None = None,
    ) -> ReceivedQuestion:
        """A question to store with its delivery's claim (`DeliveryClaims.claim`), leased to
        this process."""
        now = self.clock()
        return ReceivedQuestion(
            id=str(uuid.uuid4()),
            surface=surface.value,
            team_id=team_id,
            channel_id=channel_id,
            audience_channel_id=audience_channel_id,
            slack_user_id=slack_user_id,
            text=text,
            message_ts=message_ts,
            thread_ts=thread_ts,
            response_url=response_url,
            received_at=now,
            attempts=1,
            taken_by=self.taker,
            taken_until=now + self.lease,
        )

    def holding(self, question: ReceivedQuestion) -> None:
        """This process answers `question` now (it was stored, or taken over)."""
        self._in_hand.add(question.id)

    def give_up(self, question: ReceivedQuestion) -> None:
        """Stop renewing `question`'s lease: once it runs out, the sweep takes it over."""
        self._in_hand.discard(question.id)

    def settle(self, question: ReceivedQuestion) -> None:
        """Its asker has an answer, or has been told to ask again (deleted at the next
        `renew`)."""
        self._in_hand.discard(question.id)
        self._settled.add(question.id)

    async def renew(self) -> int:
        """Delete the settled questions and extend the leases of the ones in hand; the
        number renewed. Those another process took over are no longer in hand. A database
        that cannot be reached raises, and nothing is lost: the next call does it all."""
        settled, in_hand = sorted(self._settled), sorted(self._in_hand)
        if not settled and not in_hand:
            return 0
        async with self.database.session() as session:
            questions = ReceivedQuestionRepository(session)
            if settled:
                await questions.settle(settled)
            until = self.clock() + self.lease
            renewed = await questions.renew(in_hand, taken_by=self.taker, until=until)
            if renewed < len(in_hand):
                lost = set(in_hand) - await questions.held(in_hand, taken_by=self.taker)
                self._in_hand.difference_update(lost)
                log.warning("question_leases_lost", questions=len(lost))
        self._settled.difference_update(settled)
        return renewed

    async def holds(self, question: ReceivedQuestion) -> bool:
        """Whether this process still holds `question`: a read, to post nothing for a
        question already taken over; what decides is the recording's compare-and-set."""
        async with self.database.reading() as session:
            stored = await ReceivedQuestionRepository(session).get(question.id)
            return stored is not None and stored.taken_by == self.taker

    async def shown_in(self, question: ReceivedQuestion, ts: str) -> bool:
        """Name `ts`, posted by this process, the message showing `question`'s progress;
        False when another process took the question over (then `withdraw` it)."""
        async with self.database.session() as session:
            return await ReceivedQuestionRepository(session).shown_in(
                question.id, ts, taken_by=self.taker
            )

    async def adopt(self, question: ReceivedQuestion, ts: str) -> bool:
        """Answer a question taken over in the message `ts` found in its thread, unless the
        process that posted it withdrew it first (or another message was named)."""
        async with self.database.session() as session:
            adopted = await ReceivedQuestionRepository(session).shown_in(
                question.id, ts, taken_by=self.taker, unnamed=True
            )
        if adopted:
            question.shown_ts = ts
        return adopted

    async def withdraw(self, question: ReceivedQuestion, ts: str) -> bool:
        """For a question another process took over: whether this process's message `ts`
        is to be deleted, because no process answers in it (the one that took it over
        did not adopt it first, `adopt`)."""
        async with self.database.session() as session:
            questions = ReceivedQuestionRepository(session)
            if await questions.withdraw(question.id):
                return True
            stored = await questions.get(question.id)
            if stored is not None:
                return stored.shown_ts != ts
            # Settled since: the message stays if the answer was recorded in it.
            answer = await AnswerRepository(session).by_message(question.channel_id, ts)
            return answer is None

    async def take_abandoned(self, *, limit: int = 50) -> Sequence[ReceivedQuestion]:
        """Questions whose leases ran out, taken over by this process (each by one process
        only, however many sweep at once), the least tried first, then the oldest."""
        now = self.clock()
        taken: list[ReceivedQuestion] = []
        async with self.database.session() as session:
            questions = ReceivedQuestionRepository(session)
            for question in await questions.abandoned(now=now, limit=limit):
                if question.id in self._in_hand:  # still being answered here (its lease
                    continue  # ran out while the database was away)
                if await questions.take(
                    question, taken_by=self.taker, now=now, until=now + self.lease
                ):
                    taken.append(question)
        for question in taken:  # no longer in a session: these changes stay in memory
            question.attempts += 1
            question.taken_by = self.taker
            self.holding(question)
        if taken:
            log.info("questions_taken_over", questions=len(taken))
        return taken
