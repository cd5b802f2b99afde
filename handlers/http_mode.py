"""Slack over HTTP: the Events API, interactivity and slash commands at one request URL.

Bolt checks each request's signature (SLACK_SIGNING_SECRET) and rejects a wrong or missing
one, a changed body, or a timestamp more than five minutes off, with 401. Within those five
minutes a captured request would still pass, so `ReplayGuard` then lets each signature through
once: remembered in the database (the handled-events table, with the event claims) when it
is PostgreSQL, which every replica behind the balancer shares, and in this process when it
is SQLite, where one process serves. Both run before any listener, so a rejected request
writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from app.db.claims import DeliveryClaims
from app.services import Services

log = structlog.get_logger(__name__)

REQUEST_PATH = "/slack/events"
SIGNATURE_WINDOW = 5 * 60
"""Bolt accepts a request timestamp up to five minutes away from now, either way."""
KEY_PREFIX = "slack-signature:"
SLACK_RETRIES = {"1", "2", "3"}
"""Values of X-Slack-Retry-Num: Slack retries an Events API request up to three times."""


class SeenSignatures(Protocol):
    async def first_time(self, signature: str, timestamp: int) -> bool:
        """True the first time `signature` is offered; False for every later offer."""
        ...


class SignaturesInProcess:
    """Signatures seen by this process, each kept until Bolt would reject it as stale."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._next_sweep = 0.0

    async def first_time(self, signature: str, timestamp: int) -> bool:
        now = self._clock()
        if now >= self._next_sweep:
            self._until = {s: t for s, t in self._until.items() if t > now}
            self._next_sweep = now + 30
        if self._until.get(signature, 0.0) > now:
            return False
        self._until[signature] = max(now, timestamp) + SIGNATURE_WINDOW + 1
        return True


class SignaturesInDatabase:
    """Signatures claimed in the database, so a replay is caught by whichever replica gets it."""

    def __init__(self, claims: DeliveryClaims) -> None:
        self._claims = claims

    async def first_time(self, signature: str, timestamp: int) -> bool:
        return await self._claims.claim([KEY_PREFIX + signature])


def seen_signatures(services: Services) -> SeenSignatures:
    if services.database.is_postgres:
        return SignaturesInDatabase(services.claims)
    return SignaturesInProcess()


class ReplayGuard(AsyncMiddleware):
    """401 for an HTTP request whose (already verified) signature was seen before."""

    def __init__(self, seen: SeenSignatures) -> None:
        self.seen = seen

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        if req.mode == "socket_mode":
            return await next()
        signature = req.headers.get("x-slack-signature", [""])[0]
        timestamp = req.headers.get("x-slack-request-timestamp", ["0"])[0]
        retry = req.headers.get("x-slack-retry-num", [""])[0]
        if signature and retry in SLACK_RETRIES:
            # Slack's retry of a request that failed at once may come within the same second,
            # with the same signature: each of its (at most three) retries passes once.
            signature = f"{signature}:retry-{retry}"
        if signature and await self.seen.first_time(signature, int(timestamp)):
            return await next()
        log.warning("slack.request_replayed", timestamp=timestamp)
        return BoltResponse(status=401, body={"error": "invalid request"})


def guard_replays(app: AsyncApp, services: Services) -> None:
    """Add the replay guard; call before any other middleware or listener is registered."""
    app.use(ReplayGuard(seen_signatures(services)))


def add_request_route(web_app: web.Application, app: AsyncApp) -> None:
    """Serve Slack's requests for `app` at REQUEST_PATH of `web_app`."""

    async def slack_request(request: web.Request) -> web.Response:
        response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    web_app.router.add_post(REQUEST_PATH, slack_request)


def request_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}{REQUEST_PATH}"
