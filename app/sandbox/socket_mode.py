"""Slack's Socket Mode side: single-use tickets from apps.connections.open, the `/link/`
WebSocket with its `hello`, envelopes spread round robin over open connections, acks, and the
redelivery of Events API envelopes that are not acknowledged in time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

MAX_CONNECTIONS = 10
EVENTS_API = "events_api"
DEBUG_INFO = {"host": "applink-sandbox", "build_number": 1, "approximate_connection_time": 18060}


@dataclass
class Envelope:
    """One attempt to hand a payload to the app."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int | None = None
    retry_reason: str | None = None
    connection_id: int | None = None
    acked: bool = False
    ack_payload: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == EVENTS_API:
            body["retry_attempt"] = self.retry_attempt
            body["retry_reason"] = self.retry_reason
        return body


class Delivery:
    """A payload on its way to the app: its envelopes (one per attempt) and the outcome."""

    def __init__(
        self, type: str, payload: dict[str, Any], *, accepts_response_payload: bool
    ) -> None:
        self.type = type
        self.payload = payload
        self.accepts_response_payload = accepts_response_payload
        self.envelopes: list[Envelope] = []
        self._outcome: asyncio.Future[dict[str, Any] | None] = (
            asyncio.get_running_loop().create_future()
        )

    @property
    def acked(self) -> bool:
        return self._outcome.done() and self._outcome.result() is not None

    def settle(self, ack_payload: dict[str, Any] | None) -> None:
        if not self._outcome.done():
            self._outcome.set_result(ack_payload)

    async def wait(self) -> dict[str, Any] | None:
        """The ack's payload (`{}` when it carried none), or None if the app never acked."""
        return await asyncio.shield(self._outcome)


@dataclass
class Connection:
    id: int
    ws: web.WebSocketResponse
    draining: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class SocketModeGateway:
    """The app's Socket Mode connections and everything sent over them."""

    def __init__(
        self,
        *,
        app_id: str,
        ack_timeout: float = 3.0,
        max_retries: int = 3,
        refresh_grace: float = 10.0,
    ) -> None:
        self.app_id = app_id
        self.ack_timeout = ack_timeout
        self.max_retries = max_retries
        self.refresh_grace = refresh_grace
        self.link_url = ""
        self.envelopes: list[Envelope] = []
        self.deliveries: list[Delivery] = []
        self.connections: list[Connection] = []
        self._tickets: set[str] = set()
        self._deliveries: dict[str, Delivery] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._opened = asyncio.Event()
        self._closing = False

    # -- connecting -------------------------------------------------------------------------

    def open_url(self) -> str:
        """A fresh single-use WebSocket URL, as apps.connections.open returns it."""
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return f"{self.link_url}?ticket={ticket}&app_id={self.app_id}"

    @property
    def active(self) -> list[Connection]:
        return [c for c in self.connections if not c.draining and not c.ws.closed]

    async def handle_link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets or self._closing:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if len(self.active) >= MAX_CONNECTIONS:
            await ws.send_json(
                {"type": "disconnect", "reason": "too_many_websockets", "debug_info": DEBUG_INFO}
            )
            await ws.close()
            return ws
        connection = Connection(id=next(self._ids), ws=ws)
        self.connections.append(connection)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.active),
                "debug_info": DEBUG_INFO,
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._opened.set()
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._on_text(connection, frame.data)
        finally:
            self.connections.remove(connection)
            connection.closed.set()
        return ws

    async def wait_for_connections(self, count: int = 1) -> None:
        while len(self.active) < count:
            self._opened.clear()
            await self._opened.wait()

    def request_refresh(self) -> None:
        """Ask every open connection to reconnect, as Slack does every few hours."""
        for connection in self.active:
            connection.draining = True
            self._spawn(self._refresh(connection))

    async def _refresh(self, connection: Connection) -> None:
        message = {"type": "disconnect", "reason": "refresh_requested", "debug_info": DEBUG_INFO}
        with contextlib.suppress(ConnectionError, RuntimeError):
            await connection.ws.send_json(message)
        await asyncio.sleep(self.refresh_grace)
        await connection.ws.close(code=WSCloseCode.GOING_AWAY)

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for connection in list(self.connections):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # -- delivering -------------------------------------------------------------------------

    def deliver(
        self, type: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> Delivery:
        """Send `payload` in an envelope; Events API envelopes are retried until acked."""
        delivery = Delivery(type, payload, accepts_response_payload=type != EVENTS_API)
        self.deliveries.append(delivery)
        retries = self.max_retries - retry_attempt if type == EVENTS_API else 0
        self._spawn(self._run(delivery, retry_attempt, retry_reason, max(retries, 0)))
        return delivery

    def redeliver(self, envelope_id: str) -> Delivery:
        """Send an envelope's payload again as Slack's next retry of it."""
        envelope = next(e for e in self.envelopes if e.envelope_id == envelope_id)
        return self.deliver(
            envelope.type,
            envelope.payload,
            retry_attempt=(envelope.retry_attempt or 0) + 1,
            retry_reason="timeout",
        )

    async def _run(self, delivery: Delivery, attempt: int, reason: str, retries: int) -> None:
        for _ in range(retries + 1):
            envelope = Envelope(
                envelope_id=str(uuid.uuid4()),
                type=delivery.type,
                payload=delivery.payload,
                accepts_response_payload=delivery.accepts_response_payload,
                retry_attempt=attempt,
                retry_reason=reason,
            )
            delivery.envelopes.append(envelope)
            self.envelopes.append(envelope)
            self._deliveries[envelope.envelope_id] = delivery
            if await self._send(envelope):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ack_timeout):
                        await delivery.wait()
            if delivery.acked:
                return
            attempt, reason = attempt + 1, "timeout"
        delivery.settle(None)

    async def _send(self, envelope: Envelope) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ack_timeout
        while True:
            active = self.active
            if active:
                connection = active[next(self._turn) % len(active)]
                try:
                    await connection.ws.send_str(json.dumps(envelope.to_json()))
                except (ConnectionError, RuntimeError):
                    connection.draining = True
                    continue
                envelope.connection_id = connection.id
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._opened.clear()
            try:
                await asyncio.wait_for(self._opened.wait(), remaining)
            except TimeoutError:
                return False

    def _on_text(self, connection: Connection, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        connection.received.append(message)
        envelope_id = message.get("envelope_id")
        delivery = self._deliveries.get(envelope_id or "")
        if delivery is None:
            return
        ack_payload = message.get("payload") or {}
        for envelope in delivery.envelopes:
            if envelope.envelope_id == envelope_id:
                envelope.acked, envelope.ack_payload = True, ack_payload
        delivery.settle(ack_payload)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()
