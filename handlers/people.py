"""Who clicked: the person behind a Slack user, as the listeners pass them to app/."""

from __future__ import annotations

import asyncio
import dataclasses

from app.domain import Person
from app.services import Services
from handlers.delivered import MENTION

MENTIONS_NAMED = 10
"""At most this many people mentioned in one message are looked up by name."""
NAMING_SECONDS = 1.0
"""How long looking them up may take, all together, before the ids are read instead."""


async def person_of(services: Services, user_id: str) -> Person:
    """The directory's person for `user_id`, carrying that Slack id (IdentityUnknown if none)."""
    person = await services.identity.resolve(user_id)
    return dataclasses.replace(person, slack_id=user_id)


async def mentioned_names(
    services: Services, text: str | None, *, skip: str | None = None
) -> dict[str, str]:
    """The names of the people `text` mentions by user id alone (`<@U123>`, as Slack sends
    mentions): the directory's name, else the name on their Slack profile. A question about
    "<@U123>" is read, searched and shown to owners as "@Ana Lima", not as an id. `skip`:
    a user id not looked up (the app's own, left out of the text anyway)."""
    named: dict[str, str] = {}
    mentioned = [u for u in dict.fromkeys(MENTION.findall(text or "")) if u != skip]
    try:
        async with asyncio.timeout(NAMING_SECONDS):
            for user_id in mentioned[:MENTIONS_NAMED]:
                try:
                    identity = await services.identity.identify(user_id)
                except Exception:  # noqa: BLE001 - a name is a nicety: the id is read instead
                    continue
                user = identity.slack_user
                name = identity.person.name if identity.person else user.name if user else ""
                if name:
                    named[user_id] = name
    except TimeoutError:  # Slack is slow: the ack must not wait for names
        pass
    return named
