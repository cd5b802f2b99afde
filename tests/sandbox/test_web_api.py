"""The sandbox's Web API, called with slack_sdk's real AsyncWebClient over loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from app.sandbox import SandboxServer
from tests.sandbox_helpers import (
    ANA,
    BO,
    BOT,
    DEALS,
    GENERAL,
    GONE,
    GUEST,
    PARTNER,
    RANDOM,
    SECRET,
    running_sandbox,
    sandbox_client,
)

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with running_sandbox() as server:
        yield server


@pytest.fixture
def client(server: SandboxServer) -> AsyncWebClient:
    return sandbox_client(server)


async def error_of(call) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call
    return raised.value.response["error"]


async def test_auth_test_answers_with_the_bot_identity(client):
    response = await client.auth_test()
    assert response["user_id"] == BOT
    assert response["bot_id"] == "B0TRELLIS"
    assert response["team_id"] == "T0ACME"


async def test_tokens_are_checked_like_slack(server):
    assert await error_of(AsyncWebClient(base_url=server.api_url).auth_test()) == "not_authed"
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=server.api_url)
    assert await error_of(wrong.auth_test()) == "invalid_auth"
    app_level = AsyncWebClient(token=server.app_token, base_url=server.api_url)
    assert await error_of(app_level.auth_test()) == "not_allowed_token_type"
    bot = sandbox_client(server)
    assert await error_of(bot.apps_connections_open(app_token=server.bot_token)) == (
        "not_allowed_token_type"
    )
    opened = await bot.apps_connections_open(app_token=server.app_token)
    assert opened["url"].startswith(f"ws://127.0.0.1:{server.port}/link/?ticket=")


async def test_every_call_is_recorded_without_its_token(server, client):
    await client.chat_postMessage(channel=GENERAL, text="hi")
    call = await server.wait_for_call("chat.postMessage")
    assert call.params == {"channel": GENERAL, "text": "hi"}
    assert call.response["ok"] is True
    assert call.status == 200


async def test_posted_message_is_stored_and_read_back(server, client):
    posted = await client.chat_postMessage(channel=GENERAL, text="Hello", blocks=[SECTION])
    assert posted["channel"] == GENERAL
    assert posted["message"]["bot_id"] == "B0TRELLIS"
    [stored] = server.messages(GENERAL)
    assert (stored.ts, stored.text, stored.user) == (posted["ts"], "Hello", BOT)
    assert stored.blocks[0]["block_id"]  # Slack fills in block ids
    history = await client.conversations_history(channel=GENERAL)
    assert [m["ts"] for m in history["messages"]] == [posted["ts"]]


async def test_thread_replies_count_and_read_in_order(server, client):
    parent = await server.post_message(ANA, GENERAL, "question")
    first = await client.chat_postMessage(channel=GENERAL, text="one", thread_ts=parent)
    await server.post_message(BO, GENERAL, "two", thread_ts=parent)
    replies = await client.conversations_replies(channel=GENERAL, ts=parent)
    assert [m["text"] for m in replies["messages"]] == ["question", "one", "two"]
    assert replies["messages"][0]["reply_count"] == 2
    assert replies["messages"][0]["reply_users"] == [BOT, BO]
    assert replies["messages"][1]["parent_user_id"] == ANA
    history = await client.conversations_history(channel=GENERAL)
    assert [m["text"] for m in history["messages"]] == ["question"]
    link = await client.chat_getPermalink(channel=GENERAL, message_ts=first["ts"])
    assert link["permalink"].startswith(f"https://acme.slack.com/archives/{GENERAL}/p")
    assert f"thread_ts={parent}" in link["permalink"]


async def test_thread_replies_come_fifteen_at_most_a_page_with_a_cursor(server, client):
    parent = await server.post_message(ANA, GENERAL, "question")
    replies = [await server.post_message(BO, GENERAL, f"r{i}", thread_ts=parent) for i in range(40)]
    read, cursor, pages = [], None, 0
    while True:
        page = await client.conversations_replies(
            channel=GENERAL, ts=parent, limit=100, cursor=cursor
        )
        assert len(page["messages"]) <= 15
        read += [m["ts"] for m in page["messages"]]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert read == [parent, *replies] and pages == 3
    small = await client.conversations_replies(channel=GENERAL, ts=parent, limit=4)
    assert len(small["messages"]) == 4
    since = await client.conversations_replies(
        channel=GENERAL, ts=parent, oldest=replies[30], inclusive=True
    )
    assert [m["ts"] for m in since["messages"]] == replies[30:]


async def test_timestamps_are_unique_and_increasing(server, client):
    stamps = [(await client.chat_postMessage(channel=GENERAL, text=str(i)))["ts"] for i in range(5)]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


async def test_update_and_delete_only_the_bots_messages(server, client):
    posted = await client.chat_postMessage(channel=GENERAL, text="draft", blocks=[SECTION])
    updated = await client.chat_update(channel=GENERAL, ts=posted["ts"], text="final")
    assert updated["text"] == "final"
    [message] = server.messages(GENERAL)
    assert message.text == "final" and message.blocks  # blocks kept when not passed
    await client.chat_update(channel=GENERAL, ts=posted["ts"], text="plain", blocks=[])
    assert server.messages(GENERAL)[0].blocks is None
    theirs = await server.post_message(ANA, GENERAL, "mine")
    assert await error_of(client.chat_update(channel=GENERAL, ts=theirs, text="x")) == (
        "cant_update_message"
    )
    assert await error_of(client.chat_delete(channel=GENERAL, ts=theirs)) == "cant_delete_message"
    assert await error_of(client.chat_update(channel=GENERAL, ts="1.000001", text="x")) == (
        "message_not_found"
    )
    await client.chat_delete(channel=GENERAL, ts=posted["ts"])
    assert [m.ts for m in server.messages(GENERAL)] == [theirs]


async def test_channel_access_errors_match_slack(client):
    assert await error_of(client.chat_postMessage(channel="C0NOPE", text="x")) == (
        "channel_not_found"
    )
    assert await error_of(client.chat_postMessage(channel=SECRET, text="x")) == "channel_not_found"
    assert await error_of(client.chat_postMessage(channel=RANDOM, text="x")) == "not_in_channel"
    assert await error_of(client.conversations_info(channel=SECRET)) == "channel_not_found"
    info = await client.conversations_info(channel=RANDOM)
    assert info["channel"]["is_member"] is False
    private = await client.conversations_info(channel=DEALS)
    assert private["channel"]["is_private"] is True


async def test_message_content_is_validated(client):
    empty = client.api_call("chat.postMessage", json={"channel": GENERAL})
    assert await error_of(empty) == "no_text"
    too_long = "x" * 40_001
    assert await error_of(client.chat_postMessage(channel=GENERAL, text=too_long)) == (
        "msg_too_long"
    )


async def test_invalid_blocks_are_refused_with_the_reasons(client):
    bad = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
        {"type": "no_such_block"},
    ]
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=GENERAL, text="fallback", blocks=bad)
    body = raised.value.response
    assert body["error"] == "invalid_blocks"
    assert any("3000" in e and "/blocks/0" in e for e in body["errors"])
    assert any("no_such_block" in e and "/blocks/1" in e for e in body["errors"])


async def test_form_encoded_bodies_are_accepted(server, client):
    response = await client.api_call(
        "chat.postMessage",
        data={"channel": GENERAL, "text": "form", "blocks": '[{"type": "divider"}]'},
    )
    assert response["ok"] is True
    assert server.messages(GENERAL)[0].blocks[0]["type"] == "divider"
    broken = client.api_call("chat.postMessage", data={"channel": GENERAL, "blocks": "[{"})
    assert await error_of(broken) == "invalid_blocks_format"


async def test_people_are_described_like_slack(client):
    ana = (await client.users_info(user=ANA))["user"]
    assert ana["profile"]["email"] == "ana@acme.example"
    assert ana["is_restricted"] is False and ana["is_bot"] is False
    guest = (await client.users_info(user=GUEST))["user"]
    assert guest["is_restricted"] is True and guest["is_ultra_restricted"] is True
    partner = (await client.users_info(user=PARTNER))["user"]
    assert partner["team_id"] == "T0PARTNER" and partner["is_stranger"] is True
    assert (await client.users_info(user=GONE))["user"]["deleted"] is True
    bot = (await client.users_info(user=BOT))["user"]
    assert bot["is_bot"] is True and bot["profile"]["bot_id"] == "B0TRELLIS"
    assert await error_of(client.users_info(user="U0NOBODY")) == "user_not_found"


async def test_lookup_by_email_finds_only_active_local_people(client):
    found = await client.users_lookupByEmail(email="BO@acme.example")
    assert found["user"]["id"] == BO
    for email in ("gone@acme.example", "pat@partner.example", "nobody@acme.example"):
        assert await error_of(client.users_lookupByEmail(email=email)) == "users_not_found"


async def test_members_are_paginated_with_cursors(client):
    pages, cursor = [], None
    while True:
        response = await client.conversations_members(channel=GENERAL, limit=3, cursor=cursor)
        pages.append(response["members"])
        cursor = response["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == [[ANA, BO, GUEST], [BOT]]
    assert await error_of(client.conversations_members(channel=GENERAL, cursor="%%")) == (
        "invalid_cursor"
    )


async def test_conversations_open_creates_one_dm_per_person(server, client):
    first = await client.conversations_open(users=ANA)
    again = await client.conversations_open(users=ANA, return_im=True)
    assert first["channel"]["id"].startswith("D")
    assert again["channel"]["id"] == first["channel"]["id"]
    assert again["channel"]["is_im"] is True and again["channel"]["user"] == ANA
    assert await error_of(client.conversations_open(users="U0NOBODY")) == "user_not_found"
    dm = await client.chat_postMessage(channel=ANA, text="to the DM")
    assert dm["channel"] == first["channel"]["id"]


async def test_reactions_are_added_read_and_removed(server, client):
    ts = await server.post_message(ANA, GENERAL, "answer me")
    await client.reactions_add(channel=GENERAL, timestamp=ts, name="eyes")
    assert await error_of(client.reactions_add(channel=GENERAL, timestamp=ts, name="eyes")) == (
        "already_reacted"
    )
    got = await client.reactions_get(channel=GENERAL, timestamp=ts)
    assert got["message"]["reactions"] == [{"name": "eyes", "users": [BOT], "count": 1}]
    await client.reactions_remove(channel=GENERAL, timestamp=ts, name="eyes")
    assert await error_of(client.reactions_remove(channel=GENERAL, timestamp=ts, name="eyes")) == (
        "no_reaction"
    )
    missing = client.reactions_add(channel=GENERAL, timestamp="1.000001", name="eyes")
    assert await error_of(missing) == "message_not_found"


async def test_ephemerals_are_seen_only_by_their_person(server, client):
    sent = await client.chat_postEphemeral(channel=GENERAL, user=ANA, text="just for you")
    assert sent["message_ts"]
    assert [e.text for e in server.ephemerals(ANA)] == ["just for you"]
    assert server.ephemerals(BO) == []
    assert server.messages(GENERAL) == []
    outsider = client.chat_postEphemeral(channel=DEALS, user=GUEST, text="x")
    assert await error_of(outsider) == "user_not_in_channel"


async def test_an_ephemeral_shows_in_a_thread_only_once_the_thread_has_replies(server, client):
    alone = await server.post_message(ANA, GENERAL, "no replies yet")
    sent = await client.chat_postEphemeral(channel=GENERAL, user=ANA, text="lost", thread_ts=alone)
    assert sent["ok"] and server.ephemerals(ANA) == []
    await server.post_message(BO, GENERAL, "a reply", thread_ts=alone)
    await client.chat_postEphemeral(channel=GENERAL, user=ANA, text="shown", thread_ts=alone)
    assert [(e.text, e.thread_ts) for e in server.ephemerals(ANA)] == [("shown", alone)]


async def test_rate_limit_answers_429_and_retry_after_is_honoured(server):
    server.rate_limit("chat.postMessage", times=1, retry_after=1)
    patient = sandbox_client(
        server, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)]
    )
    started = time.monotonic()
    response = await patient.chat_postMessage(channel=GENERAL, text="eventually")
    assert response["ok"] is True
    assert time.monotonic() - started >= 1.0
    limited, answered = server.calls_to("chat.postMessage")
    assert (limited.status, limited.response["error"]) == (429, "ratelimited")
    assert answered.status == 200
    server.rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        await sandbox_client(server).chat_postMessage(channel=GENERAL, text="impatient")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


async def test_a_message_over_slacks_block_and_text_limits_is_refused(client):
    most = [SECTION] * 50
    assert (await client.chat_postMessage(channel=GENERAL, text="ok", blocks=most))["ok"]
    too_many = client.chat_postMessage(channel=GENERAL, text="fallback", blocks=[*most, SECTION])
    assert await error_of(too_many) == "invalid_blocks"
    small_print = {"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]}
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=GENERAL, text="fallback", blocks=[small_print])
    assert raised.value.response["error"] == "invalid_blocks"
    assert any("/blocks/0/elements/0/text" in e for e in raised.value.response["errors"])


async def test_slack_failing_on_its_side_answers_a_5xx_page_or_its_error(server, client):
    server.fail("chat.postMessage", status=503)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=GENERAL, text="lost")
    assert raised.value.response.status_code == 503
    assert server.messages(GENERAL) == []  # the call was not carried out
    server.fail("conversations.info", times=2, status=200, error="fatal_error")
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            await client.conversations_info(channel=GENERAL)
        assert raised.value.response["error"] == "fatal_error"
    assert (await client.conversations_info(channel=GENERAL))["channel"]["id"] == GENERAL
    assert [c.status for c in server.calls_to("conversations.info")] == [200, 200, 200]
    assert [c.response["ok"] for c in server.calls_to("conversations.info")] == [False, False, True]


async def test_slack_may_carry_out_a_call_it_answers_with_a_5xx(server, client):
    server.fail("chat.postMessage", status=503, carried_out=True)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=GENERAL, text="posted all the same")
    assert raised.value.response.status_code == 503
    assert [m.text for m in server.messages(GENERAL)] == ["posted all the same"]


async def test_views_need_a_fresh_trigger_and_a_valid_view(server, client):
    modal = {
        "type": "modal",
        "callback_id": "ask",
        "title": {"type": "plain_text", "text": "Ask"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "q",
                "label": {"type": "plain_text", "text": "Question"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }
    assert await error_of(client.views_open(trigger_id="1.2.3", view=modal)) == (
        "invalid_trigger_id"
    )
    trigger = server.workspace.issue_trigger(ANA)
    opened = await client.views_open(trigger_id=trigger, view=modal)
    assert opened["view"]["id"].startswith("V")
    assert await error_of(client.views_open(trigger_id=trigger, view=modal)) == (
        "exchanged_trigger_id"
    )
    server.workspace.trigger_ttl = -1.0
    stale = server.workspace.issue_trigger(ANA)
    assert await error_of(client.views_open(trigger_id=stale, view=modal)) == "expired_trigger_id"
    untitled = {k: v for k, v in modal.items() if k != "title"}
    with pytest.raises(SlackApiError) as raised:
        await client.views_update(view_id=opened["view"]["id"], view=untitled)
    assert raised.value.response["error"] == "invalid_arguments"
    assert "title" in raised.value.response["response_metadata"]["messages"][0]
    view_hash = opened["view"]["hash"]
    renamed = {**modal, "title": {"type": "plain_text", "text": "Ask again"}}
    updated = await client.views_update(view_id=opened["view"]["id"], view=renamed, hash=view_hash)
    assert updated["view"]["hash"] != view_hash
    stale_update = client.views_update(view_id=opened["view"]["id"], view=modal, hash=view_hash)
    assert await error_of(stale_update) == "hash_conflict"


async def test_a_modal_whose_private_metadata_is_over_3000_characters_is_refused(server, client):
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Start"},
        "blocks": [SECTION],
        "private_metadata": "ж" * 3000,
    }
    opened = await client.views_open(trigger_id=server.workspace.issue_trigger(ANA), view=modal)
    assert len(opened["view"]["private_metadata"]) == 3000
    too_long = {**modal, "private_metadata": "ж" * 3001}
    refused = client.views_open(trigger_id=server.workspace.issue_trigger(ANA), view=too_long)
    assert await error_of(refused) == "invalid_arguments"


async def test_views_push_onto_the_modal_the_trigger_came_from(server, client):
    def modal(title: str) -> dict:
        section = {"type": "section", "text": {"type": "plain_text", "text": title}}
        return {
            "type": "modal",
            "title": {"type": "plain_text", "text": title},
            "blocks": [section],
        }

    root = await client.views_open(trigger_id=server.workspace.issue_trigger(BO), view=modal("1"))
    below = root["view"]["id"]
    for title in ("2", "3"):
        trigger = server.workspace.issue_trigger(BO, view_id=below)
        pushed = await client.views_push(trigger_id=trigger, view=modal(title))
        assert pushed["view"]["previous_view_id"] == below
        assert pushed["view"]["root_view_id"] == root["view"]["id"]
        below = pushed["view"]["id"]
    trigger = server.workspace.issue_trigger(BO, view_id=below)
    assert await error_of(client.views_push(trigger_id=trigger, view=modal("4"))) == (
        "push_limit_reached"
    )
    assert [v.spec["title"]["text"] for v in server.open_views(BO)] == ["1", "2", "3"]


async def test_home_tab_is_published_per_person(server, client):
    home = {"type": "home", "blocks": [SECTION]}
    published = await client.views_publish(user_id=ANA, view=home)
    assert published["view"]["type"] == "home"
    assert server.home_view(ANA).spec["blocks"][0]["text"]["text"] == "*Hello*"
    assert server.home_view(BO) is None
    modal_as_home = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    assert await error_of(client.views_publish(user_id=ANA, view=modal_as_home)) == (
        "invalid_arguments"
    )


async def test_conversations_are_looked_up_by_id_and_listed_page_by_page(client):
    # conversations.info takes an id, not a name; chat.postMessage takes either.
    assert await error_of(client.conversations_info(channel="#general")) == "channel_not_found"
    assert (await client.chat_postMessage(channel="#general", text="hi"))["channel"] == GENERAL
    public = await client.conversations_list(limit=2)
    names = [c["name"] for c in public["channels"]]
    assert len(names) == 2 and public["response_metadata"]["next_cursor"]
    rest = await client.conversations_list(
        limit=2, cursor=public["response_metadata"]["next_cursor"]
    )
    names += [c["name"] for c in rest["channels"]]
    both = await client.conversations_list(types="public_channel,private_channel", limit=100)
    ids = {c["id"] for c in both["channels"]}
    assert {GENERAL, RANDOM, DEALS} <= ids  # public ones whether in them or not
    assert SECRET not in ids  # a private channel the bot is not in
    assert DEALS not in {c["id"] for c in (await client.conversations_list(limit=100))["channels"]}
    assert await error_of(client.conversations_list(types="dm")) == "invalid_types"
