"""Running the real Bolt app and slack_sdk clients against the sandbox.

async with running_sandbox() as server:
    async with running_bolt_app(server, register) as app:
        await server.post_message(ANA, GENERAL, f"<@{BOT}> hello")
        reply = await server.wait_for_message(GENERAL, lambda m: m.bot_id is not None)
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from app.sandbox import SandboxServer, SandboxWorkspace

TEAM = "T0ACME"
BOT = "U0TRELLIS"
ANA = "U01ANA"  # support lead, in every channel
BO = "U02BO"  # sales manager
GUEST = "U03GUEST"  # single-channel guest
PARTNER = "U04PARTNER"  # Slack Connect user from another company
GONE = "U05GONE"  # deactivated
GENERAL = "C0GENERAL"  # public, bot is a member
RANDOM = "C0RANDOM"  # public, bot is not a member
DEALS = "C0DEALS"  # private, bot is a member
SECRET = "C0SECRET"  # private, bot is not a member
SHARED = "C0SHARED"  # Slack Connect channel, bot is a member


def sample_seed() -> dict:
    """A small workspace with one of each kind of person and channel."""
    return {
        "team": {"id": TEAM, "name": "Acme", "domain": "acme"},
        "bot": {"user_id": BOT, "bot_id": "B0TRELLIS", "app_id": "A0TRELLIS", "name": "trellis"},
        "users": [
            {"id": ANA, "name": "ana", "real_name": "Ana Souza", "email": "ana@acme.example"},
            {"id": BO, "name": "bo", "real_name": "Bo Chen", "email": "bo@acme.example"},
            {
                "id": GUEST,
                "name": "gil",
                "real_name": "Gil Guest",
                "email": "gil@contractor.example",
                "guest": "single",
            },
            {
                "id": PARTNER,
                "name": "pat",
                "real_name": "Pat Partner",
                "email": "pat@partner.example",
                "external": "T0PARTNER",
            },
            {
                "id": GONE,
                "name": "gone",
                "real_name": "Former Employee",
                "email": "gone@acme.example",
                "deleted": True,
            },
        ],
        "channels": [
            {"id": GENERAL, "name": "general", "members": [ANA, BO, GUEST, BOT]},
            {"id": RANDOM, "name": "random", "members": [ANA, BO]},
            {"id": DEALS, "name": "deals", "members": [ANA, BO, BOT], "is_private": True},
            {"id": SECRET, "name": "secret", "members": [BO], "is_private": True},
            {
                "id": SHARED,
                "name": "acme-partner",
                "members": [ANA, PARTNER, BOT],
                "is_ext_shared": True,
            },
        ],
    }


@asynccontextmanager
async def running_sandbox(seed: dict | None = None, **options: Any) -> AsyncIterator[SandboxServer]:
    """A started SandboxServer on a free loopback port; `options` go to SandboxServer."""
    workspace = SandboxWorkspace.from_seed(seed or sample_seed())
    async with SandboxServer(workspace, **options) as server:
        yield server


def sandbox_client(server: SandboxServer, **options: Any) -> AsyncWebClient:
    """An AsyncWebClient holding the bot token, pointed at the sandbox's Web API."""
    return AsyncWebClient(token=server.bot_token, base_url=server.api_url, **options)


@asynccontextmanager
async def running_bolt_app(
    server: SandboxServer,
    register: Callable[[AsyncApp], None | Awaitable[None]],
    **app_options: Any,
) -> AsyncIterator[AsyncApp]:
    """An AsyncApp wired to the sandbox, `register(app)` called, connected over Socket Mode.

    The handler reaches apps.connections.open through the app's own client (it carries the
    sandbox's base_url; the app-level token is sent for that one call).
    """
    app = AsyncApp(client=sandbox_client(server), **app_options)
    registered = register(app)
    if inspect.isawaitable(registered):
        await registered
    handler = AsyncSocketModeHandler(app, server.app_token)
    connected = len(server.gateway.active)
    await handler.connect_async()
    try:
        await server.wait_for_connections(connected + 1)
        yield app
    finally:
        await handler.close_async()


class ReceivedEnvelopes(list[SocketModeRequest]):
    """The envelopes a recording client got, in order; `await wait_for(n)` until n arrived."""

    def __init__(self) -> None:
        super().__init__()
        self._arrived = asyncio.Event()

    def add(self, request: SocketModeRequest) -> None:
        self.append(request)
        self._arrived.set()

    async def wait_for(self, count: int, within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while len(self) < count:
                self._arrived.clear()
                await self._arrived.wait()


@asynccontextmanager
async def recording_socket_client(
    server: SandboxServer, acknowledge: Callable[[SocketModeRequest], bool] = lambda request: True
) -> AsyncIterator[ReceivedEnvelopes]:
    """A bare slack_sdk SocketModeClient that records every envelope it receives and acks
    those for which `acknowledge(request)` is true."""
    received = ReceivedEnvelopes()

    async def record(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.add(request)
        if acknowledge(request):
            await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    client = SocketModeClient(
        app_token=server.app_token, web_client=AsyncWebClient(base_url=server.api_url)
    )
    client.socket_mode_request_listeners.append(record)
    connected = len(server.gateway.active)
    await client.connect()
    try:
        await server.wait_for_connections(connected + 1)
        yield received
    finally:
        await client.close()
