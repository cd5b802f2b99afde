"""The sandbox workspace, its change hook, and the payloads simulated people produce."""

from __future__ import annotations

import aiohttp
import pytest

from app.sandbox import Change, SandboxWorkspace, SimulationError
from tests.sandbox_helpers import (
    ANA,
    BO,
    BOT,
    DEALS,
    GENERAL,
    GONE,
    PARTNER,
    RANDOM,
    SHARED,
    recording_socket_client,
    running_sandbox,
    sample_seed,
    sandbox_client,
)

BUTTONS = [
    {
        "type": "actions",
        "block_id": "choices",
        "elements": [
            {
                "type": "button",
                "action_id": "pick",
                "text": {"type": "plain_text", "text": "Pick"},
                "value": "1",
            }
        ],
    }
]


def test_seed_builds_people_channels_and_the_bot():
    workspace = SandboxWorkspace.from_seed(sample_seed())
    assert workspace.user(BOT).is_bot and workspace.user(BOT).bot_id == "B0TRELLIS"
    assert workspace.user(PARTNER).team_id == "T0PARTNER"
    assert workspace.user(GONE).deleted
    assert workspace.conversation(DEALS).is_private
    assert workspace.conversation(SHARED).is_ext_shared
    assert BOT in workspace.conversation(GENERAL).members
    assert BOT not in workspace.conversation(RANDOM).members


def test_subscribers_hear_every_change_until_they_unsubscribe():
    workspace = SandboxWorkspace.from_seed(sample_seed())
    heard: list[Change] = []
    unsubscribe = workspace.subscribe(heard.append)
    message = workspace.post(GENERAL, user=ANA, text="hi")
    workspace.add_reaction(message, user=BO, name="wave")
    workspace.update_message(message, text="hi all", blocks=None)
    workspace.post_ephemeral(GENERAL, user=ANA, text="psst")
    view = workspace.open_view(ANA, {"type": "modal", "title": {"type": "plain_text", "text": "x"}})
    workspace.publish_home(BO, {"type": "home", "blocks": []})
    workspace.close_view(view)
    unsubscribe()
    workspace.post(GENERAL, user=BO, text="unheard")
    assert [c.kind for c in heard] == [
        "message_posted",
        "reaction_added",
        "message_changed",
        "ephemeral_posted",
        "view_opened",
        "home_published",
        "view_closed",
    ]
    assert heard[1].reaction == "wave" and heard[1].user == BO


async def test_events_carry_the_full_events_api_wrapper():
    async with running_sandbox() as server, recording_socket_client(server) as received:
        await server.post_message(PARTNER, SHARED, f"<@{BOT}> hello from outside")
        await received.wait_for(2)
    message, mention = (r.payload for r in received)
    assert message["type"] == "event_callback"
    assert (message["team_id"], message["api_app_id"]) == ("T0ACME", "A0TRELLIS")
    assert message["token"] and message["event_id"].startswith("Ev")
    assert isinstance(message["event_time"], int)
    assert message["authorizations"][0]["user_id"] == BOT
    assert message["authorizations"][0]["is_bot"] is True
    assert message["is_ext_shared_channel"] is True
    assert message["event_context"].startswith("4-")
    event = message["event"]
    assert (event["channel"], event["channel_type"], event["user"]) == (SHARED, "channel", PARTNER)
    assert event["user_team"] == "T0PARTNER" and event["team"] == "T0PARTNER"
    assert event["blocks"][0]["elements"][0]["elements"][0] == {"type": "user", "user_id": BOT}
    assert event["client_msg_id"] and event["event_ts"] == event["ts"]
    assert mention["event"]["type"] == "app_mention"


