"""App Home: the tab a person opens on Trellis. The facts come from app/trust/home.py; the
layout is handlers/views/home.py."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from app.errors import IdentityUnknown
from app.services import Services
from app.trust.about import about_for
from app.trust.home import home_for
from handlers.people import person_of
from handlers.views.blocks import View, escape, section
from handlers.views.home import home_view


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
        view = home_view(home, config=services.workspace.config, now=services.clock(), about=about)
    await client.views_publish(user_id=user_id, view=view)
