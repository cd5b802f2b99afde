"""What Slack says about people and conversations, as plain data the core reads.

`SlackGateway` (app/slack_api.py) fills these from Slack's Web API; the local sandbox's
directory (app/sandbox/company.py) from its own state. `SlackDirectory` is what identity and
audience checks need of either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class SlackUser:
    id: str
    email: str | None
    name: str = ""
    team_id: str | None = None
    is_bot: bool = False
    deleted: bool = False
    is_guest: bool = False
    is_external: bool = False


@dataclass(frozen=True)
class SlackChannel:
    id: str
    name: str = ""
    is_im: bool = False
    is_private: bool = False
    is_shared: bool = False
    is_group_dm: bool = False

    @property
    def label(self) -> str:
        if self.is_im:
            return "a direct message"
        return "this group DM" if self.is_group_dm else f"#{self.name or self.id}"


class SlackDirectory(Protocol):
    """What identity and audience checks need to know about a Slack workspace."""

    async def user(self, user_id: str) -> SlackUser | None: ...

    async def channel(self, channel_id: str) -> SlackChannel: ...

    async def members(self, channel_id: str) -> Sequence[str]: ...

    def users(self) -> AsyncIterator[list[SlackUser]]:
        """The workspace's own users, a page at a time."""
        ...


def user_from_api(
    data: dict[str, Any], *, home_team: str | None, home_enterprise: str | None = None
) -> SlackUser:
    """A user as `users.info` / `users.list` describe them. Someone whose home is another
    team is external, unless that team is in the same Enterprise Grid organisation as
    Trellis's own (`enterprise_user.enterprise_id`): a colleague in a sibling workspace."""
    profile = data.get("profile") or {}
    team = data.get("team_id") or profile.get("team")
    organisation = (data.get("enterprise_user") or {}).get("enterprise_id")
    colleague = bool(home_enterprise) and organisation == home_enterprise
    external = bool(data.get("is_stranger")) or bool(
        home_team and team and team != home_team and not colleague
    )
    return SlackUser(
        id=data["id"],
        email=(profile.get("email") or "").lower() or None,
        name=data.get("real_name") or profile.get("real_name") or data.get("name") or "",
        team_id=team,
        is_bot=bool(data.get("is_bot")) or data["id"] == "USLACKBOT",
        deleted=bool(data.get("deleted")),
        is_guest=bool(data.get("is_restricted") or data.get("is_ultra_restricted")),
        is_external=external,
    )


def channel_from_api(data: dict[str, Any]) -> SlackChannel:
    return SlackChannel(
        id=data["id"],
        name=data.get("name") or "",
        is_im=bool(data.get("is_im")),
        is_private=bool(data.get("is_private") or data.get("is_group")),
        is_group_dm=bool(data.get("is_mpim")),
        # Shared with another organisation (Slack Connect), or about to be; a channel
        # shared only among the workspaces of one Enterprise Grid organisation
        # (`is_org_shared`, which also sets `is_shared`) is not.
        is_shared=bool(
            data.get("is_ext_shared")
            or data.get("is_pending_ext_shared")
            or (data.get("is_shared") and not data.get("is_org_shared"))
        ),
    )
