"""The sandbox's Slack workspace for a Trellis workspace: its people become Slack users.

Everyone in the directory is a Slack user with a stable id derived from their email (or
their `slack_id`). `sandbox.yml` adds people outside the directory (guests, external Slack
Connect users) and channels, whose members are `everyone`, `group:NAME` or emails. The
bot is a member of every channel. Without `sandbox.yml`, there is one #general channel.
`hints` are the browser view's things to try (app.sandbox.hints).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from app.config.sandbox import DEFAULT_CHANNELS
from app.config.workspace import Workspace
from app.errors import WorkspaceError
from app.sandbox.hints import hints_for
from app.sandbox.records import Conversation, User
from app.sandbox.state import SandboxWorkspace
from app.slack_people import SlackChannel, SlackUser, user_from_api

BOT_USER_ID = "U0TRELLIS"
# The message shortcuts of manifest.yml, offered in the browser view's message menu.
MESSAGE_SHORTCUTS = [{"callback_id": "trellis_start_workflow", "name": "Start Trellis workflow"}]


def user_id_for(email: str) -> str:
    return "U" + hashlib.sha1(email.lower().encode()).hexdigest()[:9].upper()


def seed_for(workspace: Workspace) -> dict[str, Any]:
    extra = workspace.sandbox or {}
    team = {
        "id": "T0SANDBOX",
        "name": workspace.config.name or "Sandbox",
        "domain": "sandbox",
        **(extra.get("team") or {}),
    }
    users: list[dict[str, Any]] = []
    by_email: dict[str, str] = {}
    for person in workspace.directory.people:
        uid = person.slack_id or user_id_for(person.email)
        handle = person.email.split("@")[0]
        users.append(
            {
                "id": uid,
                "name": handle,
                "real_name": person.name,
                "email": person.email,
                "title": person.title or "",
            }
        )
        by_email[person.email.lower()] = uid
    for entry in extra.get("users") or []:
        email = (entry.get("email") or "").lower()
        uid = entry.get("id") or user_id_for(email or entry["name"])
        external = (
            entry.get("team_id")
            if entry.get("external") and entry.get("team_id")
            else entry.get("external", False)
        )
        users.append(
            {
                "id": uid,
                "name": entry.get("name", uid.lower()),
                "real_name": entry.get("real_name", entry.get("name", uid)),
                "email": email or None,
                "guest": entry.get("guest", False),
                "external": external,
                "deleted": entry.get("deleted", False),
                "title": entry.get("title", ""),
            }
        )
        if email:
            by_email[email] = uid
    channels = []
    for entry in extra.get("channels") or DEFAULT_CHANNELS:
        members = _members(entry.get("members", []), workspace, by_email, entry)
        channels.append(
            {
                "id": entry["id"],
                "name": entry.get("name", entry["id"].lower()),
                "members": [*members, BOT_USER_ID],
                "is_private": entry.get("is_private", False),
                "is_ext_shared": entry.get("is_ext_shared", False),
            }
        )
    return {
        "team": team,
        "bot": {"user_id": BOT_USER_ID, "name": "trellis", "real_name": "Trellis"},
        "users": users,
        "channels": channels,
        "hints": hints_for(extra.get("hints"), by_email=by_email, channels=channels),
    }


def _members(
    spec: Sequence[str], workspace: Workspace, by_email: dict[str, str], entry: dict[str, Any]
) -> list[str]:
    members: list[str] = []
    for item in spec:
        if item == "everyone":
            emails = [p.email for p in workspace.directory.people]
        elif item.startswith("group:"):
            emails = [p.email for p in workspace.directory.members(item.removeprefix("group:"))]
        else:
            emails = [item]
        for email in emails:
            uid = by_email.get(email.lower())
            if uid is None:
                raise WorkspaceError(
                    "sandbox.yml",
                    f"channel {entry.get('name', entry['id'])}: "
                    f"{email} is neither in the directory nor in users",
                )
            if uid not in members:
                members.append(uid)
    return members


class SandboxDirectory:
    """Answers identity and audience questions straight from a sandbox's state, in
    process: what the CLI and eval runs use instead of a Slack connection. Channels are
    found by id or by name."""

    def __init__(self, state: SandboxWorkspace) -> None:
        self.state = state
        self.bot_user_id = state.bot.user_id
        self.team_id = state.team.id

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> SandboxDirectory:
        """The workspace's people and channels, as its own sandbox would seat them."""
        return cls(SandboxWorkspace.from_seed(seed_for(workspace)))

    async def users(self) -> AsyncIterator[list[SlackUser]]:
        own = [u for u in self.state.users.values() if u.team_id == self.team_id]
        yield [self._profile(u) for u in own]

    async def user(self, user_id: str) -> SlackUser | None:
        user = self.state.user(user_id)
        return None if user is None else self._profile(user)

    def _profile(self, user: User) -> SlackUser:
        return user_from_api(
            {
                "id": user.id,
                "name": user.name,
                "real_name": user.real_name,
                "team_id": user.team_id,
                "is_bot": user.is_bot,
                "deleted": user.deleted,
                "is_restricted": user.is_restricted,
                "is_ultra_restricted": user.is_ultra_restricted,
                "profile": {"email": user.email},
            },
            home_team=self.team_id,
        )

    async def channel(self, channel_id: str) -> SlackChannel:
        conversation = self.find(channel_id)
        return SlackChannel(
            id=conversation.id,
            name=conversation.name,
            is_im=conversation.is_im,
            is_private=conversation.is_private,
            is_shared=conversation.is_ext_shared,
        )

    async def members(self, channel_id: str) -> list[str]:
        return list(self.find(channel_id).members)

    def find(self, channel: str) -> Conversation:
        wanted = channel.lstrip("#")
        for conversation in self.state.conversations.values():
            if conversation.id == channel or conversation.name == wanted:
                return conversation
        raise LookupError(channel)
