"""Deliveries no other listener takes, acknowledged so that Slack does not resend them.

Slack delivers events the app subscribes to but does not act on (a person joining a
channel, the app's tokens revoked), clicks on buttons of messages from an older version,
and modals closed. Bolt answers a delivery no listener matches with 404, which Slack
takes as a failure: an event is sent again up to three times, and a person's click or
submission shows an error. Registered last, these listeners only acknowledge.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

log = structlog.get_logger(__name__)

ANY = re.compile(".*")


def register(app: AsyncApp) -> None:
    """Call after every other listener is registered: the first listener that matches runs."""
    app.event(ANY)(on_event)
    app.action(ANY)(on_interaction)
    app.view(ANY)(on_interaction)
    app.view_closed(ANY)(on_interaction)
    app.shortcut(ANY)(on_interaction)
    app.options(ANY)(on_options)


async def on_event(event: dict[str, Any]) -> None:
    """Events are acknowledged by Bolt before their listener runs: nothing left to do."""
    log.debug("slack.event_not_acted_on", event_type=event.get("type"))


async def on_interaction(ack: AsyncAck, body: dict[str, Any]) -> None:
    log.info("slack.interaction_not_acted_on", kind=body.get("type"))
    await ack()


async def on_options(ack: AsyncAck) -> None:
    await ack(options=[])
