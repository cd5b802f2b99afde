"""Who is asking, and what everyone who reads the answer may see."""

from __future__ import annotations

import asyncio

from app.config.directory import Directory
from app.domain import PUBLIC, Person
from app.errors import IdentityUnknown
from app.identity.access import audience_for
from app.identity.resolver import IdentityResolver
from app.sandbox.company import SandboxDirectory
from app.sandbox.state import SandboxWorkspace
from app.slack_people import SlackChannel

ANA = Person(email="ana@acme.example", name="Ana", groups=frozenset({"support"}))
BO = Person(email="bo@acme.example", name="Bo", slack_id="U0BOSPECIAL", groups=frozenset({"sales"}))
CY = Person(email="cy@acme.example", name="Cy", groups=frozenset({"support", "leads"}))


def _slack() -> SandboxDirectory:
    seed = {
        "team": {"id": "T0ACME"},
        "users": [
            {"id": "U0ANA", "name": "ana", "email": "ana@acme.example"},
            {"id": "U0BOSPECIAL", "name": "bo", "email": "bo.personal@mail.example"},
            {"id": "U0CY", "name": "cy", "email": "CY@acme.example"},
            {"id": "U0GUEST", "name": "gil", "email": "ana@acme.example", "guest": True},
            {"id": "U0EXT", "name": "pat", "email": "pat@partner.example", "external": "T0OTHER"},
            {"id": "U0GONE", "name": "gone", "email": "cy@acme.example", "deleted": True},
            {"id": "U0NEW", "name": "new", "email": "new@acme.example"},
            {"id": "U0BOT2", "name": "otherbot", "is_bot": True},
        ],
        "channels": [
            {
                "id": "C0ALL",
                "name": "all",
                "members": ["U0ANA", "U0BOSPECIAL", "U0CY", "U0BOT2", "U0TRELLIS"],
            },
            {"id": "C0SUP", "name": "sup", "members": ["U0ANA", "U0CY", "U0BOT2", "U0TRELLIS"]},
            {"id": "C0MIX", "name": "mix", "members": ["U0ANA", "U0GUEST", "U0TRELLIS"]},
        ],
    }
    return SandboxDirectory(SandboxWorkspace.from_seed(seed))


def _resolver(slack, clock=lambda: 0.0) -> IdentityResolver:
    return IdentityResolver(Directory([ANA, BO, CY]), slack, admins_hint="#help", clock=clock)


async def test_profile_email_maps_to_the_directory_case_insensitively():
    resolver = _resolver(_slack())
    assert (await resolver.resolve("U0ANA")).email == "ana@acme.example"
    assert (await resolver.resolve("U0CY")).email == "cy@acme.example"


async def test_directory_slack_id_overrides_the_email_match():
    assert (await _resolver(_slack()).resolve("U0BOSPECIAL")).email == "bo@acme.example"


async def test_guests_externals_deactivated_bots_and_strangers_are_refused():
    resolver = _resolver(_slack())
    reasons = {}
    for user in ("U0GUEST", "U0EXT", "U0GONE", "U0NEW", "U0BOT2", "U0NOBODY"):
        reasons[user] = (await resolver.identify(user)).reason
        try:
            await resolver.resolve(user)
        except IdentityUnknown as refusal:
            assert "can't verify who you are" in refusal.user_message
            # Someone from outside is not sent to, or shown, an internal channel.
            outside = user in ("U0GUEST", "U0EXT")
            assert ("#help" in refusal.user_message) is not outside, refusal.user_message
        else:
            raise AssertionError(f"{user} was not refused")
    assert reasons == {
        "U0GUEST": "guest",
        "U0EXT": "external",
        "U0GONE": "deactivated",
        "U0NEW": "not_in_directory",
        "U0BOT2": "bot",
        "U0NOBODY": "not_found",
    }


async def test_slack_profiles_are_cached_until_they_expire():
    slack = _slack()
    now = [0.0]
    resolver = _resolver(slack, clock=lambda: now[0])
    await resolver.resolve("U0ANA")
    slack.state.users["U0ANA"].deleted = True
    assert (await resolver.resolve("U0ANA")).email == "ana@acme.example"  # cached
    now[0] = 10_000.0
    assert (await resolver.identify("U0ANA")).reason == "deactivated"


async def test_channel_scope_is_what_every_human_member_may_see():
    slack = _slack()
    audience = await audience_for(
        asker=ANA, channel=await slack.channel("C0ALL"), slack=slack, identity=_resolver(slack)
    )
    assert audience.scope.allows(["everyone"])
    assert not audience.scope.allows(["support"])  # Bo is in sales
    assert audience.asker_scope.allows(["support"])
    assert audience.narrower_than_asker


async def test_bots_are_not_readers_and_a_shared_group_keeps_its_documents():
    slack = _slack()
    audience = await audience_for(
        asker=ANA, channel=await slack.channel("C0SUP"), slack=slack, identity=_resolver(slack)
    )
    assert audience.scope.allows(["support"])
    assert not audience.scope.allows(["leads"])


async def test_a_member_outside_the_directory_limits_the_channel_to_public():
    slack = _slack()
    audience = await audience_for(
        asker=ANA, channel=await slack.channel("C0MIX"), slack=slack, identity=_resolver(slack)
    )
    assert audience.outsiders == 1
    assert audience.scope.allows([PUBLIC])
    assert not audience.scope.allows(["everyone"])


