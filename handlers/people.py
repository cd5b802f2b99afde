"""Who clicked: the person behind a Slack user, as the listeners pass them to app/.

Slack tells the app when a member's account changes (`user_change`: made a guest, given
another email, deactivated); what Trellis knew of them is forgotten at once, so the next
thing they ask is answered as the person they now are, not as the one cached.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp

from app.domain import Person
from app.services import Services

log = structlog.get_logger(__name__)


def register(app: AsyncApp) -> None:
    app.event("user_change")(on_user_change)


async def on_user_change(event: dict[str, Any], services: Services) -> None:
    user_id = (event.get("user") or {}).get("id")
    if user_id:
        services.identity.forget(user_id)
        log.info("slack_user_changed", user=user_id)


MENTIONS_NAMED = 10
"""At most this many people mentioned in one message are looked up by name."""
MENTIONED = re.compile(r"(?<![\w@])@([UW][A-Z0-9]{6,})\b")
"""A person mentioned by user id alone, as `plain_text` reads `<@U123>`."""
NAMING_SECONDS = 1.0
"""How long looking them up may take, all together, before the ids are read instead."""


async def person_of(services: Services, user_id: str) -> Person:
    """The directory's person for `user_id`, carrying that Slack id (IdentityUnknown if none)."""
    person = await services.identity.resolve(user_id)
    return dataclasses.replace(person, slack_id=user_id)


async def with_names(
    services: Services, text: str, *, skip: str | None = None, seconds: float = NAMING_SECONDS
) -> str:
    """`text` (as `plain_text` reads it) with the people it mentions by user id alone named:
    Slack sends a mention as `<@U123>`, with no name, so "Did @U123 book it?" becomes "Did
    @Ana Lima book it?", by the directory's name, else the name on their Slack profile. It
    runs after the event's ack, never before (a look-up may take a Slack call); looking
    names up may take `seconds` in all, after which the ids are left as they are.
    `skip`: a user id not looked up (the app's own)."""
    mentioned = [u for u in dict.fromkeys(MENTIONED.findall(text)) if u != skip]
    named: dict[str, str] = {}
    try:
        async with asyncio.timeout(seconds):
            for user_id in mentioned[:MENTIONS_NAMED]:
                try:
                    identity = await services.identity.identify(user_id)
                except Exception:  # noqa: BLE001 - a name is a nicety: the id is read instead
                    continue
                user = identity.slack_user
                name = identity.person.name if identity.person else user.name if user else ""
                if name:
                    named[user_id] = name
    except TimeoutError:  # Slack is slow: the answer does not wait for names
        pass
    if not named:
        return text
    return MENTIONED.sub(lambda m: f"@{named.get(m.group(1), m.group(1))}", text)
