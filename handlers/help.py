"""Help for whoever reads it: a guest or someone from another organisation, or a channel
they are in, is shown no internal channel, admin or workflow (app/identity/resolver.py)."""

from __future__ import annotations

import asyncio

import structlog

from app.identity import access
from app.services import Services
from handlers.gateway import slack_of
from handlers.views.blocks import escape
from handlers.views.help import help_text

log = structlog.get_logger(__name__)

HELP_SECONDS = 1.5
"""How long finding out who reads the help may take before a slash command's ack, which
waits for it (it may take Slack calls); past that, it is worded for outsiders."""
HELP_IN_THREAD_SECONDS = 10.0
"""The same for the help posted in a thread, after the event's ack: a large channel's
members may take a while to look up the first time."""


async def help_for(
    services: Services,
    slack_user_id: str,
    channel_id: str | None = None,
    *,
    seconds: float = HELP_SECONDS,
) -> str:
    """The help `slack_user_id` is shown: alone (`channel_id` None), or in `channel_id`,
    where every member reads it. Someone Trellis cannot verify is told so, as when asking."""
    try:
        async with asyncio.timeout(seconds):
            identity = await services.identity.identify(slack_user_id)
            if identity.person is None:
                return escape(services.identity.refusal(identity.reason))
            if channel_id is None:
                return help_text(services.workspace)
            audience = await access.audience_for(
                asker=identity.person,
                channel=await slack_of(services).channel(channel_id),
                slack=services.slack,
                identity=services.identity,
            )
            return help_text(services.workspace, outsiders=audience.outsiders > 0)
    except Exception:  # noqa: BLE001 - who reads it is unknown: nothing internal is named
        log.info("help_readers_unknown", user=slack_user_id, exc_info=True)
        return help_text(services.workspace, outsiders=True)
