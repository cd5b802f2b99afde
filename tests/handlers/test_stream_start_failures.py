"""chat.startStream answered with a server error (HTTP 5xx), the real Bolt app against the
sandbox. Slack warns that then "it's possible some aspect of the operation succeeded": the
stream may have started although its ts never came back. The start is not sent again (a
second stream could start); a stream Slack started all the same is found in the thread,
stopped and made to show the answer, so the asker never sees a stray stream beside a second,
whole answer. One Slack did not start leaves the answer posted whole, as where Slack
refuses to stream, and the next answer streams again. A stream that shows another answer is
never taken for the lost one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db.models.records import PostedAnswer
from app.errors import SlackUnavailable
from app.sandbox.records import Message
from handlers.answer_stream import AnswerStream
from tests.fakes import FakeAnthropic
from tests.handlers.test_streaming_claude import QUESTION as CLAUDE_QUESTION
from tests.handlers.test_streaming_claude import trellis_on_claude
from tests.harness import RunningTrellis, blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"
QUESTION = "What apology code can I add to a delayed shipment reply?"
ALWAYS = {"stream_answers": "always"}


async def answered(trellis: RunningTrellis, channel: str, thread_ts: str) -> Message:
    """The finished answer in the thread: its sources and buttons below it."""
    return await trellis.sandbox.wait_for_message(
        channel,
        lambda m: (
            m.bot_id is not None
            and m.thread_ts == thread_ts
            and not m.streaming
            and "Confidence:" in blocks_text(m.blocks)
        ),
        20,
    )


async def records(trellis: RunningTrellis) -> list[tuple[str, str]]:
    async with trellis.services.database.session() as session:
        found = (await session.execute(select(PostedAnswer))).scalars().all()
        return [(r.channel_id, r.message_ts) for r in found]


async def test_a_stream_slack_started_despite_a_server_error_shows_the_answer(tmp_path):
    async with running_trellis(tmp_path, settings=ALWAYS) as trellis:
        # Slack starts the stream, then answers HTTP 503: its ts is lost.
        trellis.sandbox.fail("chat.startStream", status=503, carried_out=True)
        support = trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await answered(trellis, support, ts)

        started = trellis.sandbox.calls_to("chat.startStream")
        assert [c.status for c in started] == [503]  # not sent again
        # The stream Slack started is the one reply: stopped, then showing the whole answer.
        assert [m.ts for m in trellis.bot_replies("support", ts)] == [answer.ts]
        assert answer.streamed and not trellis.sandbox.calls_to("chat.postMessage")
        assert not any(m.streaming for m in trellis.sandbox.messages(support))
        assert "Confidence:" in blocks_text(answer.blocks)
        assert await records(trellis) == [(support, answer.ts)]


async def test_a_stream_slack_did_not_start_leaves_the_answer_posted_whole(tmp_path):
    async with running_trellis(tmp_path, settings=ALWAYS) as trellis:
        trellis.sandbox.fail("chat.startStream", status=503)
        support = trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await answered(trellis, support, ts)

        assert [c.status for c in trellis.sandbox.calls_to("chat.startStream")] == [503]
        assert [m.ts for m in trellis.bot_replies("support", ts)] == [answer.ts]
        assert await records(trellis) == [(support, answer.ts)]

        # A server error passes: the next answer streams.
        second = await trellis.ask(SAM, "support", "When is Trail Day in 2026?")
        streamed = await answered(trellis, support, second)
        started = trellis.sandbox.calls_to("chat.startStream")
        assert [c.status for c in started] == [503, 200]
        assert started[1].response["ts"] == streamed.ts


async def test_claudes_stream_slack_started_despite_a_server_error_shows_the_answer(tmp_path):
    async with (
        FakeAnthropic(min_cache_tokens=0) as server,
        trellis_on_claude(tmp_path, server) as trellis,
    ):
        sam = trellis.user(SAM)
        thread_ts = await trellis.sandbox.open_assistant(sam)
        im = trellis.sandbox.workspace.open_im(sam).id
        await trellis.sandbox.wait_for_message(
            im, lambda m: m.bot_id and m.is_reply and m.thread_ts == thread_ts
        )
        # The model's first words start the stream; Slack answers HTTP 503 all the same.
        trellis.sandbox.fail("chat.startStream", status=503, carried_out=True)
        asked = await trellis.sandbox.post_message(sam, im, CLAUDE_QUESTION, thread_ts=thread_ts)
        answer = await answered(trellis, im, thread_ts)

        replies = [m for m in trellis.bot_replies(im, thread_ts) if m.ts > asked]
        assert [m.ts for m in replies] == [answer.ts] and answer.streamed
        assert not any(m.streaming for m in trellis.sandbox.messages(im))
        assert "According to the documents" in answer.text + blocks_text(answer.blocks)
        assert [c.status for c in trellis.sandbox.calls_to("chat.startStream")] == [503]


@pytest.mark.parametrize("carried_out", [False, True])
async def test_a_stream_showing_another_answer_is_never_taken_for_the_lost_one(
    tmp_path, carried_out
):
    async with running_trellis(tmp_path) as trellis:
        sandbox, slack = trellis.sandbox, trellis.services.gateway
        support, sam = trellis.channel("support"), trellis.user(SAM)
        team = sandbox.workspace.team.id
        question = await sandbox.post_message(sam, support, QUESTION)  # no mention: unanswered
        # Another answer streams in the thread (a question asked before it, in a shared
        # thread); its record names its message.
        other = await slack.start_stream(
            channel=support,
            thread_ts=question,
            markdown_text="Another answer",
            recipient_user_id=sam,
            recipient_team_id=team,
        )

        async def claimed(ts: str) -> bool:
            return ts == other

        stream = AnswerStream(
            slack,
            channel=support,
            thread_ts=question,
            question_ts=question,
            recipient_user_id=sam,
            recipient_team_id=team,
            claimed=claimed,
        )
        sandbox.fail("chat.startStream", status=503, carried_out=carried_out)
        with pytest.raises(SlackUnavailable):
            await stream.write("This answer")

        others = sandbox.workspace.find_message(support, other)
        assert others is not None and others.streaming  # left to its answer
        if carried_out:  # the stream Slack started, stopped to be replaced
            lost = trellis.bot_replies("support", question)[-1]
            assert stream.ts == lost.ts != other and not lost.streaming
            assert stream.broken and stream.stopped
        else:
            assert stream.ts is None and stream.broken
