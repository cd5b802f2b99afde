"""App Home: the tab a person opens on Trellis. The facts come from app/trust/home.py; the
layout is handlers/views/home.py."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.errors import IdentityUnknown
from app.services import Services
from app.trust.about import about_for
from app.trust.home import home_for
from handlers.people import person_of
from handlers.views.blocks import View, escape, section
from handlers.views.home import MAX_ROWS, home_view


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_home_opened)


async def on_home_opened(event: dict[str, Any], client: AsyncWebClient, services: Services) -> None:
    if event.get("tab", "home") != "home":
        return
    user_id = event["user"]
    view: View
    try:
        person = await person_of(services, user_id)
    except IdentityUnknown as refusal:
        view = {"type": "home", "blocks": [section(f":wave: {escape(refusal.user_message)}")]}
    else:
        home = await home_for(services, person)
        about = await about_for(services, person, weeks=1)  # Home shows this week's summary
        shown = (home.personal.my_approvals or ())[:MAX_ROWS]
        view = home_view(
            home,
            config=services.workspace.config,
            now=services.clock(),
            about=about,
            links=await card_links(client, home.personal.cards, [d.id for d in shown]),
        )
    await client.views_publish(user_id=user_id, view=view)


async def card_links(
    client: AsyncWebClient, cards: Mapping[str, tuple[str, str]], draft_ids: Sequence[str]
) -> dict[str, str]:
    """Slack's link to the card of each of `draft_ids` that has one; a card Slack cannot
    link (deleted meanwhile) is listed without it."""

    async def permalink(channel: str, ts: str) -> str | None:
        try:
            found = await client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError:
            return None
        return found.get("permalink")

    wanted = [d for d in draft_ids if d in cards]
    links = await asyncio.gather(*(permalink(*cards[d]) for d in wanted))
    return {d: url for d, url in zip(wanted, links, strict=True) if url}
