"""Slack adapters: each module registers thin listeners that ack, parse, call the
pipeline and render. No business logic lives here."""

from __future__ import annotations

from app.services import Services
from handlers import approvals, commands, events, feedback, home, reactions, story, workflows
from handlers.notifier import SlackNotifier


def register(app, services: Services) -> None:
    """Attach every listener to a Bolt AsyncApp, with `services` in each context."""

    async def provide_services(context, next):
        context["services"] = services
        await next()

    app.middleware(provide_services)
    if services.slack is not None:
        services.notifier = SlackNotifier(services)
    events.register(app)
    commands.register(app)
    reactions.register(app)
    feedback.register(app)
    home.register(app)
    story.register(app)
    approvals.register(app)
    workflows.register(app)
