"""The Slack gateway against the sandbox over loopback, with the real retrying client: what is
tried again when Slack fails on its side, what is not, and what the caller then sees."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError

from app.errors import SlackUnavailable
from app.sandbox import SandboxServer
from app.sandbox.records import Conversation
from app.slack_api import SlackGateway, error_code, kept_alive_session, retrying_client
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


async def test_a_direct_message_is_described_once_and_a_channel_every_time(server, gateway):
    dm = await gateway.open_dm(ANA)
    for _ in range(3):
        assert (await gateway.channel(dm)).is_im
        assert (await gateway.channel(GENERAL)).name == "general"
    asked = [c.params.get("channel") for c in server.calls_to("conversations.info")]
    assert asked.count(dm) == 1  # conversations.info is Tier 3: a burst of DMs would wait
    assert asked.count(GENERAL) == 3  # renamed, made private or shared at any time
    server.workspace.conversations[GENERAL].name = "all-hands"
    assert (await gateway.channel(GENERAL)).name == "all-hands"


async def test_a_running_apps_calls_share_one_connection_to_slack(server):
    opened: list[object] = []

    async def counted(_session: object, _context: object, params: object) -> None:
        opened.append(params)

    async def calls(gateway: SlackGateway) -> None:
        for _ in range(4):
            await gateway.members(GENERAL)

    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_end.append(counted)
    async with kept_alive_session(trace_configs=[tracing]) as session:
        await calls(
            SlackGateway(
                retrying_client(server.bot_token, base_url=server.api_url, session=session)
            )
        )
    assert len(opened) == 1
    assert len(server.calls_to("conversations.members")) == 4
