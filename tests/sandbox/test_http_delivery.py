"""The sandbox's HTTP side, seen by a plain aiohttp receiver: what Slack POSTs to a request
URL, signed as Slack signs it, with its retries and its three seconds to acknowledge."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from app.sandbox.simulation import OperationTimeout
from tests.sandbox_helpers import ANA, BOT, GENERAL, running_sandbox

SECRET = "test-signing-secret"


@dataclass
class Received:
    body: str
    headers: dict[str, str]
    valid: bool


@dataclass
class Receiver:
    """A request URL answering each request with `answer(request number)`."""

    answer: Callable[[int], web.Response | None]
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        headers = dict(request.headers)
        valid = SignatureVerifier(SECRET).is_valid_request(body, headers)
        self.received.append(Received(body, headers, valid))
        sent = json.loads(body) if body.startswith("{") else {}
        if sent.get("type") == "url_verification":
            return web.json_response({"challenge": sent["challenge"]})
        answer = self.answer(len(self.received))
        if answer is None:
            await asyncio.sleep(1.0)
            return web.Response(status=200)
        return answer


@asynccontextmanager
async def receiving(answer: Callable[[int], web.Response | None]) -> AsyncIterator[Receiver]:
    receiver = Receiver(answer)
    app = web.Application()
    app.router.add_post("/slack/events", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def ok(_: int) -> web.Response:
    return web.Response(status=200)


async def test_events_are_signed_json_and_the_request_url_answers_the_challenge():
    async with (
        receiving(ok) as receiver,
        running_sandbox(delivery="http", signing_secret=SECRET) as server,
    ):
        assert server.http is not None and await server.http.set_request_url(receiver.url)
        await server.post_message(ANA, GENERAL, f"<@{BOT}> hello")
        acks = await asyncio.gather(*(d.wait() for d in server.gateway.deliveries))
    assert acks == [{}, {}]
    challenge, *events = receiver.received
    assert json.loads(challenge.body)["type"] == "url_verification"
    assert all(r.valid for r in receiver.received)
    assert {json.loads(e.body)["event"]["type"] for e in events} == {"message", "app_mention"}
    assert all(e.headers["Content-Type"] == "application/json" for e in events)
    assert all("X-Slack-Retry-Num" not in e.headers for e in events)


async def test_a_failed_event_is_retried_with_its_number_and_reason_and_a_fresh_signature():
    def fail_twice(n: int) -> web.Response:
        return web.Response(status=500 if n <= 3 else 200)  # n 1 is the challenge

    async with (
        receiving(fail_twice) as receiver,
        running_sandbox(delivery="http", signing_secret=SECRET) as server,
    ):
        assert server.http is not None and await server.http.set_request_url(receiver.url)
        server.deliver_event({"type": "event_callback", "event_id": "Ev1", "event": {}})
        delivery = server.gateway.deliveries[-1]
        assert await delivery.wait() == {}
    attempts = receiver.received[1:]
    assert [a.headers.get("X-Slack-Retry-Num") for a in attempts] == [None, "1", "2"]
    assert [a.headers.get("X-Slack-Retry-Reason") for a in attempts] == [None, *["http_error"] * 2]
    assert len({a.headers["X-Slack-Signature"] for a in attempts}) == 3
    assert all(a.valid for a in attempts)


async def test_an_event_not_acknowledged_in_time_is_retried_as_a_timeout():
    async with (
        receiving(lambda n: None if n == 2 else ok(n)) as receiver,
        running_sandbox(delivery="http", signing_secret=SECRET, ack_timeout=0.3) as server,
    ):
        assert server.http is not None and await server.http.set_request_url(receiver.url)
        server.deliver_event({"type": "event_callback", "event_id": "Ev2", "event": {}})
        assert await server.gateway.deliveries[-1].wait() == {}
    assert receiver.received[2].headers["X-Slack-Retry-Reason"] == "http_timeout"


async def test_slash_commands_and_clicks_are_signed_forms_and_their_answers_are_the_ack():
    def answer(n: int) -> web.Response:
        return web.json_response({"text": f"ack {n}"})

    async with (
        receiving(answer) as receiver,
        running_sandbox(delivery="http", signing_secret=SECRET) as server,
    ):
        assert server.http is not None and await server.http.set_request_url(receiver.url)
        ack = await server.slash_command(ANA, GENERAL, "/trellis", "about")
    assert ack == {"text": "ack 2"}
    command = receiver.received[1]
    assert command.valid
    assert command.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(command.body)
    assert form["command"] == ["/trellis"] and form["text"] == ["about"]


async def test_an_interactive_payload_not_acknowledged_is_not_retried_and_the_person_is_told():
    async with (
        receiving(lambda n: web.Response(status=500)) as receiver,
        running_sandbox(delivery="http", signing_secret=SECRET) as server,
    ):
        assert server.http is not None and await server.http.set_request_url(receiver.url)
        with pytest.raises(OperationTimeout):
            await server.slash_command(ANA, GENERAL, "/trellis", "about")
    assert len(receiver.received) == 2
