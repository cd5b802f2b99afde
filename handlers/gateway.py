"""The Slack gateway the listeners post through."""

from __future__ import annotations

from app.services import Services
from app.slack_api import SlackGateway


def slack_of(services: Services) -> SlackGateway:
    """`services.slack`, which the services a Bolt app is registered with always carry
    (they are built with the Slack notifier, which needs it too)."""
    if services.gateway is None:
        raise RuntimeError("Trellis's Slack listeners need services with a Slack gateway")
    return services.gateway
