"""The Slack gateway against the sandbox over loopback, with the real retrying client: what is
tried again when Slack fails on its side, what is not, and what the caller then sees."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError

from app.errors import SlackUnavailable
from app.sandbox import SandboxServer
from app.sandbox.records import Conversation
from app.slack_api import SlackGateway, error_code, retrying_client
from tests.sandbox_helpers import ANA, GENERAL, running_sandbox


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with running_sandbox() as server:
        yield server


@pytest.fixture
def gateway(server: SandboxServer) -> SlackGateway:
    return SlackGateway(retrying_client(server.bot_token, base_url=server.api_url))


async def test_a_read_slack_fails_on_is_tried_again(server, gateway):
    server.fail("conversations.members", times=2, status=503)
    server.fail("users.info", status=200, error="fatal_error")
    assert ANA in await gateway.members(GENERAL)
    assert (await gateway.user(ANA)).id == ANA
    assert [c.status for c in server.calls_to("conversations.members")] == [503, 503, 200]
    assert [c.response["ok"] for c in server.calls_to("users.info")] == [False, True]


async def test_a_post_slack_fails_on_is_not_repeated_and_is_slack_out_of_reach(server, gateway):
    server.fail("chat.postMessage", status=500)
    with pytest.raises(SlackUnavailable) as raised:
        await gateway.post(channel=GENERAL, text="Refunds take five days.")
    assert "could not be reached" in raised.value.user_message
    assert len(server.calls_to("chat.postMessage")) == 1  # a second post could show it twice
    server.fail("chat.postMessage", status=200, error="service_unavailable")
    with pytest.raises(SlackUnavailable) as raised:
        await gateway.post(channel=GENERAL, text="Refunds take five days.")
    assert error_code(raised.value) == "service_unavailable"
    assert len(server.calls_to("chat.postMessage")) == 2
    assert server.messages(GENERAL) == []


async def test_an_edit_slack_fails_on_is_tried_again(server, gateway):
    ts = await gateway.post(channel=GENERAL, text="Looking…")
    server.fail("chat.update", status=200, error="internal_error")
    await gateway.update(channel=GENERAL, ts=ts, text="Refunds take five days.")
    assert [m.text for m in server.messages(GENERAL)] == ["Refunds take five days."]


async def test_still_rate_limited_after_the_retries_is_slack_out_of_reach(server, gateway):
    server.rate_limit("conversations.info", times=4, retry_after=0)
    with pytest.raises(SlackUnavailable) as raised:
        await gateway.channel(GENERAL)
    assert error_code(raised.value) == "ratelimited"


async def test_a_refusal_stays_slacks_own_error(server, gateway):
    with pytest.raises(SlackApiError) as raised:
        await gateway.post(channel="C0NOPE", text="x")
    assert error_code(raised.value) == "channel_not_found"


async def test_a_channel_name_is_not_missing_because_slack_failed(server, gateway):
    server.fail("conversations.list", times=3, status=503)
    with pytest.raises(SlackUnavailable):
        await gateway.channel_id("#general")
    assert await gateway.channel_id("#general") == GENERAL
    assert await gateway.channel_id("#no-such-channel") is None


async def test_a_channel_named_in_the_workspace_is_found_through_conversations_list(
    server, gateway
):
    for n in range(250):  # more than one page of conversations.list
        server.workspace.conversations[f"C0X{n:05d}"] = Conversation(
            id=f"C0X{n:05d}", name=f"team-{n}", members=[ANA]
        )
    server.workspace.conversations["C0LATE"] = Conversation(
        id="C0LATE", name="late-approvals", members=[ANA]
    )
    assert await gateway.channel_id("#late-approvals") == "C0LATE"
    assert len(server.calls_to("conversations.list")) == 2
    assert not server.calls_to("conversations.info")  # Slack takes no names there
    assert await gateway.channel_id("#late-approvals") == "C0LATE"  # kept
    assert len(server.calls_to("conversations.list")) == 2
    assert await gateway.channel_id("#no-such-channel") is None


async def test_a_person_slack_will_not_show_is_nobody_rather_than_a_failure(server, gateway):
    server.fail("users.info", status=200, error="user_not_visible")
    assert await gateway.user(ANA) is None
    assert (await gateway.user(ANA)).id == ANA


async def test_the_workspaces_users_are_listed_page_by_page(server, gateway, monkeypatch):
    monkeypatch.setattr("app.slack_api.USERS_PAGE", 2)
    pages = [page async for page in gateway.users()]
    own = [u for u in server.workspace.users.values() if u.team_id == server.workspace.team.id]
    listed = [user for page in pages for user in page]
    assert sorted(u.id for u in listed) == sorted(u.id for u in own)
    assert all(len(page) <= 2 for page in pages) and len(pages) == (len(own) + 1) // 2
    assert len(server.calls_to("users.list")) == len(pages)
    assert not any(u.is_external for u in listed)
