"""App Home: the tab a person opens on Trellis. The facts come from app/trust/home.py; the
layout is handlers/views/home.py."""

from __future__ import annotations

from app.errors import IdentityUnknown
from app.services import Services
from app.trust.home import home_for
from handlers.people import person_of
from handlers.views.blocks import escape, section
from handlers.views.home import home_view


def register(app) -> None:
    app.event("app_home_opened")(on_home_opened)


async def on_home_opened(event: dict, client, services: Services) -> None:
    if event.get("tab", "home") != "home":
        return
    user_id = event["user"]
    try:
        person = await person_of(services, user_id)
    except IdentityUnknown as refusal:
        view = {"type": "home", "blocks": [section(f":wave: {escape(refusal.user_message)}")]}
    else:
        home = await home_for(services, person)
        view = home_view(home, config=services.workspace.config, now=services.clock())
    await client.views_publish(user_id=user_id, view=view)