async def test_direct_messages_and_private_replies_use_the_askers_scope():
    slack = _slack()
    dm = SlackChannel(id="D0ANA", is_im=True)
    audience = await audience_for(asker=ANA, channel=dm, slack=slack, identity=_resolver(slack))
    assert audience.scope == audience.asker_scope
    private = await audience_for(
        asker=ANA,
        channel=await slack.channel("C0MIX"),
        slack=slack,
        identity=_resolver(slack),
        private=True,
    )
    assert private.scope.allows(["support"])


class CountingDirectory(SandboxDirectory):
    """Slack's profiles, each lookup counted and taking a moment, as over the network."""

    def __init__(self, workspace: SandboxWorkspace) -> None:
        super().__init__(workspace)
        self.looked_up: list[str] = []
        self.at_once = self.most_at_once = 0

    async def user(self, user_id: str):
        self.looked_up.append(user_id)
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            await asyncio.sleep(0.02)
            return await super().user(user_id)
        finally:
            self.at_once -= 1


async def test_questions_asked_at_once_in_a_channel_look_each_member_up_once():
    slack = CountingDirectory(_slack().state)
    resolver = _resolver(slack)
    channel = SlackChannel(id="C0ALL", name="all")
    audiences = await asyncio.gather(
        *(
            audience_for(asker=asker, channel=channel, slack=slack, identity=resolver)
            for asker in (ANA, CY, ANA, BO, CY)
        )
    )
    assert len({a.scope.viewers for a in audiences}) == 1  # every member, whoever asks
    members = ["U0ANA", "U0BOSPECIAL", "U0BOT2", "U0CY", "U0TRELLIS"]
    assert sorted(slack.looked_up) == members  # once each
    assert slack.most_at_once > 1  # the members side by side, not one after another


async def test_a_channel_of_many_unknown_members_is_listed_once_not_looked_up_one_by_one():
    seed = {
        "team": {"id": "T0ACME"},
        "users": [
            {"id": "U0ANA", "name": "ana", "email": "ana@acme.example"},
            {"id": "U0CY", "name": "cy", "email": "cy@acme.example"},
            {"id": "U0EXT", "name": "pat", "email": "pat@partner.example", "external": "T0OTHER"},
            *(
                {"id": f"U0P{n:03}", "name": f"p{n}", "email": f"p{n}@acme.example"}
                for n in range(60)
            ),
        ],
        "channels": [
            {
                "id": "C0BIG",
                "name": "big",
                "members": ["U0ANA", "U0CY", "U0EXT", *(f"U0P{n:03}" for n in range(60))],
            }
        ],
    }
    slack = ListingDirectory(SandboxWorkspace.from_seed(seed))
    now = [0.0]
    resolver = _resolver(slack, clock=lambda: now[0])
    channel = SlackChannel(id="C0BIG", name="big")

    audience = await audience_for(asker=ANA, channel=channel, slack=slack, identity=resolver)
    # 63 members: one listing of the workspace, and one look-up for the person of another
    # organisation, whom users.list does not give.
    assert slack.listings == 1
    assert slack.looked_up == ["U0EXT"]
    assert audience.outsiders == 61  # the 60 outside the directory, and the partner
    assert audience.scope.allows([PUBLIC]) and not audience.scope.allows(["support"])

    await audience_for(asker=CY, channel=channel, slack=slack, identity=resolver)
    assert (slack.listings, slack.looked_up) == (1, ["U0EXT"])  # all known now
    now[0] += 601  # the profiles are old: listed again, once
    await asyncio.gather(
        *(audience_for(asker=a, channel=channel, slack=slack, identity=resolver) for a in (ANA, CY))
    )
    assert slack.listings == 2


async def test_a_small_channel_looks_its_members_up_without_listing_the_workspace():
    slack = ListingDirectory(_slack().state)
    resolver = _resolver(slack)
    await audience_for(
        asker=ANA, channel=SlackChannel(id="C0ALL", name="all"), slack=slack, identity=resolver
    )
    assert slack.listings == 0 and len(slack.looked_up) == 5


async def test_members_are_looked_up_one_by_one_when_slack_will_not_list_them():
    slack = ListingDirectory(_slack().state, refuse=True)
    resolver = _resolver(slack)
    many = [f"U0X{n:03}" for n in range(30)]
    resolver.expect(many)
    assert (await resolver.resolve("U0ANA")).email == "ana@acme.example"
    assert slack.listings == 1 and slack.looked_up == ["U0ANA"]


class ListingDirectory(SandboxDirectory):
    """Slack's profiles, counting single look-ups and listings of the whole workspace."""

    def __init__(self, workspace: SandboxWorkspace, *, refuse: bool = False) -> None:
        super().__init__(workspace)
        self.looked_up: list[str] = []
        self.listings = 0
        self.refuse = refuse

    async def user(self, user_id: str):
        self.looked_up.append(user_id)
        return await super().user(user_id)

    async def users(self):
        self.listings += 1
        await asyncio.sleep(0.01)
        if self.refuse:
            raise ConnectionError("users.list is refused")
        async for page in super().users():
            yield page
