"""Trellis is never silent: when Slack or the database fails, the person hears what happened."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.harness import blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"
QUESTION = "What apology code can I add to a delayed shipment reply?"


async def test_an_answer_slack_refuses_to_show_replaces_the_thinking_indicator_with_a_notice(
    tmp_path,
):
    async with running_trellis(tmp_path) as trellis:
        # Every attempt to put the answer in place is refused (the client's retries too).
        trellis.sandbox.rate_limit("chat.update", times=4, retry_after=0)
        ts = await trellis.ask(SAM, "support", QUESTION)
        reply = await trellis.answer_in_thread("support", ts, timeout=20)
        assert "Something went wrong" in reply.text and "try again" in reply.text
        assert "Looking through" not in blocks_text(reply.blocks)


async def test_a_mention_that_fails_before_any_reply_tells_the_asker_privately(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        # Slack keeps refusing to describe the channel (the client's retries too).
        trellis.sandbox.rate_limit("conversations.info", times=4, retry_after=0)
        sam = trellis.user(SAM)
        ts = await trellis.ask(SAM, "support", QUESTION)
        notice = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "went wrong" in (e.text or ""), 20)
        assert notice.channel == trellis.channel("support") and notice.thread_ts == ts
        assert "try again" in notice.text and "reference" in notice.text


async def test_a_button_whose_listener_fails_tells_the_person_who_clicked(tmp_path):
    from tests.workflow_helpers import card_in

    async with running_trellis(tmp_path) as trellis:
        sandbox = trellis.sandbox
        await sandbox.slash_command(
            trellis.user("liam.carter@northwind.example"), trellis.channel("sales"), "/trellis",
            'discount_request customer="Alpine Co." percent=15 reason="Spring order volume"')
        card = await card_in(trellis, "deal-approvals")
        sandbox.rate_limit("views.open", times=4, retry_after=0)  # the Edit modal cannot open
        sofia = trellis.user("sofia.marino@northwind.example")
        await sandbox.click_button(sofia, card.channel, card.ts, "trellis_edit")
        notice = await sandbox.wait_for_ephemeral(sofia, lambda e: "went wrong" in (e.text or ""),
                                                  20)
        assert "try again" in notice.text and "reference" in notice.text