async def test_events_follow_membership_channel_type_and_subscriptions():
    seed = sample_seed()
    seed["bot"]["events"] = ["message.groups", "message.im", "reaction_added"]
    async with running_sandbox(seed) as server, recording_socket_client(server) as received:
        await server.post_message(ANA, RANDOM, "bot is not here")
        await server.post_message(ANA, GENERAL, f"<@{BOT}> not subscribed to channels")
        private = await server.post_message(ANA, DEALS, "in the deals room")
        await server.post_message(BO, DEALS, "reply", thread_ts=private)
        await server.add_reaction(BO, DEALS, private, "eyes")
        await server.post_message(ANA, BOT, "a DM")
        await received.wait_for(4)
    events = [r.payload["event"] for r in received]
    assert [(e["type"], e.get("channel_type")) for e in events] == [
        ("message", "group"),
        ("message", "group"),
        ("reaction_added", None),
        ("message", "im"),
    ]
    assert (events[1]["thread_ts"], events[1]["parent_user_id"]) == (private, ANA)
    assert events[3]["channel"].startswith("D")


async def test_simulated_people_cannot_do_what_slack_forbids():
    async with running_sandbox() as server:
        with pytest.raises(SimulationError):
            await server.post_message(ANA, "C0SECRET", "let me in")
        with pytest.raises(SimulationError):
            await server.post_message(GONE, GENERAL, "I left")
        ts = await server.post_message(ANA, GENERAL, "hello")
        await server.add_reaction(BO, GENERAL, ts, "wave")
        with pytest.raises(SimulationError, match="already_reacted"):
            await server.add_reaction(BO, GENERAL, ts, "wave")


async def clicked_card(server, received) -> dict:
    """The payload of Ana's click on a button of a card in #general."""
    card = await sandbox_client(server).chat_postMessage(
        channel=GENERAL, text="card", blocks=BUTTONS
    )
    assert await server.click_button(ANA, GENERAL, card["ts"], "pick", value="2") == {}
    return next(r.payload for r in received if r.type == "interactive")


async def test_response_url_posts_replaces_and_deletes_like_slack():
    async with (
        running_sandbox() as server,
        recording_socket_client(server) as received,
        aiohttp.ClientSession() as session,
    ):
        click = await clicked_card(server, received)
        url = click["response_url"]
        assert click["actions"][0]["value"] == "2"

        async def respond(body: dict) -> int:
            async with session.post(url, json=body) as answer:
                return answer.status

        assert await respond({"text": "only you see this"}) == 200
        assert [e.text for e in server.ephemerals(ANA)] == ["only you see this"]
        assert await respond({"replace_original": True, "text": "decided"}) == 200
        assert server.messages(GENERAL)[0].text == "decided"
        assert await respond({"delete_original": True}) == 200
        assert server.messages(GENERAL) == []
        assert await respond({"text": "four"}) == 200
        assert await respond({"text": "five"}) == 200
        assert await respond({"text": "six"}) == 404
    assert server.calls_to("response_url")[-1].response["error"] == "used_url"


async def test_a_response_url_expires_thirty_minutes_after_the_click():
    async with (
        running_sandbox() as server,
        recording_socket_client(server) as received,
        aiohttp.ClientSession() as session,
    ):
        click = await clicked_card(server, received)
        url = click["response_url"]
        clicked_at = server.workspace.clock()
        server.workspace.clock = lambda: clicked_at + 29 * 60
        async with session.post(url, json={"text": "in time"}) as answer:
            assert answer.status == 200
        server.workspace.clock = lambda: clicked_at + 31 * 60
        async with session.post(url, json={"text": "too late"}) as answer:
            assert answer.status == 404
    assert server.calls_to("response_url")[-1].response["error"] == "expired_url"
    assert [e.text for e in server.ephemerals(ANA)] == ["in time"]


async def test_buttons_in_views_send_the_view_and_its_state():
    modal = {
        "type": "modal",
        "callback_id": "edit",
        "title": {"type": "plain_text", "text": "Edit"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "why"},
            },
            *BUTTONS,
        ],
    }
    async with running_sandbox() as server, recording_socket_client(server) as received:
        view = server.workspace.open_view(BO, modal)
        await server.click_view_button(BO, view.id, "pick", values={"why": "too deep"})
    payload = received[0].payload
    assert payload["container"] == {"type": "view", "view_id": view.id}
    assert payload["view"]["callback_id"] == "edit"
    assert payload["view"]["state"]["values"]["reason"]["why"]["value"] == "too deep"
    assert "response_url" not in payload and "message" not in payload
