"""Slack refusing to take Trellis's messages does not lose a question: once it takes them
again, the question that could not even show its thinking indicator is answered."""

from __future__ import annotations

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
