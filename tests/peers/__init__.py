"""Real local peers for the downstream connectors, listening on 127.0.0.1 on free ports.

Each peer is an async context manager that exposes its address and what it received. The
HTTP peers share `HttpPeer`, whose `faults` script lets a test make the next matching
requests fail the way real systems do: an error status, a 429 with Retry-After, a reply
slower than the client's timeout, or a reset connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, replace
from typing import Any, Literal, Self

from aiohttp import web

from workflows.base import ApprovedAction

FaultKind = Literal["status", "throttle", "slow", "reset"]


@dataclass
class Fault:
    kind: FaultKind
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    after: bool = False
    """Apply after the request was handled: the work is done but the reply is lost."""
    method: str | None = None
    path: str | None = None

    def matches(self, request: web.Request) -> bool:
        if self.method and request.method != self.method:
            return False
        return not self.path or request.path.startswith(self.path)


class FaultScript:
    """Faults for the next matching requests, used once each, in order."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []

    def _add(self, fault: Fault, times: int) -> None:
        self._queue.extend(replace(fault) for _ in range(times))

    def status(
        self,
        status: int = 500,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self._add(Fault("status", status=status, method=method, path=path), times)

    def throttle(
        self,
        retry_after: str = "7",
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self._add(
            Fault("throttle", status=429, retry_after=retry_after, method=method, path=path), times
        )

    def slow(
        self,
        delay: float,
        *,
        after: bool = True,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self._add(Fault("slow", delay=delay, after=after, method=method, path=path), times)

    def reset(
        self,
        *,
        after: bool = False,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self._add(Fault("reset", after=after, method=method, path=path), times)

    def take(self, request: web.Request) -> Fault | None:
        for i, fault in enumerate(self._queue):
            if fault.matches(request):
                return self._queue.pop(i)
        return None


class HttpPeer:
    """An aiohttp server on a free loopback port with a fault script in front of it."""

    def __init__(self) -> None:
        self.faults = FaultScript()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def middlewares(self) -> list[web.middleware]:
        return []

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._fault_middleware, *self.middlewares()])
        self.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler) -> web.StreamResponse:
        fault = self.faults.take(request)
        if fault is None:
            return await handler(request)
        if fault.after:
            response = await handler(request)
            await self._apply(request, fault)
            return response
        return await self._apply(request, fault) or await handler(request)

    async def _apply(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        if fault.kind == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.delay)
            return None
        if fault.kind == "reset":
            _reset(request)
            # The connection is gone; nothing will be written.
            return web.Response(status=599)
        if fault.kind == "throttle":
            return web.json_response(
                {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                status=429,
                headers={"Retry-After": fault.retry_after or "1"},
            )
        return web.json_response(
            {"errorMessages": [f"Internal server error ({fault.status})."], "errors": {}},
            status=fault.status,
        )


def _reset(request: web.Request) -> None:
    """Abort the connection with a TCP RST, as a crashing proxy would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def approved_action(connector: str, params: dict[str, Any], **changes: Any) -> ApprovedAction:
    """An approved discount-request action, as app/approvals/execution.py would hand it over."""
    fields: dict[str, Any] = {
        "action_id": "act-1",
        "draft_id": "drf-1",
        "workflow": "discount_request",
        "connector": connector,
        "params": params,
        "text": "Hello Jane,\n\nWe can offer Initech 15% off this renewal.\nThanks for your patience.",
        "title": "Discount for Initech",
        "requester_email": "ana@acme.example",
        "approved_by": ("bo@acme.example",),
        "draft_hash": "sha256:5f1c",
        "thread": "https://acme.slack.com/archives/C0DEALS01/p1700000000000100",
    }
    fields.update(changes)
    return ApprovedAction(**fields)
