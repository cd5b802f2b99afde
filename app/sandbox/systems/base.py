"""What the stand-ins share: the record of one thing received, and an HTTP server on a free
loopback port."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

HOST = "127.0.0.1"
KEY_PREFIX = "trellis:"
NAMES = {
    "sql": "CRM database",
    "webhook": "Webhook receiver",
    "email": "Mail server",
    "ticketing": "Tickets",
}
"""The systems by connector slug, in the order the Systems view lists them."""


@dataclass
class Received:
    """One thing a downstream system received, as the browser's Systems view shows it."""

    system: str
    """email | ticketing | sql | webhook"""
    id: str
    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    key: str | None = None
    """The idempotency key the delivery carried (`trellis:<draft id>:<action position>`)."""
    marker: str | None = None
    """Ticketing: the delivery marker Trellis writes into a comment instead of a key."""
    verified: bool | None = None
    """Webhook: whether the signature verified."""
    at: float = field(default_factory=time.time)


def draft_of(key: str | None) -> str | None:
    """The draft an idempotency key belongs to (app/approvals/execution.py makes the keys)."""
    if not key or not key.startswith(KEY_PREFIX):
        return None
    draft, _, position = key.removeprefix(KEY_PREFIX).rpartition(":")
    return draft if draft and position.isdigit() else None


class HttpStandIn:
    """An aiohttp server on a free loopback port; `changed()` after each thing received."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self.changed = changed
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
