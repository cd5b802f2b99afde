"""Who is asking: a Slack user becomes a Person from the directory, or is refused.

The join is the Slack profile email (a directory `slack_id` overrides it). Anyone Slack
cannot vouch for as a full member of this workspace (a guest, an external Slack Connect
user, a deactivated account, a bot) or who is not in the directory is not a Person: they
get a clear refusal, and nothing else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from app.config.directory import Directory
from app.domain import Person
from app.errors import IdentityUnknown
from app.slack_people import SlackDirectory, SlackUser

log = structlog.get_logger(__name__)

USER_CACHE_SECONDS = 600
LIST_WHEN_UNKNOWN = 20
"""Members of one channel not yet known from which the whole workspace is listed instead
(users.list, 200 profiles a call, against users.info's one)."""
LISTING_WAIT_SECONDS = 5.0
"""How long a look-up waits for a listing under way before asking Slack for one profile."""


@dataclass(frozen=True)
class Identity:
    """The outcome for one Slack user: a person, or why there is none."""

    slack_id: str
    person: Person | None
    reason: str | None = None
    slack_user: SlackUser | None = None

    @property
    def is_human(self) -> bool:
        return self.slack_user is None or not self.slack_user.is_bot


OUTSIDERS = ("external", "guest")
"""Reasons someone is not identified that mean they are outside the organisation."""


class IdentityResolver:
    def __init__(
        self,
        directory: Directory,
        slack: SlackDirectory | None,
        *,
        admins_hint: str,
        clock: Callable[[], float] = time.monotonic,
        ttl_seconds: float = USER_CACHE_SECONDS,
    ) -> None:
        self.directory = directory
        self.slack = slack
        self.admins_hint = admins_hint
        self.clock = clock
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, SlackUser | None]] = {}
        self._looking_up: dict[str, asyncio.Lock] = {}
        self._listing: asyncio.Task[None] | None = None
        self._listed_at: float | None = None

    def expect(self, slack_ids: Sequence[str]) -> None:
        """`slack_ids` are about to be looked up (a channel's members): when many are not
        known, the whole workspace is listed, once per `ttl` and in the background, and
        the look-ups take their profiles from the listing as its pages come in. A first
        question in a channel of hundreds then waits for a few calls, not hundreds."""
        unknown = sum(1 for s in slack_ids if self._fresh(s) is None)
        if unknown < LIST_WHEN_UNKNOWN or self.slack is None or self._listing_now():
            return
        if self._listed_at is not None and self.clock() - self._listed_at < self.ttl:
            return
        self._listed_at = self.clock()
        self._listing = asyncio.create_task(self._list(self.slack), name="trellis-users-list")

    def _listing_now(self) -> bool:
        return self._listing is not None and not self._listing.done()

    async def _list(self, slack: SlackDirectory) -> None:
        try:
            async for page in slack.users():
                now = self.clock()
                self._cache.update({user.id: (now, user) for user in page})
        except Exception as error:  # each member is then looked up on their own, as before
            log.warning("users_not_listed", error=repr(error))

    async def _slack_user(self, slack_id: str) -> SlackUser | None:
        """From the cache, or from Slack once however many ask at the same time (a burst of
        questions in one channel looks up its members once, not once per question)."""
        cached = self._fresh(slack_id)
        if cached is not None:
            return cached[1]
        if self._listing is not None and self._listing_now():
            await asyncio.wait({self._listing}, timeout=LISTING_WAIT_SECONDS)
            cached = self._fresh(slack_id)
            if cached is not None:
                return cached[1]
        lock = self._looking_up.setdefault(slack_id, asyncio.Lock())
        try:
            async with lock:
                cached = self._fresh(slack_id)
                if cached is not None:
                    return cached[1]
                user = await self.slack.user(slack_id) if self.slack else None
                self._cache[slack_id] = (self.clock(), user)
                return user
        finally:
            if not lock.locked():
                self._looking_up.pop(slack_id, None)

    def _fresh(self, slack_id: str) -> tuple[float, SlackUser | None] | None:
        cached = self._cache.get(slack_id)
        return cached if cached and self.clock() - cached[0] < self.ttl else None

    def forget(self, slack_id: str | None = None) -> None:
        if slack_id is None:
            self._cache.clear()
        else:
            self._cache.pop(slack_id, None)

    async def identify(self, slack_id: str) -> Identity:
        user = await self._slack_user(slack_id)
        if user is None:
            return Identity(slack_id, None, "not_found")
        if user.is_bot:
            return Identity(slack_id, None, "bot", user)
        if user.deleted:
            return Identity(slack_id, None, "deactivated", user)
        if user.is_external:
            return Identity(slack_id, None, "external", user)
        if user.is_guest:
            return Identity(slack_id, None, "guest", user)
        person = self.directory.by_slack_id(slack_id)
        if person is None and user.email:
            person = self.directory.by_email(user.email)
            if person is not None and person.slack_id and person.slack_id != slack_id:
                person = None  # pinned to another Slack account
        if person is None:
            return Identity(slack_id, None, "not_in_directory", user)
        return Identity(slack_id, person, None, user)

    async def resolve(self, slack_id: str) -> Person:
        """The person behind a Slack user, or IdentityUnknown with the refusal to show."""
        identity = await self.identify(slack_id)
        if identity.person is None:
            raise IdentityUnknown(
                self.refusal(identity.reason), detail=f"{slack_id}: {identity.reason}"
            )
        return identity.person

    def refusal(self, reason: str | None = None) -> str:
        """What someone Trellis cannot verify is told. A guest or someone from another
        organisation is not sent to an internal channel, nor shown its name."""
        if reason in OUTSIDERS:
            return (
                "I can't verify who you are, so I can't help you here: Trellis serves only "
                "the people in this organisation's directory."
            )
        return (
            "I can't verify who you are, so I can't help you here. "
            f"If you work here, ask {self.admins_hint} to add you to Trellis's directory."
        )
