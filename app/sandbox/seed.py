"""The seed a sandbox workspace starts from: its team, bot, people and channels.

Seed format for `SandboxWorkspace.from_seed` (only "users" and "channels" entries' ids are
required; everything else has defaults)::

    {
      "team": {"id": "T0ACME", "name": "Acme", "domain": "acme"},
      "bot": {"user_id": "U0TRELLIS", "bot_id": "B0TRELLIS", "app_id": "A0TRELLIS",
              "name": "trellis",
              "events": ["app_mention", "message.im", ...]},   # subscriptions; default: all
      "users": [{"id": "U01ANA", "name": "ana", "real_name": "Ana Souza",
                 "email": "ana@acme.example", "title": "Support Lead",
                 "is_bot": false, "is_admin": false, "deleted": false,
                 "guest": false | true | "single",   # multi- or single-channel guest
                 "external": false | true | "T0PARTNER"}],   # Slack Connect user (own team)
      "channels": [{"id": "C0GENERAL", "name": "general", "members": ["U01ANA", "U0TRELLIS"],
                    "is_private": false, "is_ext_shared": false}],
      "hints": {"U01ANA": [{"title": "Ask in a channel", "say": "@trellis hi",
                            "then": "…", "target": {"kind": "channel", "id": "C0GENERAL"}}],
                "*": [...]}                           # the browser view's things to try
    }

The bot is a member of exactly the channels whose "members" list its user id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.sandbox.records import DEFAULT_EVENTS, BotIdentity, Conversation, Team, User

EXTERNAL_TEAM_ID = "T0EXTERNAL"


@dataclass(frozen=True)
class Seed:
    """A seed read: the bot is among the users, as Slack lists it."""

    team: Team
    bot: BotIdentity
    users: list[User]
    channels: list[Conversation]
    hints: dict[str, list[dict[str, Any]]]


def read_seed(seed: dict[str, Any]) -> Seed:
    team_seed = seed.get("team", {})
    team = Team(
        id=team_seed.get("id", "T0SANDBOX"),
        name=team_seed.get("name", "Sandbox"),
        domain=team_seed.get("domain", "sandbox"),
    )
    bot_seed = seed.get("bot", {})
    events = bot_seed.get("events")
    bot = BotIdentity(
        user_id=bot_seed.get("user_id", "U0TRELLIS"),
        bot_id=bot_seed.get("bot_id", "B0TRELLIS"),
        app_id=bot_seed.get("app_id", "A0TRELLIS"),
        name=bot_seed.get("name", "trellis"),
        events=frozenset(events) if events is not None else DEFAULT_EVENTS,
    )
    users = [_user(entry, team.id) for entry in seed.get("users", [])]
    users.append(
        User(
            id=bot.user_id,
            name=bot.name,
            real_name=bot_seed.get("real_name", bot.name.title()),
            email=None,
            team_id=team.id,
            is_bot=True,
            bot_id=bot.bot_id,
        )
    )
    channels = [
        Conversation(
            id=entry["id"],
            name=entry.get("name", entry["id"].lower()),
            members=list(entry.get("members", [])),
            is_private=bool(entry.get("is_private", False)),
            is_ext_shared=bool(entry.get("is_ext_shared", False)),
        )
        for entry in seed.get("channels", [])
    ]
    hints = {str(who): list(items) for who, items in (seed.get("hints") or {}).items()}
    return Seed(team=team, bot=bot, users=users, channels=channels, hints=hints)


def _user(entry: dict[str, Any], team_id: str) -> User:
    external = entry.get("external", False)
    guest = entry.get("guest", False)
    name = entry.get("name", entry["id"].lower())
    return User(
        id=entry["id"],
        name=name,
        real_name=entry.get("real_name", name),
        email=entry.get("email"),
        team_id=(external if isinstance(external, str) else EXTERNAL_TEAM_ID)
        if external
        else team_id,
        is_bot=bool(entry.get("is_bot", False)),
        is_admin=bool(entry.get("is_admin", False)),
        deleted=bool(entry.get("deleted", False)),
        is_restricted=bool(guest),
        is_ultra_restricted=guest == "single",
        bot_id=entry.get("bot_id"),
        title=entry.get("title") or "",
    )
