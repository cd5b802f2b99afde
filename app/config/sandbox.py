"""sandbox.yml: the local Slack workspace of `trellis run` without tokens, and the people
and channels that `trellis ask` and eval runs use (on Slack too).

    team: {id: T0ACME, name: Acme, domain: acme}
    users:                      # people outside the directory: guests, Slack Connect users
      - {name: gina.guest, email: gina@contractor.example, guest: true}
    channels:                   # members: `everyone`, `group:NAME` or emails
      - {id: C0GENERAL1, name: general, members: [everyone, gina@contractor.example]}
    hints:                      # the browser view's things to try, by email or `everyone`
      everyone: [{title: Ask in a channel, in: general, say: "@trellis hi"}]
    systems: true               # local stand-ins for the downstream systems

Everyone in the directory is a user of the sandbox. Without channels there is one,
#general, with everyone in it. A member or a hint naming someone who is neither in the
directory nor in `users`, a `group:` the directory does not have, or a channel id or name
used twice is an error: the sandbox could not be seated as written (app/sandbox/company.py
builds it).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.config.directory import Directory
from app.config.people import RESERVED_GROUPS, invalid, normalize_email
from app.config.yamlfile import YamlDocument, load_yaml, validate
from app.errors import WorkspaceError

SANDBOX_FILE = "sandbox.yml"
EVERYONE = "everyone"
GROUP_PREFIX = "group:"
HINT_PLACES = ("app", "home", "systems")
"""Where a hint may point besides a channel: the direct message, the Home tab, Systems."""
DEFAULT_CHANNELS: tuple[dict[str, Any], ...] = (
    {"id": "C0GENERAL1", "name": "general", "members": [EVERYONE]},
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SandboxTeam(_Strict):
    id: str | None = None
    name: str | None = None
    domain: str | None = None


class SandboxUser(_Strict):
    """Someone outside the directory: a guest, or a Slack Connect user of another team."""

    id: str | None = None
    name: str | None = None
    real_name: str | None = None
    email: str | None = None
    title: str | None = None
    guest: bool | Literal["single"] = False
    external: bool | str = False
    team_id: str | None = None
    deleted: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalize_email(value) if value else None

    @model_validator(mode="after")
    def _named(self) -> SandboxUser:
        if not self.name and not self.email:
            raise invalid("a user needs a name or an email")
        return self


class SandboxChannel(_Strict):
    id: str
    name: str | None = None
    members: list[str] = []
    is_private: bool = False
    is_ext_shared: bool = False

    @property
    def display_name(self) -> str:
        return self.name or self.id.lower()


class SandboxHint(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    title: str
    in_: str | None = Field(default=None, alias="in")
    say: str | None = None
    then: str | None = None


class SandboxFile(_Strict):
    team: SandboxTeam | None = None
    users: list[SandboxUser] | None = None
    channels: list[SandboxChannel] | None = None
    hints: dict[str, list[SandboxHint]] | None = None
    systems: bool = False


@dataclass(frozen=True)
class Sandbox:
    """sandbox.yml as written (`data`, what the sandbox is built from), and checked."""

    data: dict[str, Any]
    doc: YamlDocument
    config: SandboxFile


def load_sandbox(root: Path) -> Sandbox | None:
    """sandbox.yml, or None when the workspace has none; WorkspaceError when it does not
    fit the schema."""
    path = root / SANDBOX_FILE
    if not path.is_file():
        return None
    doc = load_yaml(path, display_name=SANDBOX_FILE)
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected keys such as team, users and channels")
    return Sandbox(doc.data, doc, validate(doc, SandboxFile))


def channel_refs(data: dict[str, Any] | None) -> set[str]:
    """The ids and names of the sandbox's channels (for a workspace without sandbox.yml,
    those of its one default channel)."""
    entries = (data or {}).get("channels") or DEFAULT_CHANNELS
    return {e["id"] for e in entries} | {e.get("name") or e["id"].lower() for e in entries}


def sandbox_problems(
    sandbox: Sandbox, directory: Directory | None, directory_name: str
) -> list[WorkspaceError]:
    """Every member, hint and channel of sandbox.yml that the sandbox could not seat (the
    people and groups only with a `directory` to look them up in)."""
    doc, config = sandbox.doc, sandbox.config
    people = {p.email.lower() for p in directory.people} if directory is not None else set()
    people |= {u.email for u in config.users or () if u.email}
    found: list[WorkspaceError] = []
    seen_ids: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    channels = config.channels or []
    for i, channel in enumerate(channels):
        at = ("channels", i)
        for key, value, seen in (
            ("id", channel.id, seen_ids),
            ("name", channel.display_name, seen_names),
        ):
            if value in seen:
                first = seen[value]
                found.append(
                    doc.error(
                        (*at, key),
                        f"channels.{i}.{key}: {value} is already the {key} of channels.{first} "
                        f"(line {doc.line_of(('channels', first))}); each channel needs its own",
                    )
                )
            else:
                seen[value] = i
        for j, member in enumerate(channel.members if directory is not None else ()):
            assert directory is not None  # for mypy: members are checked with a directory
            problem = _member_problem(member, directory, people, directory_name)
            if problem is not None:
                found.append(doc.error((*at, "members", j), f"channels.{i}.members.{j}: {problem}"))
    names = {c.display_name for c in channels} or {c["name"] for c in DEFAULT_CHANNELS}
    for who, hints in (config.hints or {}).items():
        if directory is not None and who != EVERYONE and who.lower() not in people:
            found.append(
                doc.error(
                    ("hints", who),
                    f"hints: {who} is neither in {directory_name} nor in users (or `everyone`)",
                )
            )
        for k, hint in enumerate(hints):
            place = (hint.in_ or "").lstrip("#")
            if place and place not in HINT_PLACES and place not in names:
                found.append(
                    doc.error(
                        ("hints", who, k, "in"),
                        f"hints.{who}.{k}.in: there is no channel {place} (or write "
                        f"{', '.join(HINT_PLACES)})",
                    )
                )
    return found


def _member_problem(
    member: str, directory: Directory, people: set[str], directory_name: str
) -> str | None:
    if member == EVERYONE:
        return None
    if member.startswith(GROUP_PREFIX):
        group = member.removeprefix(GROUP_PREFIX)
        if group in RESERVED_GROUPS or group in directory.groups:
            return None
        problem = f"{member} names no group of {directory_name}"
        close = difflib.get_close_matches(group, sorted(directory.groups), n=1)
        return problem + (f" (did you mean group:{close[0]}?)" if close else "")
    if "@" in member:
        if member.strip().lower() in people:
            return None
        return f"{member} is neither in {directory_name} nor in users"
    return f"{member!r} is not `everyone`, `group:NAME` or an email"
