"""Trellis is never silent: when Slack or the database fails, the person hears what happened,
and an answer Slack will not put in place is posted rather than lost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db.models.records import PostedAnswer
from tests.harness import blocks_text, running_trellis
from tests.workflow_helpers import card_in

SAM = "sam.ortiz@northwind.example"
QUESTION = "What apology code can I add to a delayed shipment reply?"
INDICATOR = {"stream_answers": "never"}
"""The thinking indicator replaced by the answer (follow-ups in a thread, or streaming off)."""
STREAMING = {"stream_answers": "always"}


@pytest.mark.parametrize(
    "refuse",
    [
        # Edits keep being rate limited (the client's retries too).
        lambda sandbox: sandbox.rate_limit("chat.update", times=4, retry_after=0),
        # An error that trying again does not mend.
        lambda sandbox: sandbox.fail("chat.update", status=200, error="cant_update_message"),
        # A Slack without the method, answering with an HTTP error page.
        lambda sandbox: sandbox.fail("chat.update", status=404),
    ],
    ids=["rate-limited", "refused", "not-found"],
)
async def test_an_answer_slack_will_not_put_in_place_is_posted_below_the_indicator(
    tmp_path, refuse
):
    async with running_trellis(tmp_path, settings=INDICATOR) as trellis:
        refuse(trellis.sandbox)
        ts = await trellis.ask(SAM, "support", QUESTION)
        reply = await trellis.answer_in_thread("support", ts, timeout=20)
        assert "Confidence:" in blocks_text(reply.blocks)
        # The answer is there, once, and the indicator it could not replace is gone.
        assert "Slack could not be reached" not in reply.text
        await trellis.sandbox.wait_for_call("chat.delete", timeout=10)
        [shown] = trellis.bot_replies("support", ts)
        assert shown.ts == reply.ts
        # Its record names the message it is in, so a reaction on it flags this answer.
        async with trellis.services.database.session() as session:
            [posted] = (await session.execute(select(PostedAnswer))).scalars().all()
        assert posted.message_ts == reply.ts


async def test_a_mention_that_fails_before_any_reply_tells_the_asker_privately(tmp_path):
    async with running_trellis(tmp_path, settings=INDICATOR) as trellis:
        # Slack keeps refusing the thinking indicator, the first reply (the client's retries
        # too).
        trellis.sandbox.rate_limit("chat.postMessage", times=4, retry_after=0)
        sam = trellis.user(SAM)
        ts = await trellis.ask(SAM, "support", QUESTION)
        notice = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Your question is kept" in (e.text or ""), 20
        )
        # Not in the question's thread, which has no reply: Slack would not show it there.
        assert trellis.bot_replies("support", ts) == []
        assert notice.channel == trellis.channel("support") and notice.thread_ts is None
        assert "no need to ask again" in notice.text  # it is answered once Slack takes it


async def test_a_stream_slack_refuses_to_stop_once_is_stopped_then_replaced_by_the_answer(tmp_path):
    async with running_trellis(tmp_path, settings=STREAMING) as trellis:
        # The stop with the answer's end is refused (the client's retries too); a bare stop
        # then passes, and only then is the message edited to show the whole answer.
        trellis.sandbox.rate_limit("chat.stopStream", times=4, retry_after=0)
        ts = await trellis.ask(SAM, "support", QUESTION)
        update = await trellis.sandbox.wait_for_call("chat.update", timeout=20)
        stopped = trellis.sandbox.calls_to("chat.stopStream")[-1]
        assert stopped.status == 200 and stopped.response["ok"]
        assert stopped.time <= update.time and update.response["ok"]
        assert [c.response.get("error") for c in trellis.sandbox.calls_to("chat.update")] == [None]
        assert update.params["ts"] == trellis.sandbox.calls_to("chat.startStream")[0].response["ts"]
        answer = await trellis.answer_in_thread("support", ts, timeout=20)
        assert answer.ts == update.params["ts"] and not answer.streaming
        assert "Confidence:" in blocks_text(answer.blocks)
        assert len(trellis.bot_replies("support", ts)) == 1


async def test_an_answer_whose_stream_slack_never_stops_is_posted_below_it(tmp_path):
    async with running_trellis(tmp_path, settings=STREAMING) as trellis:
        # Slack refuses every stop: the streaming message must not be edited (Slack refuses
        # that too), so the whole answer is posted below it.
        trellis.sandbox.rate_limit("chat.stopStream", times=100, retry_after=0)
        ts = await trellis.ask(SAM, "support", QUESTION)
        support = trellis.channel("support")
        answer = await trellis.sandbox.wait_for_message(
            support, lambda m: m.thread_ts == ts and "Confidence:" in blocks_text(m.blocks), 30
        )
        stream_ts = trellis.sandbox.calls_to("chat.startStream")[0].response["ts"]
        assert answer.ts != stream_ts and not answer.streaming
        assert len(trellis.sandbox.calls_to("chat.stopStream")) == 12  # 3 stops, 3 retries each
        assert not trellis.sandbox.calls_to("chat.update")


async def test_a_mention_whose_stream_and_indicator_slack_refuses_tells_the_asker_privately(
    tmp_path,
):
    async with running_trellis(tmp_path, settings=STREAMING) as trellis:
        # Slack refuses to start the stream, then the thinking indicator in its place, then
        # a notice in the thread.
        trellis.sandbox.rate_limit("chat.startStream", times=4, retry_after=0)
        trellis.sandbox.rate_limit("chat.postMessage", times=8, retry_after=0)
        sam = trellis.user(SAM)
        ts = await trellis.ask(SAM, "support", QUESTION)
        notice = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "could not be reached" in (e.text or ""), 30
        )
        # Not in the question's thread, which has no reply: Slack would not show it there.
        assert trellis.bot_replies("support", ts) == []
        assert notice.channel == trellis.channel("support") and notice.thread_ts is None
        assert "try again" in notice.text


async def test_a_button_whose_listener_fails_tells_the_person_who_clicked(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox = trellis.sandbox
        await sandbox.slash_command(
            trellis.user("liam.carter@northwind.example"),
            trellis.channel("sales"),
            "/trellis",
            'discount_request customer="Alpine Co." percent=15 reason="Spring order volume"',
        )
        card = await card_in(trellis, "deal-approvals")
        sandbox.rate_limit("views.open", times=4, retry_after=0)  # the Edit modal cannot open
        sofia = trellis.user("sofia.marino@northwind.example")
        await sandbox.click_button(sofia, card.channel, card.ts, "trellis_edit")
        notice = await sandbox.wait_for_ephemeral(
            sofia, lambda e: "could not be reached" in (e.text or ""), 20
        )
        assert "try again" in notice.text


async def test_a_follow_up_also_sent_to_the_channel_is_answered_in_the_thread(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        support = trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        await trellis.answer_in_thread("support", ts)
        asked = next(
            d.payload
            for d in trellis.sandbox.gateway.deliveries
            if d.payload.get("event", {}).get("type") == "message"
            and d.payload["event"].get("ts") == ts
        )
        # The reply with "Also send to #support" ticked: Slack sends it as a thread_broadcast.
        reply_ts = trellis.sandbox.workspace.next_ts()
        event = {
            **asked["event"],
            "subtype": "thread_broadcast",
            "ts": reply_ts,
            "event_ts": reply_ts,
            "thread_ts": ts,
            "text": "Is there one for lost parcels too?",
        }
        event.pop("client_msg_id", None)
        trellis.sandbox.deliver_event({**asked, "event": event, "event_id": "Ev0BROADCAST1"})
        await trellis.sandbox.wait_for_message(
            support,
            lambda m: (
                m.bot_id is not None
                and m.thread_ts == ts
                and m.ts > reply_ts
                and "Looking through" not in (m.text or "")
            ),
            10,
        )


async def test_a_follow_up_posted_while_trellis_is_still_thinking_is_answered(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        support = trellis.channel("support")
        # Slack slows the first answer down (the member list answers after a pause).
        trellis.sandbox.rate_limit("conversations.members", times=1, retry_after=2)
        ts = await trellis.ask(SAM, "support", QUESTION)
        await trellis.sandbox.wait_for_message(
            support, lambda m: m.bot_id is not None and m.thread_ts == ts, 10
        )
        await trellis.ask(
            SAM, "support", "Is there one for lost parcels too?", mention=False, thread_ts=ts
        )

        def answered_twice(_message) -> bool:
            return (
                len(
                    [
                        m
                        for m in trellis.bot_replies("support", ts)
                        if "Looking through" not in (m.text or "")
                    ]
                )
                == 2
            )

        await trellis.sandbox.wait_for_message(support, answered_twice, 15)


async def test_a_workflow_command_slack_is_slow_to_check_is_acked_in_time_then_started(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox = trellis.sandbox
        liam = trellis.user("liam.carter@northwind.example")
        # Slack is slow to say who Liam is: the first look-up is refused for 3 s.
        sandbox.rate_limit("users.info", times=1, retry_after=3)
        ack = await sandbox.slash_command(
            liam,
            trellis.channel("sales"),
            "/trellis",
            'discount_request customer="Alpine Co." percent=15 reason="Spring order volume"',
        )
        assert ack.get("text") == "Checking your Discount request…"  # within Slack's 3 s
        started = await sandbox.wait_for_ephemeral(liam, lambda e: "Starting" in (e.text or ""), 15)
        assert started.channel == trellis.channel("sales")
        card = await card_in(trellis, "deal-approvals")
        assert "Alpine Co." in blocks_text(card.blocks)
