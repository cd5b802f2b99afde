"""What Slack delivers, read as Slack documents it: escaped text and markup, messages with
no words, group DMs, payloads without an authorizations list, and deliveries no listener
acts on. The real Bolt app against the sandbox over real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from app.db.repositories.records import AnswerRepository
from app.sandbox.socket_mode import new_event_id
from handlers.delivered import is_direct_message, plain_text
from handlers.people import MENTIONED
from handlers.views.help import help_text
from tests.harness import RunningTrellis, running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"
LIAM = "liam.carter@northwind.example"
QUESTION = "What apology code can I add to a delayed shipment reply?"


def test_slack_markup_reads_as_the_person_wrote_it():
    delivered = (
        "<@U0BOT> Is the R&amp;D budget &lt;draft&gt; still with <@U0ANA|ana>? "
        "See <https://wiki.example/rd|the wiki>, <https://wiki.example/x> and "
        "<#C0SALES|sales> <!here> <mailto:rd@example.com|rd@example.com> "
        "<!subteam^S0RD|@rd-team>"
    )
    assert plain_text(delivered, drop_user="U0BOT") == (
        "Is the R&D budget <draft> still with @ana? See the wiki, https://wiki.example/x and "
        "#sales rd@example.com @rd-team"
    )
    assert plain_text("&amp;lt; stays &amp;lt;") == "&lt; stays &lt;"  # decoded once
    assert plain_text("line one\n  line two", one_line=False) == "line one\n  line two"
    assert plain_text(None) == ""


def test_a_direct_message_is_known_by_its_channel_when_slack_sends_no_channel_type():
    assert is_direct_message({"channel_type": "im", "channel": "D01"})
    assert is_direct_message({"channel": "D01"})
    assert not is_direct_message({"channel": "C01"})
    assert not is_direct_message({"channel_type": "channel", "channel": "D01"})


async def _stored_question(trellis: RunningTrellis, channel: str, ts: str) -> str:
    async with trellis.services.database.reading() as session:
        [answer] = await AnswerRepository(session).in_thread(trellis.channel(channel), ts)
    return answer.question


async def test_an_escaped_question_is_answered_as_the_person_wrote_it(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        # Typed "... reply & refund <urgent>?": Slack sends the entities.
        ts = await trellis.ask(SAM, "support", f"{QUESTION[:-1]} &amp; refund &lt;urgent&gt;?")
        await trellis.answer_in_thread("support", ts)
        stored = await _stored_question(trellis, "support", ts)
        assert stored == f"{QUESTION[:-1]} & refund <urgent>?"


async def test_a_colleague_mentioned_by_id_alone_is_read_by_name(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        # Slack sends a mention as the user id alone, with no name.
        sam, liam = trellis.user(SAM), trellis.user(LIAM)
        ts = await trellis.ask(SAM, "support", f"Did <@{liam}> send the reply? {QUESTION}")
        await trellis.answer_in_thread("support", ts)
        stored = await _stored_question(trellis, "support", ts)
        assert stored == f"Did @Liam Carter send the reply? {QUESTION}"
        assert liam not in stored and sam not in stored


def test_a_mention_reads_as_the_name_slack_sent_else_as_its_id_until_named():
    text = "Ask <@U0ANA12345> or <@U0BEN|ben>, not user@U0ANA12345.example"
    assert plain_text(text) == "Ask @U0ANA12345 or @ben, not user@U0ANA12345.example"
    assert MENTIONED.findall(plain_text(text)) == ["U0ANA12345"]  # what `with_names` names


def _delivered(trellis: RunningTrellis, ts: str) -> dict[str, Any]:
    return next(
        d.payload
        for d in trellis.sandbox.gateway.deliveries
        if d.payload.get("event", {}).get("type") == "message"
        and d.payload["event"].get("ts") == ts
    )


async def test_a_file_dropped_without_words_gets_no_reply_where_nobody_asked(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        support = trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        await trellis.answer_in_thread("support", ts)
        asked = _delivered(trellis, ts)
        # A screenshot dropped into the answered thread with no comment: Slack sends a
        # file_share message with empty text.
        file_ts = trellis.sandbox.workspace.next_ts()
        event = {
            **asked["event"],
            "subtype": "file_share",
            "text": "",
            "ts": file_ts,
            "event_ts": file_ts,
            "thread_ts": ts,
            "files": [{"id": "F0SHOT", "name": "screenshot.png"}],
        }
        event.pop("client_msg_id", None)
        delivery = trellis.sandbox.deliver_event(
            {**asked, "event": event, "event_id": new_event_id()}
        )
        assert await delivery.wait() is not None
        # The next words in the thread are answered: by then the file was looked at.
        follow = await trellis.ask(
            SAM, "support", "Is there one for lost parcels too?", mention=False, thread_ts=ts
        )
        await trellis.sandbox.wait_for_message(
            support, lambda m: m.bot_id is not None and m.thread_ts == ts and m.ts > follow, 10
        )
        await asyncio.sleep(0.3)
        replies = trellis.bot_replies("support", ts)
        help_start = help_text(trellis.services.workspace)[:40]
        assert not [m for m in replies if help_start in (m.text or "")]
        assert len(replies) == 2  # the answer and the follow-up's answer


async def test_a_mention_in_a_group_dm_is_answered_in_its_thread(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        group = trellis.sandbox.open_group_dm([trellis.user(SAM), trellis.user(LIAM)])
        ts = await trellis.sandbox.post_message(
            trellis.user(SAM), group.id, f"<@{trellis.bot}> When is Trail Day in 2026?"
        )
        answer = await trellis.answer_in_thread(group.id, ts, timeout=15)
        assert "Trail Day" in shown_text(answer)
        assert "every member of this group DM" in shown_text(answer)  # its audience
        kinds = [
            d.payload["event"]["type"]
            for d in trellis.sandbox.gateway.deliveries
            if d.payload.get("event", {}).get("ts") == ts
        ]
        assert kinds == ["message"]  # no app_mention in a group DM, as in Slack
        # Words in the group DM that are not addressed to Trellis are not answered.
        chatter = await trellis.sandbox.post_message(trellis.user(LIAM), group.id, "Lunch at 1?")
        await trellis.answer_in_thread(group.id, ts)
        await asyncio.sleep(0.5)
        assert not trellis.bot_replies(group.id, chatter)


async def test_an_assistant_message_without_an_authorizations_list_is_still_the_assistants(
    tmp_path,
):
    async with running_trellis(tmp_path) as trellis:

        def without_authorizations(payload: dict[str, Any]) -> dict[str, Any]:
            payload = dict(payload)
            payload.pop("authorizations", None)
            payload["authed_users"] = [trellis.bot]
            return payload

        trellis.sandbox.reshape_events = without_authorizations
        user = trellis.user(SAM)
        thread_ts = await trellis.sandbox.open_assistant(user)
        im = trellis.sandbox.workspace.open_im(user).id
        await trellis.sandbox.wait_for_message(
            im, lambda m: m.bot_id and m.is_reply and m.thread_ts == thread_ts
        )
        await trellis.sandbox.post_message(user, im, QUESTION, thread_ts=thread_ts)
        title = await trellis.sandbox.wait_for_call("assistant.threads.setTitle", timeout=10)
        assert title.params["thread_ts"] == thread_ts
        await trellis.sandbox.wait_for_call("chat.stopStream", timeout=15)


async def test_events_and_clicks_no_listener_acts_on_are_acknowledged(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(SAM, "support", QUESTION)
        asked = _delivered(trellis, ts)
        joined = {
            "type": "member_joined_channel",
            "user": trellis.user(LIAM),
            "channel": trellis.channel("support"),
            "channel_type": "C",
            "team": asked["team_id"],
            "event_ts": trellis.sandbox.workspace.next_ts(),
        }
        delivery = trellis.sandbox.deliver_event(
            {**asked, "event": joined, "event_id": new_event_id()}
        )
        assert await delivery.wait() is not None
        assert len(delivery.envelopes) == 1  # acked the first time: not sent again

        # A button of a message from an older version of the app.
        bot = AsyncWebClient(token=trellis.sandbox.bot_token, base_url=trellis.sandbox.api_url)
        old = await bot.chat_postMessage(
            channel=trellis.channel("support"),
            text="An old card",
            blocks=[
                {
                    "type": "actions",
                    "block_id": "old",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "retired_button",
                            "text": {"type": "plain_text", "text": "Old"},
                            "value": "x",
                        }
                    ],
                }
            ],
        )
        ack = await trellis.sandbox.click_button(
            trellis.user(SAM), trellis.channel("support"), old["ts"], "retired_button"
        )
        assert ack is not None
