"""The /trellis slash command: ask, help, about (and workflows as they are added)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from app.answering.intake import Surface
from app.services import Services
from app.trust.about import about_for
from handlers import traces, workflows
from handlers.asking import answer_privately
from handlers.delivered import plain_text
from handlers.errors import NOT_ANSWERED, NOT_POSTED, message_for
from handlers.events import first_delivery
from handlers.help import help_for
from handlers.people import person_of
from handlers.views import answers
from handlers.views.about import about_blocks, about_text
from handlers.views.help import help_blocks, unknown_verb


def register(app: AsyncApp) -> None:
    app.command("/trellis")(on_trellis)


async def on_trellis(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: Services,
) -> None:
    verb, _, rest = plain_text(command.get("text")).partition(" ")
    verb = verb.lower()
    if verb in ("", "help"):
        shown = await help_for(services, command["user_id"])
        await ack(text=shown, blocks=help_blocks(shown))
        return
    if verb == "about":
        await ack()
        await on_about(command, respond, services)
        return
    if verb in services.workspace.rulebook.workflows:
        await workflows.on_workflow_command(
            ack, command, client, respond, services, slug=verb, rest=rest
        )
        return
    if verb != "ask":
        await ack(text=unknown_verb(verb, await help_for(services, command["user_id"])))
        return
    if not rest.strip():
        await ack(text="Ask me something, like `/trellis ask how many PTO days do I get?`")
        return
    refusal = services.quotas.refusal(
        team_id=command.get("team_id", ""), slack_user_id=command["user_id"], text=rest.strip()
    )
    if refusal is not None:  # over a quota: said in place of the answer, only to the asker
        await ack(text=refusal.message)
        return
    await ack(text=answers.THINKING)
    received = services.intake.receive(
        Surface.COMMAND,
        team_id=command.get("team_id", ""),
        channel_id=command["channel_id"],
        slack_user_id=command["user_id"],
        text=rest.strip(),
        message_ts=None,
        response_url=command.get("response_url"),
    )
    try:
        await first_delivery(services, [f"command:{received.id}"], received)
    except Exception as exc:  # the person is always told
        await respond(text=message_for(exc, outcome=NOT_ANSWERED), response_type="ephemeral")
        return
    services.intake.holding(received)
    with traces.slash_command(command, "ask"):
        await answer_privately(
            services,
            text=rest.strip(),
            channel_id=command["channel_id"],
            channel_name=command.get("channel_name") or "",
            slack_user_id=command["user_id"],
            team_id=command.get("team_id", ""),
            respond=respond,
            received=received,
        )


async def on_about(command: dict[str, Any], respond: AsyncRespond, services: Services) -> None:
    """The eight operating questions, answered for the person asking, only to them."""
    try:
        person = await person_of(services, command["user_id"])
        about = await about_for(services, person)
    except Exception as exc:  # the person is always told
        await respond(text=message_for(exc, outcome=NOT_POSTED), response_type="ephemeral")
        return
    await respond(
        text=about_text(about),
        blocks=about_blocks(about),
        response_type="ephemeral",
        replace_original=False,
    )
