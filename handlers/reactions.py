"""Reactions on Trellis answers: a flag emoji from a permitted flagger opens a flag;
anyone else is told, once per answer, who can flag answers.

The rules (who may flag, one flag per person, what a removed reaction does) live in
app/trust/feedback.py; this module only turns the events into calls and tells people.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from app.errors import AccessDenied
from app.services import Services
from app.trust import feedback, flaggers
from handlers.errors import message_for
from handlers.events import first_delivery
from handlers.feedback import refresh_notices, send_flag_to_owners
from handlers.gateway import slack_of
from handlers.views import flags


def register(app: AsyncApp) -> None:
    app.event("reaction_added")(on_reaction_added)
    app.event("reaction_removed")(on_reaction_removed)


def _on_a_message(event: dict[str, Any]) -> bool:
    item = event.get("item") or {}
    return item.get("type") == "message" and bool(item.get("channel")) and bool(item.get("ts"))


async def _first_delivery(services: Services, body: dict[str, Any]) -> bool:
    event_id = body.get("event_id")
    return not event_id or await first_delivery(services, [f"event:{event_id}"])


async def on_reaction_added(
    body: dict[str, Any], event: dict[str, Any], services: Services
) -> None:
    if not _on_a_message(event) or not feedback.is_flag_reaction(
        services, event.get("reaction", "")
    ):
        return
    if not await _first_delivery(services, body):
        return
    try:
        recorded = await feedback.flag_answer(
            services,
            channel_id=event["item"]["channel"],
            message_ts=event["item"]["ts"],
            reactor_slack_id=event["user"],
            reaction=event["reaction"],
        )
    except AccessDenied as refused:  # a reply that stands for someone else's private answer
        await slack_of(services).post_private(
            channel=event["item"]["channel"], user=event["user"], text=message_for(refused)
        )
        return
    if recorded is None:
        told = await flaggers.not_a_flag(
            services,
            channel_id=event["item"]["channel"],
            message_ts=event["item"]["ts"],
            reactor_slack_id=event["user"],
            reaction=event["reaction"],
        )
        if told is not None:
            await slack_of(services).post_private(
                channel=event["item"]["channel"], user=event["user"], text=told
            )
        return
    if not recorded.created:
        return
    services.metrics.observe_flag(event="raised")
    await send_flag_to_owners(services, recorded.case)
    text, blocks = flags.flagger_prompt(recorded.case, names=services.workspace.directory.name_of)
    await slack_of(services).post_private(
        channel=recorded.case.channel_id,
        user=event["user"],
        thread_ts=recorded.case.thread_ts,
        text=text,
        blocks=blocks,
    )


async def on_reaction_removed(
    body: dict[str, Any], event: dict[str, Any], services: Services
) -> None:
    if not _on_a_message(event) or not feedback.is_flag_reaction(
        services, event.get("reaction", "")
    ):
        return
    if not await _first_delivery(services, body):
        return
    withdrawn = await feedback.unflag_answer(
        services,
        channel_id=event["item"]["channel"],
        message_ts=event["item"]["ts"],
        reactor_slack_id=event["user"],
        reaction=event["reaction"],
    )
    if withdrawn is not None:
        await refresh_notices(services, withdrawn)
