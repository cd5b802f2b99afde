"""The "Why this answer?" button: the answer's story in a modal, as the clicker may see it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.services import Services
from app.trust import stories
from handlers.errors import message_for
from handlers.views.answers import WHY
from handlers.views.story import story_blocks, story_view


def register(app: AsyncApp) -> None:
    app.action(WHY)(on_why)


async def on_why(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: Services,
) -> None:
    await ack()
    try:
        viewer = await services.identity.resolve(body["user"]["id"])
        story = await stories.for_viewer(
            services.database,
            answer_id=action["value"],
            viewer=viewer,
            directory=services.workspace.directory,
        )
    except Exception as exc:  # the person is always told
        await respond(text=message_for(exc), response_type="ephemeral", replace_original=False)
        return
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=story_view(story))
    except SlackApiError:
        await respond(
            text="How this answer was made",
            blocks=story_blocks(story),
            response_type="ephemeral",
            replace_original=False,
        )
