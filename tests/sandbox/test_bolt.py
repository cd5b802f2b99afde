"""The unmodified Bolt AsyncApp with its aiohttp Socket Mode handler, against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.sandbox import InvalidAck, OperationTimeout, SandboxServer, SimulationError
from tests.sandbox_helpers import (
    ANA,
    BO,
    BOT,
    DEALS,
    GENERAL,
    PARTNER,
    SHARED,
    running_bolt_app,
    running_sandbox,
    sandbox_client,
)

CARD = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Discount 15% for Initech"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "draft-1",
                "style": "primary",
            }
        ],
    },
]
QUESTION_MODAL = {
    "type": "modal",
    "callback_id": "ask",
    "title": {"type": "plain_text", "text": "Ask Trellis"},
    "submit": {"type": "plain_text", "text": "Ask"},
    "blocks": [
        {
            "type": "input",
            "block_id": "question",
            "label": {"type": "plain_text", "text": "Question"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        },
        {
            "type": "input",
            "block_id": "team",
            "optional": True,
            "label": {"type": "plain_text", "text": "Team"},
            "element": {
                "type": "static_select",
                "action_id": "pick",
                "options": [
                    {"text": {"type": "plain_text", "text": "Sales"}, "value": "sales"},
                    {"text": {"type": "plain_text", "text": "Support"}, "value": "support"},
                ],
            },
        },
    ],
}


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with running_sandbox(ack_timeout=1.0) as server:
        yield server


async def test_app_mention_is_answered_in_its_thread(server):
    def register(app):
        @app.event("app_mention")
        async def answer(event, say):
            await say(text=f"Hi <@{event['user']}>", thread_ts=event["ts"])

    async with running_bolt_app(server, register):
        asked = await server.post_message(ANA, GENERAL, f"<@{BOT}> where is the PTO policy?")
        reply = await server.wait_for_message(GENERAL, lambda m: m.thread_ts == asked and m.bot_id)
    assert reply.text == f"Hi <@{ANA}>"
    assert server.thread(GENERAL, asked)[0].reply_ts == [reply.ts]


async def test_direct_message_reaches_message_listener_as_im(server):
    seen = []

    def register(app):
        @app.message("hello")
        async def greet(message, say):
            seen.append(message)
            await say("Hello back")

    async with running_bolt_app(server, register):
        await server.post_message(ANA, BOT, "hello there")
        dm = server.workspace.open_im(ANA).id
        await server.wait_for_message(dm, lambda m: m.user == BOT)
    assert seen[0]["channel_type"] == "im"
    assert seen[0]["channel"] == dm


async def test_the_bots_own_messages_arrive_with_bot_id_and_are_ignored(server):
    heard = []

    def register(app):
        @app.event("message")
        async def listen(event, say):
            heard.append(event["text"])
            await say("noted")

    async with running_bolt_app(server, register):
        await sandbox_client(server).chat_postMessage(channel=GENERAL, text=f"<@{BOT}> me")
        await server.post_message(ANA, GENERAL, "a person")
        await server.wait_for_message(GENERAL, lambda m: m.text == "noted")
        for delivery in list(server.gateway.deliveries):
            await delivery.wait()
    events = [e.payload["event"] for e in server.gateway.envelopes]
    assert [(e["type"], e["text"]) for e in events] == [
        ("message", f"<@{BOT}> me"),
        ("message", "a person"),
        ("message", "noted"),
    ]
    assert events[0]["bot_id"] == "B0TRELLIS" and events[0]["user"] == BOT
    assert heard == ["a person"]


async def test_button_click_reaches_action_listener_and_respond_replaces_the_card(server):
    clicks = []

    def register(app):
        @app.action("approve")
        async def approve(ack, body, respond):
            await ack()
            clicks.append(body)
            await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    async with running_bolt_app(server, register):
        card = await sandbox_client(server).chat_postMessage(
            channel=DEALS, text="Discount request", blocks=CARD
        )
        assert await server.click_button(BO, DEALS, card["ts"], "approve") == {}
        await server.wait_for_message(DEALS, lambda m: m.text.startswith("Approved"))
    body = clicks[0]
    assert body["type"] == "block_actions"
    assert body["actions"][0]["value"] == "draft-1"
    assert body["actions"][0]["block_id"] == "decision"
    assert body["container"] == {
        "type": "message",
        "message_ts": card["ts"],
        "channel_id": DEALS,
        "is_ephemeral": False,
    }
    assert body["message"]["ts"] == card["ts"] and body["channel"]["name"] == "deals"
    assert body["trigger_id"] and body["response_url"].startswith(server.url)
    [card_now] = server.messages(DEALS)
    assert card_now.text == f"Approved by <@{BO}>" and card_now.blocks is None


async def test_unacknowledged_click_times_out_like_slack(server):
    async with running_bolt_app(server, lambda app: None):
        card = await sandbox_client(server).chat_postMessage(channel=DEALS, text="x", blocks=CARD)
        with pytest.raises(OperationTimeout):
            await server.click_button(BO, DEALS, card["ts"], "approve")


async def test_slash_command_ack_payload_comes_back_and_is_shown_privately(server):
    commands = []

    def register(app):
        @app.command("/trellis")
        async def trellis(ack, command, respond):
            commands.append(command)
            await ack(text="Looking that up…")
            await respond(response_type="in_channel", text="Here is the answer")

    async with running_bolt_app(server, register):
        ack = await server.slash_command(ANA, GENERAL, "/trellis", "ask what is our PTO policy")
        await server.wait_for_message(GENERAL, lambda m: m.text == "Here is the answer")
    assert ack == {"text": "Looking that up…"}
    assert [e.text for e in server.ephemerals(ANA)] == ["Looking that up…"]
    command = commands[0]
    assert command["text"] == "ask what is our PTO policy"
    assert (command["user_id"], command["channel_id"], command["team_id"]) == (
        ANA,
        GENERAL,
        "T0ACME",
    )
    assert command["trigger_id"] and command["response_url"]


async def test_a_slash_command_answered_with_blocks_slack_refuses_fails_loudly(server):
    def register(app):
        @app.command("/trellis")
        async def trellis(ack):
            button = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}
            await ack(text="Help", blocks=[{"type": "actions", "elements": [button]}])

    async with running_bolt_app(server, register):
        with pytest.raises(InvalidAck, match="invalid_blocks.*less than 76 characters"):
            await server.slash_command(ANA, GENERAL, "/trellis", "help")
    assert server.ephemerals(ANA) == []


async def test_view_submission_errors_come_back_and_keep_the_modal_open(server):
    submissions = []

    def register(app):
        @app.command("/trellis")
        async def open_modal(ack, body, client):
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=QUESTION_MODAL)

        @app.view("ask")
        async def ask(ack, view):
            question = view["state"]["values"]["question"]["text"]["value"]
            if len(question) < 5:
                await ack(response_action="errors", errors={"question": "Please say a bit more"})
                return
            submissions.append(view["state"]["values"])
            await ack()

    async with running_bolt_app(server, register):
        await server.slash_command(ANA, GENERAL, "/trellis")
        await server.wait_for_call("views.open")
        [modal] = server.open_views(ANA)
        refused = await server.submit_view(ANA, modal.id, {"question": {"text": "PTO"}})
        assert refused == {
            "response_action": "errors",
            "errors": {"question": "Please say a bit more"},
        }
        assert server.open_views(ANA) == [modal]
        with pytest.raises(SimulationError, match="not one of the menu's options: team"):
            await server.submit_view(ANA, modal.id, {"text": "How many PTO days?", "pick": "hr"})
        accepted = await server.submit_view(
            ANA, modal.id, {"text": "How many PTO days?", "pick": "support"}
        )
    assert accepted == {}
    assert server.open_views(ANA) == []
    values = submissions[0]
    assert values["question"]["text"] == {"type": "plain_text_input", "value": "How many PTO days?"}
    assert values["team"]["pick"]["selected_option"]["value"] == "support"


async def test_errors_for_a_block_that_is_no_input_are_refused_as_slack_does(server):
    def register(app):
        @app.command("/trellis")
        async def open_modal(ack, body, client):
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=QUESTION_MODAL)

        @app.view("ask")
        async def ask(ack):
            await ack(response_action="errors", errors={"intro": "Not an input"})

    async with running_bolt_app(server, register):
        await server.slash_command(ANA, GENERAL, "/trellis")
        await server.wait_for_call("views.open")
        [modal] = server.open_views(ANA)
        with pytest.raises(InvalidAck, match="'intro': not an input block"):
            await server.submit_view(ANA, modal.id, {"text": "A long enough question"})


async def test_response_action_update_replaces_the_modal(server):
    def register(app):
        @app.command("/trellis")
        async def open_modal(ack, body, client):
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=QUESTION_MODAL)

        @app.view("ask")
        async def ask(ack):
            thanks = {
                "type": "modal",
                "title": {"type": "plain_text", "text": "Thanks"},
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Sent"}}],
            }
            await ack(response_action="update", view=thanks)

    async with running_bolt_app(server, register):
        await server.slash_command(ANA, GENERAL, "/trellis")
        await server.wait_for_call("views.open")
        [modal] = server.open_views(ANA)
        await server.submit_view(ANA, modal.id, {"text": "A long enough question"})
    [shown] = server.open_views(ANA)
    assert shown.id == modal.id and shown.spec["title"]["text"] == "Thanks"


async def test_message_shortcut_carries_the_message(server):
    shortcuts = []

    def register(app):
        @app.shortcut("flag_answer")
        async def flag(ack, shortcut):
            await ack()
            shortcuts.append(shortcut)

    async with running_bolt_app(server, register):
        ts = await server.post_message(PARTNER, SHARED, "is this right?")
        assert await server.message_shortcut(ANA, SHARED, ts, "flag_answer") == {}
    shortcut = shortcuts[0]
    assert shortcut["type"] == "message_action"
    assert shortcut["message"]["text"] == "is this right?"
    assert shortcut["channel"]["id"] == SHARED


async def test_reactions_and_home_tab_events_reach_listeners(server):
    events = []

    def register(app):
        @app.event("reaction_added")
        async def flagged(event):
            events.append(event)

        @app.event("app_home_opened")
        async def home(event, client):
            events.append(event)
            view = {"type": "home", "blocks": [{"type": "divider"}]}
            await client.views_publish(user_id=event["user"], view=view)

    async with running_bolt_app(server, register):
        answer = await sandbox_client(server).chat_postMessage(channel=GENERAL, text="An answer")
        await server.add_reaction(ANA, GENERAL, answer["ts"], "x")
        await server.open_home(BO)
        await server.wait_for_call("views.publish")
    reaction, opened = sorted(events, key=lambda e: e["type"], reverse=True)
    assert reaction["item"] == {"type": "message", "channel": GENERAL, "ts": answer["ts"]}
    assert (reaction["user"], reaction["item_user"], reaction["reaction"]) == (ANA, BOT, "x")
    assert opened["tab"] == "home" and opened["channel"].startswith("D")
    assert server.home_view(BO) is not None
