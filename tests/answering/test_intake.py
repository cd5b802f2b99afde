"""The questions kept until answered (app/answering/intake.py), on SQLite and PostgreSQL:
stored with their delivery's claim, leases renewed while answered, taken over by exactly one
process once a lease runs out, answered only by the process holding them (whose message a
process that lost one either leaves to the takeover or deletes), deleted once settled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.answering.intake import Intake, Surface
from app.db.claims import DeliveryClaims
from app.db.models.records import ReceivedQuestion
from app.db.repositories.questions import ReceivedQuestionRepository

LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def stored(database) -> int:
    async with database.session() as session:
        return (
            await session.execute(select(func.count()).select_from(ReceivedQuestion))
        ).scalar_one()


async def receive(intake: Intake, claims: DeliveryClaims, n: int) -> list[ReceivedQuestion]:
    questions = []
    for i in range(n):
        question = intake.receive(
            Surface.THREAD,
            team_id="T1",
            channel_id="D1",
            slack_user_id="U1",
            text=f"question {i}",
            message_ts=f"100.{i}",
        )
        assert await claims.claim([f"msg:D1:100.{i}"], question)
        intake.holding(question)
        questions.append(question)
    return questions


async def test_a_question_is_stored_only_with_its_first_delivery(database):
    clock = Clock()
    intake, claims = Intake(database, lease_seconds=LEASE, clock=clock), DeliveryClaims(database)
    [first] = await receive(intake, claims, 1)
    again = intake.receive(
        Surface.THREAD,
        team_id="T1",
        channel_id="D1",
        slack_user_id="U1",
        text="question 0",
        message_ts="100.0",
    )
    assert not await claims.claim(["msg:D1:100.0"], again)  # Slack's retry
    assert await stored(database) == 1


async def test_renewed_leases_are_not_taken_over_and_settled_questions_are_deleted(database):
    clock = Clock()
    claims = DeliveryClaims(database)
    answering = Intake(database, lease_seconds=LEASE, clock=clock, taker="a")
    sweeper = Intake(database, lease_seconds=LEASE, clock=clock, taker="b")
    questions = await receive(answering, claims, 3)
    for _ in range(4):  # two leases' time, renewed every third of a lease
        clock.advance(LEASE / 2)
        assert await answering.renew() == 3
        assert await sweeper.take_abandoned() == []
    answering.settle(questions[0])
    await answering.renew()
    assert await stored(database) == 2


async def test_each_abandoned_question_is_taken_over_by_exactly_one_process(database):
    clock = Clock()
    claims = DeliveryClaims(database)
    killed = Intake(database, lease_seconds=LEASE, clock=clock, taker="killed")
    questions = await receive(killed, claims, 8)
    clock.advance(LEASE + 1)  # the killed process renews nothing any more
    sweepers = [Intake(database, lease_seconds=LEASE, clock=clock, taker=t) for t in "bc"]
    taken = await asyncio.gather(*(s.take_abandoned() for s in sweepers))
    ids = [q.id for batch in taken for q in batch]
    assert sorted(ids) == sorted(q.id for q in questions)
    assert len(ids) == len(set(ids))
    assert all(q.attempts == 2 for batch in taken for q in batch)
    # Now leased to their new takers: nobody else takes them until those stop renewing.
    assert await Intake(database, lease_seconds=LEASE, clock=clock).take_abandoned() == []


async def test_a_question_given_up_is_taken_over_once_its_lease_runs_out(database):
    clock = Clock()
    intake = Intake(database, lease_seconds=LEASE, clock=clock, taker="a")
    [question] = await receive(intake, DeliveryClaims(database), 1)
    intake.give_up(question)  # e.g. the database went away mid-answer
    await intake.renew()
    clock.advance(LEASE - 1)
    assert await intake.take_abandoned() == []
    clock.advance(2)
    [again] = await intake.take_abandoned()
    assert again.id == question.id and again.text == "question 0"


async def test_only_the_process_holding_a_question_renews_its_lease_or_records_its_answer(database):
    clock = Clock()
    stalled = Intake(database, lease_seconds=LEASE, clock=clock, taker="stalled")
    [question] = await receive(stalled, DeliveryClaims(database), 1)
    clock.advance(LEASE + 1)  # its renewals did not come in time
    sweeper = Intake(database, lease_seconds=LEASE, clock=clock, taker="sweeper")
    [taken] = await sweeper.take_abandoned()
    assert await stalled.renew() == 0  # not the sweeper's lease, and no longer in hand
    assert not await stalled.holds(question) and await sweeper.holds(taken)
    clock.advance(LEASE / 2)
    assert await stalled.renew() == 0 and await sweeper.renew() == 1
    async with database.session() as session:
        questions = ReceivedQuestionRepository(session)
        assert not await questions.recorded(
            question.id, "audit-1", taken_by="stalled", shown_ts="1.1"
        )
        assert await questions.recorded(question.id, "audit-2", taken_by="sweeper", shown_ts="1.2")
        assert not await questions.recorded(
            question.id, "audit-3", taken_by="sweeper", shown_ts=None
        )
    async with database.session() as session:
        row = await ReceivedQuestionRepository(session).get(question.id)
        assert row is not None and (row.audit_id, row.shown_ts) == ("audit-2", "1.2")


async def test_a_question_read_before_its_answer_was_recorded_is_not_taken_over(database):
    """A sweep that read the question before its holder recorded the answer (the lease had
    just run out) does not take it over as unanswered; the next sweep sees it answered."""
    clock = Clock()
    holder = Intake(database, lease_seconds=LEASE, clock=clock, taker="holder")
    [question] = await receive(holder, DeliveryClaims(database), 1)
    clock.advance(LEASE + 1)
    now = clock()
    async with database.reading() as session:
        [read] = await ReceivedQuestionRepository(session).abandoned(now=now, limit=10)
    async with database.session() as session:
        assert await ReceivedQuestionRepository(session).recorded(
            question.id, "audit-1", taken_by="holder", shown_ts="1.1"
        )
    async with database.session() as session:
        assert not await ReceivedQuestionRepository(session).take(
            read, taken_by="sweeper", now=now, until=now + timedelta(seconds=LEASE)
        )
    [taken] = await Intake(database, lease_seconds=LEASE, clock=clock).take_abandoned()
    assert (taken.audit_id, taken.shown_ts) == ("audit-1", "1.1")


async def test_a_message_is_either_answered_in_by_the_takeover_or_withdrawn_by_its_poster(database):
    """The message a process posted for a question it then lost is answered in by the
    process that took the question over (it found it first) or deleted by its poster
    (withdrawn first): never both, never neither."""
    clock = Clock()
    stalled = Intake(database, lease_seconds=LEASE, clock=clock, taker="stalled")
    adopted, withdrawn = await receive(stalled, DeliveryClaims(database), 2)
    clock.advance(LEASE + 1)
    sweeper = Intake(database, lease_seconds=LEASE, clock=clock, taker="sweeper")
    taken = {q.id: q for q in await sweeper.take_abandoned()}

    assert await sweeper.adopt(taken[adopted.id], "1.1")  # found first
    assert not await stalled.withdraw(adopted, "1.1")  # so it stays

    assert await stalled.withdraw(withdrawn, "2.1")  # withdrawn first: to be deleted
    assert not await sweeper.adopt(taken[withdrawn.id], "2.1")  # so not answered in
    assert await sweeper.shown_in(taken[withdrawn.id], "2.2")  # the sweeper's own
    assert not await stalled.shown_in(withdrawn, "2.3")  # the lost process names nothing
    assert await stalled.withdraw(withdrawn, "2.3")  # another message is named: deleted
