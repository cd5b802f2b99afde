"""What the Web API methods share: the conversation, message or user a call names, found as
the app's bot may see it (or refused with Slack's error), and flags read as Slack reads them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.sandbox.records import Conversation, Message, User
from app.sandbox.state import SandboxWorkspace, SlackError

Method = Callable[[SandboxWorkspace, dict[str, Any]], Awaitable[dict[str, Any]]]
"""One Web API method: the call's parameters in, the body of its `ok` answer out."""


def conversation(
    ws: SandboxWorkspace, channel: str | None, *, by_name: bool = False
) -> Conversation:
    """The conversation a call names: by id, or a user id for their DM; by `#name` too for
    the methods Slack lets name one (chat.postMessage)."""
    if channel and channel[0] in "UW" and ws.user(channel) is not None:
        return ws.open_im(channel)
    found = ws.conversation(channel or "")
    if found is None and channel and by_name:
        name = channel.lstrip("#")
        found = next((c for c in ws.conversations.values() if c.name == name and not c.is_im), None)
    if found is None:
        raise SlackError("channel_not_found")
    return found


def visible(ws: SandboxWorkspace, channel: str | None, *, by_name: bool = False) -> Conversation:
    found = conversation(ws, channel, by_name=by_name)
    if not ws.bot_sees(found):
        raise SlackError("channel_not_found")
    return found


def readable(ws: SandboxWorkspace, channel: str | None, *, by_name: bool = False) -> Conversation:
    found = visible(ws, channel, by_name=by_name)
    if ws.bot.user_id not in found.members:
        raise SlackError("not_in_channel")
    return found


def message_at(ws: SandboxWorkspace, conversation: Conversation, ts: str | None) -> Message:
    found = ws.find_message(conversation.id, ts)
    if found is None:
        raise SlackError("message_not_found")
    return found


def known_user(ws: SandboxWorkspace, user_id: str | None) -> User:
    found = ws.user(user_id or "")
    if found is None:
        raise SlackError("user_not_found")
    return found


def flag(params: dict[str, Any], name: str) -> bool:
    return truthy(params.get(name))


def truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")
