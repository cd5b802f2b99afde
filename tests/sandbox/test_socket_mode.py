"""The sandbox's Socket Mode side, seen by raw slack_sdk clients and a plain WebSocket."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.sandbox_helpers import (
    ANA,
    BO,
    BOT,
    GENERAL,
    recording_socket_client,
    running_bolt_app,
    running_sandbox,
    sandbox_client,
)


async def open_link(server) -> str:
    opened = await sandbox_client(server).apps_connections_open(app_token=server.app_token)
    return opened["url"]


async def test_hello_greets_every_new_connection():
    async with (
        running_sandbox() as server,
        aiohttp.ClientSession() as session,
        session.ws_connect(await open_link(server)) as ws,
    ):
        hello = json.loads((await ws.receive()).data)
    assert hello["type"] == "hello"
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": "A0TRELLIS"}
    assert hello["debug_info"]["approximate_connection_time"] > 0


async def test_tickets_are_single_use():
    async with running_sandbox() as server, aiohttp.ClientSession() as session:
        url = await open_link(server)
        async with session.ws_connect(url):
            with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
                await session.ws_connect(url)
    assert raised.value.status == 401


async def test_envelopes_have_slacks_shape():
    async with (
        running_sandbox() as server,
        aiohttp.ClientSession() as session,
        session.ws_connect(await open_link(server)) as ws,
    ):
        await ws.receive()
        await server.post_message(ANA, GENERAL, f"<@{BOT}> hi")
        message = json.loads((await ws.receive()).data)
        mention = json.loads((await ws.receive()).data)
        for envelope in (message, mention):
            await ws.send_json({"envelope_id": envelope["envelope_id"]})
        for delivery in server.gateway.deliveries:
            await delivery.wait()
    assert set(message) == {
        "envelope_id",
        "payload",
        "type",
        "accepts_response_payload",
        "retry_attempt",
        "retry_reason",
    }
    assert (message["type"], message["accepts_response_payload"]) == ("events_api", False)
    assert (message["retry_attempt"], message["retry_reason"]) == (0, "")
    assert message["payload"]["event"]["type"] == "message"
    assert mention["payload"]["event"]["type"] == "app_mention"
    assert message["payload"]["event_id"] != mention["payload"]["event_id"]


async def test_unacknowledged_event_is_redelivered_with_retry_attempt():
    async with running_sandbox(ack_timeout=0.3) as server:
        late = recording_socket_client(server, acknowledge=lambda r: r.retry_attempt >= 1)
        async with late as received:
            await server.post_message(ANA, GENERAL, "anyone?")
            await received.wait_for(2)
            await server.gateway.deliveries[0].wait()
    first, retry = received
    assert (first.retry_attempt, first.retry_reason) == (0, "")
    assert (retry.retry_attempt, retry.retry_reason) == (1, "timeout")
    assert retry.payload["event_id"] == first.payload["event_id"]
    assert retry.envelope_id != first.envelope_id
    assert len(server.gateway.envelopes) == 2


async def test_redelivery_stops_after_three_retries():
    async with (
        running_sandbox(ack_timeout=0.1) as server,
        recording_socket_client(server, acknowledge=lambda r: False) as received,
    ):
        await server.post_message(ANA, GENERAL, "anyone?")
        assert await server.gateway.deliveries[0].wait() is None
    assert [r.retry_attempt for r in received] == [0, 1, 2, 3]


async def test_an_event_can_be_replayed_as_slacks_retry():
    async with running_sandbox() as server, recording_socket_client(server) as received:
        await server.post_message(ANA, GENERAL, "hello")
        await server.gateway.deliveries[0].wait()
        again = server.redeliver(server.gateway.envelopes[0].envelope_id)
        assert await again.wait() == {}
        replayed = server.deliver_event(
            received[0].payload, retry_attempt=2, retry_reason="timeout"
        )
        await replayed.wait()
    assert [r.retry_attempt for r in received] == [0, 1, 2]
    assert len({r.payload["event_id"] for r in received}) == 1


async def test_envelopes_are_spread_round_robin_over_connections():
    async with (
        running_sandbox() as server,
        recording_socket_client(server) as one,
        recording_socket_client(server) as two,
    ):
        for n in range(4):
            await server.post_message(ANA, GENERAL, f"message {n}")
        for delivery in server.gateway.deliveries:
            await delivery.wait()
    assert len(one) == 2 and len(two) == 2


async def test_refresh_makes_the_app_reconnect_and_keep_working():
    def register(app):
        @app.event("app_mention")
        async def answer(event, say):
            await say(text="still here", thread_ts=event["ts"])

    async with running_sandbox() as server, running_bolt_app(server, register):
        [before] = server.gateway.active
        server.request_refresh()
        await server.wait_for_connections(1)
        await before.closed.wait()
        [after] = server.gateway.active
        assert len(server.calls_to("apps.connections.open")) == 2
        assert after.id != before.id
        asked = await server.post_message(BO, GENERAL, f"<@{BOT}> are you there?")
        reply = await server.wait_for_message(GENERAL, lambda m: m.thread_ts == asked and m.bot_id)
    assert reply.text == "still here"
    assert {e.connection_id for e in server.gateway.envelopes} == {after.id}
