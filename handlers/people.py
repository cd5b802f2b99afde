"""Who clicked: the person behind a Slack user, as the listeners pass them to app/."""

from __future__ import annotations

import dataclasses

from app.domain import Person
from app.services import Services


async def person_of(services: Services, user_id: str) -> Person:
    """The directory's person for `user_id`, carrying that Slack id (IdentityUnknown if none)."""
    person = await services.identity.resolve(user_id)
    return dataclasses.replace(person, slack_id=user_id)
