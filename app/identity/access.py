"""What an answer may draw on: the asker's scope, and the audience's scope in a channel.

In a direct message only the asker reads the answer, so the scope is theirs. In a channel
everyone who is a member reads it, so the scope is what *every* human member may see:
people from the directory by their principals, anyone else (a guest, an external user)
only `public`. Bots (Trellis itself) are not readers; the asker is one reader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain import OUTSIDER_PRINCIPALS, AccessScope, Person
from app.identity.resolver import Identity, IdentityResolver
from app.slack_people import SlackChannel, SlackDirectory


@dataclass(frozen=True)
class Audience:
    """Who will read an answer, and what that allows."""

    channel: SlackChannel
    scope: AccessScope
    asker_scope: AccessScope
    readers: int
    """The people who read it: the asker and every other human member."""
    outsiders: int

    @property
    def narrower_than_asker(self) -> bool:
        return self.scope != self.asker_scope


async def audience_for(
    *,
    asker: Person,
    channel: SlackChannel,
    slack: SlackDirectory | None,
    identity: IdentityResolver,
    private: bool = False,
) -> Audience:
    """`private` means only the asker will see the answer (an ephemeral reply)."""
    asker_scope = AccessScope(viewers=(asker.principals,), label="you")
    if private or channel.is_im or slack is None:
        return Audience(channel, asker_scope, asker_scope, readers=1, outsiders=0)
    viewers = [asker.principals]
    outsiders = 0
    for found in await _identified(identity, await slack.members(channel.id)):
        # The asker, already counted, reads it once; a bot (Trellis itself) does not read.
        if not found.is_human or _is_asker(found, asker):
            continue
        if found.person is None:
            outsiders += 1
            viewers.append(OUTSIDER_PRINCIPALS)
        else:
            viewers.append(found.person.principals)
    scope = AccessScope.for_viewers(viewers, label=f"every member of {channel.label}")
    if scope.viewers == asker_scope.viewers:
        scope = asker_scope
    return Audience(channel, scope, asker_scope, readers=len(viewers), outsiders=outsiders)


def _is_asker(found: Identity, asker: Person) -> bool:
    return found.person is not None and found.person.email.lower() == asker.email.lower()


MEMBER_LOOKUPS = 8
"""Members of a channel looked up at once: a first question in a large channel waits for
its members' profiles a few at a time, not one after another."""


async def _identified(identity: IdentityResolver, members: Sequence[str]) -> list[Identity]:
    identity.expect(members)
    places = asyncio.Semaphore(MEMBER_LOOKUPS)

    async def one(member_id: str) -> Identity:
        async with places:
            return await identity.identify(member_id)

    found = await asyncio.gather(*(one(m) for m in members), return_exceptions=True)
    for outcome in found:  # every lookup finished: the first failure is the answer's
        if isinstance(outcome, BaseException):
            raise outcome
    return [o for o in found if not isinstance(o, BaseException)]
