"""Slack refusing to take Trellis's messages does not lose a question: once it takes them
again, the question that could not even show its thinking indicator is answered."""

from __future__ import annotations

import asyncio

from tests.harness import blocks_text, running_trellis
from tests.workflow_helpers import FAST

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"


async def test_a_question_whose_indicator_slack_refused_is_answered_once_slack_is_back(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TRELLIS_QUESTION_LEASE_SECONDS", "1")
    async with running_trellis(tmp_path, background=FAST) as trellis:
        web_api = trellis.sandbox.web_api
        post_message = web_api.methods["chat.postMessage"]
        web_api.withdraw("chat.startStream")  # Slack answers unknown_method: no stream,
        web_api.withdraw("chat.postMessage")  # and no thinking indicator either
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, QUESTION)
        im = trellis.sandbox.workspace.open_im(sam).id
        await trellis.sandbox.wait_for_call(
            "chat.postMessage", lambda c: not c.response.get("ok"), timeout=15
        )
        assert trellis.bot_replies(im, ts) == []

        web_api.methods["chat.postMessage"] = post_message  # Slack is back
        await trellis.sandbox.wait_until(
            lambda: (
                True
                if any("Trail Day" in blocks_text(m.blocks) for m in trellis.bot_replies(im, ts))
                else None
            ),
            30,
            "the answer once Slack takes messages again",
        )
        assert len(trellis.bot_replies(im, ts)) == 1


async def test_an_answer_arrives_though_slack_fails_on_its_side_while_it_is_written(tmp_path):
    async with running_trellis(tmp_path, settings={"stream_answers": "never"}) as trellis:
        # A read of the channel's members and the edit that shows the answer fail once or
        # twice on Slack's side; both are safe to repeat, and are.
        trellis.sandbox.fail("conversations.members", times=2, status=503)
        trellis.sandbox.fail("chat.update", status=200, error="fatal_error")
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts, timeout=20)
        assert "Trail Day" in blocks_text(answer.blocks)
        assert "Confidence:" in blocks_text(answer.blocks)
        assert len(trellis.bot_replies("support", ts)) == 1


async def test_a_reply_slack_fails_to_post_is_not_repeated_and_the_question_is_kept(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TRELLIS_QUESTION_LEASE_SECONDS", "1")
    async with running_trellis(
        tmp_path, settings={"stream_answers": "never"}, background=FAST
    ) as trellis:
        # The thinking indicator meets an HTTP 500: Slack may have posted it, so it is not
        # posted again at once; the asker is told the question is kept, not to ask again
        # (asking again would have it answered twice), and it is answered once.
        trellis.sandbox.fail("chat.postMessage", status=500)
        sam = trellis.user(SAM)
        ts = await trellis.ask(SAM, "support", QUESTION)
        notice = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Your question is kept" in (e.text or ""), 20
        )
        # Beside the question, not in its thread, which has no reply Slack would show it under.
        assert notice.channel == trellis.channel("support") and notice.thread_ts is None
        assert "no need to ask again" in notice.text and "try again" not in notice.text
        assert [c.status for c in trellis.sandbox.calls_to("chat.postMessage")] == [500]

        answer = await trellis.answer_in_thread("support", ts, timeout=30)
        assert "Trail Day" in blocks_text(answer.blocks)
        await asyncio.sleep(1)
        assert len(trellis.bot_replies("support", ts)) == 1
