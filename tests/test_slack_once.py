"""A post that may be tried again (the outbox, the approval sweep, a restart) shows once:
it carries its key in Slack's message metadata, and the conversation is read for it first.
Against the sandbox over loopback, with the real retrying client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.errors import SlackUnavailable
from app.notifications import Once
from app.sandbox import SandboxServer
from app.slack_api import SlackGateway, retrying_client
from app.slack_once import metadata_of, post_once
from tests.sandbox_helpers import GENERAL, RANDOM, running_sandbox


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with running_sandbox() as server:
        yield server


@pytest.fixture
async def gateway(server: SandboxServer) -> SlackGateway:
    gateway = SlackGateway(retrying_client(server.bot_token, base_url=server.api_url))
    await gateway.connect()
    return gateway


def once(key: str) -> Once:
    return Once(key, datetime.now(UTC) - timedelta(seconds=1))


async def test_a_post_slack_carried_out_but_failed_on_is_not_shown_twice(server, gateway):
    server.fail("chat.postMessage", status=503, carried_out=True)
    card = once("card:d1")
    with pytest.raises(SlackUnavailable):  # the caller tries again later
        await post_once(gateway, channel=GENERAL, once=card, text="Discount request, 18 %")
    ts = await post_once(gateway, channel=GENERAL, once=card, text="Discount request, 18 %")
    assert [m.ts for m in server.messages(GENERAL)] == [ts]
    assert len(server.calls_to("chat.postMessage")) == 1  # found, not posted again

    other = await post_once(gateway, channel=GENERAL, once=once("card:d2"), text="Another")
    assert other != ts and len(server.messages(GENERAL)) == 2


async def test_a_reply_in_a_thread_is_found_in_its_thread(server, gateway):
    head = await gateway.post(channel=GENERAL, text="Where is the VPN guide?")
    answer = once("answer:d3")
    first = await post_once(gateway, channel=GENERAL, thread_ts=head, once=answer, text="Here")
    again = await post_once(gateway, channel=GENERAL, thread_ts=head, once=answer, text="Here")
    assert first == again
    assert len([m for m in server.messages(GENERAL) if m.thread_ts == head]) == 2


async def test_a_post_older_than_its_key_or_by_someone_else_is_not_taken_for_it(server, gateway):
    late = Once("card:d4", datetime.now(UTC) + timedelta(hours=1))  # nothing before it counts
    await gateway.post(channel=GENERAL, text="x", metadata=metadata_of(late))
    ts = await post_once(gateway, channel=GENERAL, once=late, text="x")
    assert len(server.messages(GENERAL)) == 2 and server.messages(GENERAL)[-1].ts == ts


async def test_a_conversation_trellis_cannot_read_does_not_withhold_the_post(server, gateway):
    server.workspace.conversations[RANDOM].members.append(server.workspace.bot.user_id)
    server.fail("conversations.history", status=200, error="missing_scope")
    ts = await post_once(gateway, channel=RANDOM, once=once("card:d5"), text="Card")
    assert [m.ts for m in server.messages(RANDOM)] == [ts]


async def test_slack_gives_a_messages_metadata_only_when_asked(server, gateway):
    key = once("card:d6")
    await gateway.post(channel=GENERAL, text="Card", metadata=metadata_of(key))
    plain, _ = await gateway.history(GENERAL)
    full, _ = await gateway.history(GENERAL, metadata=True)
    assert "metadata" not in plain[0]
    assert full[0]["metadata"] == {
        "event_type": "trellis_post",
        "event_payload": {"key": "card:d6"},
    }
