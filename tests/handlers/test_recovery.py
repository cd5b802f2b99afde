"""The sweep that takes over abandoned questions (handlers/recovery.py), against the sandbox:
it finds the message showing a question's progress however long the thread (reading
Slack's pages of at most 15 replies), settles a question Slack will never let it answer
(recorded, and its asker told), counts tries before calling Slack, lets none of those
hold the other questions back, and never edits a stream Slack keeps streaming."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.answering.intake import MAX_ATTEMPTS, Surface
from app.db.models.records import AuditRecord, PostedAnswer, ReceivedQuestion
from app.pipeline import Question, answer_question
from handlers import recovery
from handlers.deleted import deleted_key
from handlers.views import answers
from tests.approval_helpers import Clock
from tests.harness import RunningTrellis, running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"
KENJI = "kenji.watanabe@northwind.example"
QUESTION = "When is Trail Day in 2026?"


async def kept(
    trellis: RunningTrellis,
    channel: str,
    ts: str,
    *,
    thread_ts: str | None = None,
    attempts: int = 1,
    text: str = QUESTION,
) -> ReceivedQuestion:
    """A question stored as Trellis stores one it received, by a process that then stopped."""
    services = trellis.services
    question = services.intake.receive(
        Surface.THREAD,
        team_id=trellis.sandbox.workspace.team.id,
        channel_id=trellis.channel(channel),
        slack_user_id=trellis.user(SAM),
        text=text,
        message_ts=ts,
        thread_ts=thread_ts,
    )
    question.attempts = attempts
    assert await services.claims.claim([f"msg:{question.channel_id}:{ts}"], question)
    return question


async def stored(trellis: RunningTrellis) -> int:
    await trellis.services.intake.renew()  # deletes the settled ones
    async with trellis.services.database.session() as session:
        count = select(func.count()).select_from(ReceivedQuestion)
        return (await session.execute(count)).scalar_one()


async def unanswered(trellis: RunningTrellis) -> dict[str, str]:
    async with trellis.services.database.session() as session:
        found = select(AuditRecord).where(AuditRecord.kind == "question.unanswered")
        return {r.channel_id: r.payload["reason"] for r in (await session.execute(found)).scalars()}


async def left_streaming(trellis: RunningTrellis, channel: str, thread_ts: str) -> str:
    """A stream in the thread `thread_ts`, as a process that stopped while streaming the
    answer leaves it; its ts."""
    return await trellis.services.gateway.start_stream(
        channel=channel,
        thread_ts=thread_ts,
        markdown_text="Trail Day in 2026 is on",
        recipient_user_id=trellis.user(SAM),
        recipient_team_id=trellis.sandbox.workspace.team.id,
    )


def refuse_every_stop(trellis: RunningTrellis, how: str) -> None:
    """Slack refuses every chat.stopStream: rate limited (the client's retries too), or
    with an error of its own; the message keeps streaming."""
    if how == "rate_limited":
        trellis.sandbox.rate_limit("chat.stopStream", times=100, retry_after=0)
    else:
        trellis.sandbox.fail("chat.stopStream", times=100, status=200, error=how)


def edits_of(trellis: RunningTrellis, ts: str) -> list[str | None]:
    """Slack's answers to every chat.update of the message `ts` (None: done)."""
    updates = trellis.sandbox.calls_to("chat.update")
    return [c.response.get("error") for c in updates if c.params.get("ts") == ts]


async def test_a_follow_up_deep_in_a_long_thread_is_answered_in_its_own_indicator(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        sam, kenji = trellis.user(SAM), trellis.user(KENJI)
        parent = await sandbox.post_message(kenji, support, "Planning the spring events")
        for i in range(54):
            await sandbox.post_message(kenji, support, f"note {i}", thread_ts=parent)
        ts = await sandbox.post_message(sam, support, QUESTION, thread_ts=parent)
        await kept(trellis, "support", ts, thread_ts=parent)
        indicator = await trellis.services.gateway.post(
            channel=support,
            thread_ts=parent,
            text=answers.THINKING,
            blocks=answers.thinking_blocks(question_ts=ts),
        )
        for i in range(5):
            await sandbox.post_message(kenji, support, f"later {i}", thread_ts=parent)

        clock.advance(seconds=31)  # the lease ran out
        assert await recovery.answer_abandoned(trellis.services) == 1

        assert [m.ts for m in trellis.bot_replies("support", parent)] == [indicator]
        shown = trellis.bot_replies("support", parent)[0]
        assert answers.THINKING not in shown_text(shown)
        # Sam's question is settled; Kenji's later messages in the thread are follow-ups
        # Trellis may still be answering, so only this question is looked at.
        assert not await still_stored(trellis, ts)


async def test_a_colleague_mentioned_by_id_is_read_by_name_when_taken_over(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        support, kenji = trellis.channel("support"), trellis.user(KENJI)
        asked = f"Did <@{kenji}> plan it? {QUESTION}"
        ts = await trellis.sandbox.post_message(trellis.user(SAM), support, asked)
        # Stored as Trellis stores it: the mention read as the id alone.
        await kept(trellis, "support", ts, text=f"Did @{kenji} plan it? {QUESTION}")

        clock.advance(seconds=31)  # the lease ran out
        assert await recovery.answer_abandoned(trellis.services) == 1

        async with trellis.services.database.reading() as session:
            found = select(PostedAnswer).where(PostedAnswer.thread_ts == ts)
            [answer] = (await session.execute(found)).scalars()
        assert answer.question == f"Did @Kenji Watanabe plan it? {QUESTION}"


async def test_a_question_deleted_before_it_was_taken_over_is_settled_not_answered(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        support = trellis.channel("support")
        ts = await trellis.sandbox.post_message(trellis.user(SAM), support, QUESTION)
        await kept(trellis, "support", ts)
        # Its asker deleted it; the process that heard of it recorded the deletion.
        assert await trellis.services.claims.claim([deleted_key(support, ts)])

        clock.advance(seconds=31)  # the lease ran out
        assert await recovery.answer_abandoned(trellis.services) == 1
        assert trellis.bot_replies("support", ts) == []
        assert not await still_stored(trellis, ts)


async def still_stored(trellis: RunningTrellis, message_ts: str) -> bool:
    await trellis.services.intake.renew()  # deletes the settled ones
    async with trellis.services.database.session() as session:
        count = (
            select(func.count())
            .select_from(ReceivedQuestion)
            .where(ReceivedQuestion.message_ts == message_ts)
        )
        return bool((await session.execute(count)).scalar_one())


async def test_questions_slack_will_never_let_trellis_answer_are_settled_not_retried(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        sandbox, ws = trellis.sandbox, trellis.sandbox.workspace
        sam = trellis.user(SAM)
        in_support = await sandbox.post_message(sam, trellis.channel("support"), QUESTION)
        in_general = await sandbox.post_message(sam, trellis.channel("general"), QUESTION)
        tried_out = await sandbox.post_message(sam, trellis.channel("help-trellis"), QUESTION)
        await kept(trellis, "support", in_support)
        await kept(trellis, "general", in_general)
        await kept(trellis, "help-trellis", tried_out, attempts=MAX_ATTEMPTS + 1)
        ws.conversations[trellis.channel("support")].members.remove(ws.bot.user_id)
        calls_before = len(ws.calls)

        clock.advance(seconds=31)
        assert await recovery.answer_abandoned(trellis.services) == 3

        # The question in #general is answered as usual.
        assert trellis.bot_replies("general", in_general)
        # Trellis was removed from #support: the question is settled, the reason recorded,
        # and Sam told directly.
        assert await unanswered(trellis) == {
            trellis.channel("support"): "not_in_channel",
            trellis.channel("help-trellis"): recovery.EXHAUSTED,
        }
        told = [m.text for m in sandbox.messages(trellis.dm_with(SAM))]
        assert any("can no longer reply where you asked it" in t for t in told)
        assert any("could not finish it" in t for t in told)
        # The question tried too often was settled before any call about it to Slack.
        about_it = [c for c in ws.calls[calls_before:] if tried_out in str(c.params)]
        assert about_it == []
        assert await stored(trellis) == 0

        clock.advance(seconds=31)
        assert await recovery.answer_abandoned(trellis.services) == 0


STOP_REFUSALS = ["rate_limited", "messaging_processing_failed"]


@pytest.mark.parametrize("how", STOP_REFUSALS)
async def test_a_stream_slack_will_not_stop_is_left_and_the_answer_posted_below_it(tmp_path, how):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        support = trellis.channel("support")
        ts = await trellis.sandbox.post_message(trellis.user(SAM), support, QUESTION)
        await kept(trellis, "support", ts)
        stream = await left_streaming(trellis, support, ts)
        refuse_every_stop(trellis, how)

        clock.advance(seconds=31)
        assert await recovery.answer_abandoned(trellis.services) == 1

        # Slack refuses to edit a message while it streams: it is not asked to.
        assert edits_of(trellis, stream) == []
        left, answer = trellis.bot_replies("support", ts)
        assert left.ts == stream and left.streaming
        assert not answer.streaming and "Confidence:" in shown_text(answer)
        assert answers.THINKING not in shown_text(answer)
        assert await stored(trellis) == 0


@pytest.mark.parametrize("how", STOP_REFUSALS)
async def test_an_answer_recorded_in_a_stream_slack_will_not_stop_is_posted_below_it(tmp_path, how):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        support = trellis.channel("support")
        ts = await trellis.sandbox.post_message(trellis.user(SAM), support, QUESTION)
        question = await kept(trellis, "support", ts)
        stream = await left_streaming(trellis, support, ts)
        # The answer was recorded in the stream; the process stopped before the stream did.
        services = trellis.services
        await answer_question(
            services,
            Question(
                text=QUESTION,
                channel=await services.gateway.channel(support),
                slack_user_id=trellis.user(SAM),
                message_ts=ts,
                answer_ts=stream,
                received_id=question.id,
            ),
        )
        refuse_every_stop(trellis, how)

        clock.advance(seconds=31)
        assert await recovery.answer_abandoned(services) == 1

        assert edits_of(trellis, stream) == []
        left, answer = trellis.bot_replies("support", ts)
        assert left.ts == stream and left.streaming
        assert not answer.streaming and "Confidence:" in shown_text(answer)
        # The answer's record names the message that shows it (reactions, feedback).
        async with services.database.session() as session:
            record = (await session.execute(select(PostedAnswer))).scalars().one()
        assert (record.channel_id, record.message_ts) == (support, answer.ts)
        assert await stored(trellis) == 0

        clock.advance(seconds=31)
        assert await recovery.answer_abandoned(services) == 0
        assert len(trellis.bot_replies("support", ts)) == 2
