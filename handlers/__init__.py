"""Slack adapters: each module registers thin listeners that ack, parse, call the
pipeline and render (the layouts are in handlers/views/). No business logic lives here.

The services a Bolt app is registered with carry the Slack notifier: build them with
`build_services(..., notifier=SlackNotifier)` (handlers/notifier.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from app.services import Services
from handlers import (
    approvals,
    assistant,
    commands,
    events,
    feedback,
    forwarding,
    home,
    people,
    reactions,
    story,
    unhandled,
    workflows,
)


def register(app: AsyncApp, services: Services) -> None:
    """Attach every listener to a Bolt AsyncApp, with `services` in each context."""

    async def provide_services(
        context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
    ) -> None:
        context["services"] = services
        await next()

    app.middleware(provide_services)
    assistant.register(app)
    events.register(app)
    people.register(app)
    commands.register(app)
    reactions.register(app)
    feedback.register(app)
    forwarding.register(app)
    home.register(app)
    story.register(app)
    approvals.register(app)
    workflows.register(app)
    unhandled.register(app)  # last: only what no listener above takes
