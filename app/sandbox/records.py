"""What a sandbox workspace holds: its team and bot, people, conversations, messages,
ephemerals and views, and the records of each change and each Web API call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_EVENTS = frozenset(
    {
        "app_mention",
        "app_home_opened",
        "message.channels",
        "message.groups",
        "message.im",
        "message.mpim",
        "reaction_added",
        "reaction_removed",
        "assistant_thread_started",
        "assistant_thread_context_changed",
    }
)
"""The Events API subscriptions of a bot whose seed names none."""


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    domain: str


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    bot_id: str
    app_id: str
    name: str
    events: frozenset[str] = DEFAULT_EVENTS


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str | None
    team_id: str
    is_bot: bool = False
    is_admin: bool = False
    deleted: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    bot_id: str | None = None
    title: str = ""


@dataclass
class Conversation:
    id: str
    name: str
    members: list[str]
    is_private: bool = False
    is_ext_shared: bool = False
    is_im: bool = False
    im_user: str | None = None
    created: int = 0
    is_mpim: bool = False
    """A group direct message: several people (and the app), no name of its own."""

    @property
    def channel_type(self) -> str:
        if self.is_im:
            return "im"
        if self.is_mpim:
            return "mpim"
        return "group" if self.is_private else "channel"


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    user: str
    team: str
    bot_id: str | None = None
    app_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    reply_ts: list[str] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    client_msg_id: str | None = None
    edited_ts: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] | None = None
    subtype: str | None = None
    streaming: bool = False
    """Between chat.startStream and chat.stopStream."""
    streamed: bool = False
    """Started with chat.startStream: its text shows above its blocks."""

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class AssistantThread:
    """A thread in the assistant view: its DM, root message, the channel being viewed, and
    what the app set on it (status line, suggested prompts, title)."""

    channel: str
    thread_ts: str
    user: str
    context: dict[str, Any]
    title: str = ""
    status: str = ""
    loading_messages: list[str] = field(default_factory=list)
    prompts: list[dict[str, str]] = field(default_factory=list)
    prompts_title: str = ""


@dataclass
class Ephemeral:
    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None


@dataclass
class View:
    id: str
    user: str
    spec: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    state_values: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        kind: str = self.spec.get("type", "modal")
        return kind


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, Any]
    response: dict[str, Any]
    status: int
    time: float


@dataclass(frozen=True)
class Change:
    """One thing that happened; `kind` is a message/ephemeral/view/reaction/call verb."""

    kind: str
    channel: str | None = None
    user: str | None = None
    message: Message | None = None
    ephemeral: Ephemeral | None = None
    view: View | None = None
    reaction: str | None = None
    call: ApiCall | None = None
    previous: Message | None = None
    """A changed message as it was."""


@dataclass
class Trigger:
    user: str
    expires_at: float
    view_id: str | None = None
    exchanged: bool = False


@dataclass
class ResponseTarget:
    """Where a response_url posts: the original message (if any) and who clicked."""

    user: str
    channel: str
    message_ts: str | None = None
    ephemeral: bool = False
    uses: int = 0
    issued_at: float | None = None
    """When Slack gave it out (by the workspace's clock); it lasts 30 minutes."""
