"""Streamed answers outside the assistant view, the real Bolt app against the sandbox over
real sockets (`TRELLIS_STREAM_ANSWERS=always`, so the offline answer streams too): a DM and a mention at a channel's top level get the status line, then the
answer streamed in their own thread and stopped with its sources and buttons; a follow-up
inside a thread keeps the marked thinking indicator; where Slack will not stream, the
answer is posted and updated, and the process stops asking."""

from __future__ import annotations

from sqlalchemy import select

from app.db.models.records import PostedAnswer
from handlers.views.answers import WHY
from handlers.views.blocks import escape
from tests.harness import RunningTrellis, blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"  # support agent
QUESTION = "What apology code can I add to a delayed shipment reply?"
STREAMING = {"chat.startStream", "chat.appendStream", "chat.stopStream"}
ALWAYS = {"stream_answers": "always"}
"""Streamed with the offline answerer too (by default only a streaming model's answers)."""


def _flow(trellis: RunningTrellis, start: int) -> list[str]:
    watched = STREAMING | {"assistant.threads.setStatus", "chat.postMessage", "chat.update"}
    return [c.method for c in trellis.sandbox.workspace.calls[start:] if c.method in watched]


async def _record(trellis: RunningTrellis) -> PostedAnswer:
    async with trellis.services.database.session() as session:
        return (await session.execute(select(PostedAnswer))).scalars().one()


async def test_a_dm_question_streams_in_its_thread_after_the_status(tmp_path):
    async with running_trellis(tmp_path, settings=ALWAYS) as trellis:
        sam = trellis.user(SAM)
        start = len(trellis.sandbox.workspace.calls)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, QUESTION)
        im = trellis.sandbox.workspace.open_im(sam).id
        stop = await trellis.sandbox.wait_for_call("chat.stopStream", timeout=15)
        flow = _flow(trellis, start)
        assert flow[:2] == ["assistant.threads.setStatus", "chat.startStream"]
        assert flow[-1] == "chat.stopStream"
        assert set(flow[2:-1]) <= {"chat.appendStream"}  # no indicator posted, none updated
        status = trellis.sandbox.calls_to("assistant.threads.setStatus")[0].params
        assert status["channel_id"] == im and status["thread_ts"] == ts and status["status"]
        assert not trellis.sandbox.calls_to("assistant.threads.setTitle")  # not the view

        answer = await trellis.answer_in_thread(im, ts)
        assert answer.ts == stop.params["ts"] and answer.thread_ts == ts
        assert "[1]" in answer.text
        blocks = answer.blocks or []
        assert "Confidence:" in blocks_text(blocks) and "[1]" in blocks_text(blocks)
        assert any(b["type"] == "context_actions" for b in blocks)  # Slack's feedback buttons
        why = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
        assert [e["action_id"] for e in why] == [WHY]
        assert (im, ts) not in trellis.sandbox.workspace.thread_status  # cleared
        record = await _record(trellis)
        assert (record.channel_id, record.message_ts) == (im, answer.ts)


async def test_the_streamed_text_goes_in_markdown_text_as_slack_documents_it(tmp_path):
    async with running_trellis(tmp_path, settings=ALWAYS) as trellis:
        sam = trellis.user(SAM)
        start = len(trellis.sandbox.workspace.calls)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, QUESTION)
        im = trellis.sandbox.workspace.open_im(sam).id
        answer = await trellis.answer_in_thread(im, ts)
        calls = [c for c in trellis.sandbox.workspace.calls[start:] if c.method in STREAMING]
        assert [c.method for c in calls] == ["chat.startStream", "chat.stopStream"]
        assert all(c.response["ok"] and "chunks" not in c.params for c in calls)
        # The stream starts with the answer's text: Slack shows nothing for a stream without.
        record = await _record(trellis)
        assert calls[0].params["markdown_text"] == escape(record.answer)
        assert answer.text == escape(record.answer)
        assert not trellis.sandbox.calls_to("chat.postMessage")  # no indicator in its place


async def test_a_mention_streams_in_its_thread_to_the_asker(tmp_path):
    async with running_trellis(tmp_path, settings=ALWAYS) as trellis:
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts, timeout=15)
        started = trellis.sandbox.calls_to("chat.startStream")[0].params
        assert started["channel"] == trellis.channel("support") and started["thread_ts"] == ts
        assert started["recipient_user_id"] == trellis.user(SAM)
        assert started["recipient_team_id"] == trellis.sandbox.workspace.team.id
        assert "Confidence:" in blocks_text(answer.blocks)
        assert [m.ts for m in trellis.bot_replies("support", ts)] == [answer.ts]


async def test_a_follow_up_in_a_thread_keeps_the_marked_indicator(tmp_path):
    async with running_trellis(tmp_path, settings=ALWAYS) as trellis:
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, "When is Trail Day in 2026?")
        im = trellis.sandbox.workspace.open_im(sam).id
        await trellis.answer_in_thread(im, ts)
        streams = len(trellis.sandbox.calls_to("chat.startStream"))
        await trellis.sandbox.post_message(sam, im, "Is the office closed that day?", thread_ts=ts)
        posted = await trellis.sandbox.wait_for_call(
            "chat.postMessage", lambda c: c.params.get("thread_ts") == ts, timeout=15
        )
        assert "trellis-progress-" in str(posted.params.get("blocks"))
        await trellis.sandbox.wait_for_call("chat.update", timeout=15)
        assert len(trellis.sandbox.calls_to("chat.startStream")) == streams


async def test_where_slack_will_not_stream_the_indicator_is_used_and_not_asked_again(tmp_path):
    async with running_trellis(tmp_path, settings=ALWAYS) as trellis:
        trellis.sandbox.web_api.withdraw("chat.startStream")
        first = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", first, timeout=15)
        assert "Confidence:" in blocks_text(answer.blocks)
        assert any(b.get("block_id") == "trellis_feedback" for b in answer.blocks or [])
        second = await trellis.ask(SAM, "support", "When is Trail Day in 2026?")
        await trellis.answer_in_thread("support", second, timeout=15)
        refused = trellis.sandbox.calls_to("chat.startStream")
        assert len(refused) == 1 and refused[0].response["error"] == "unknown_method"


async def test_streaming_turned_off_posts_and_updates(tmp_path):
    async with running_trellis(tmp_path, settings={"stream_answers": "never"}) as trellis:
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts, timeout=15)
        assert any(b.get("block_id") == "trellis_feedback" for b in answer.blocks or [])
        assert not trellis.sandbox.calls_to("chat.startStream")
        assert not trellis.sandbox.calls_to("assistant.threads.setStatus")


async def test_by_default_the_offline_answer_is_not_streamed_outside_the_assistant_view(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        assert trellis.services.settings.stream_answers == "auto"
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts, timeout=15)
        assert any(b.get("block_id") == "trellis_feedback" for b in answer.blocks or [])
        assert not trellis.sandbox.calls_to("chat.startStream")
