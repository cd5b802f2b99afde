"""The conversations.* and users.* methods: who is in the workspace, which conversations the
app's bot sees, who is in them and what was said there, page by page."""

from __future__ import annotations

import base64
from typing import Any, TypeVar

from app.sandbox.lookups import Method, flag, known_user, readable, visible
from app.sandbox.records import Message
from app.sandbox.slack_json import conversation_json, message_json, user_json
from app.sandbox.state import SandboxWorkspace, SlackError

T = TypeVar("T")

REPLIES_PAGE = 15
"""conversations.replies's default and largest page, as Slack gives it to apps outside its
Marketplace (May 2025)."""


async def user_info(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    return {"user": user_json(ws, known_user(ws, params.get("user")))}


async def user_by_email(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    user = ws.user_by_email(params.get("email") or "")
    if user is None or user.deleted or user.team_id != ws.team.id:
        raise SlackError("users_not_found")
    return {"user": user_json(ws, user)}


async def list_users(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """The workspace's own members, deactivated ones and bots included; people of other
    organisations in shared channels are not listed (users.info knows them)."""
    own = [u for u in ws.users.values() if u.team_id == ws.team.id]
    # Without a limit Slack gives the whole list at once (up to its largest page).
    page, cursor = _page(own, params, default_limit=len(own) or 1)
    return {
        "members": [user_json(ws, u) for u in page],
        "response_metadata": {"next_cursor": cursor},
    }


async def info(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    return {"channel": conversation_json(ws, visible(ws, params.get("channel")))}


LIST_TYPES = {"public_channel", "private_channel", "mpim", "im"}


async def list_conversations(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """The conversations of the asked `types` (public channels when none is asked) the bot
    may see: every public channel, and the private ones, group DMs and DMs it is in."""
    types = {t.strip() for t in (params.get("types") or "public_channel").split(",") if t}
    if not types <= LIST_TYPES:
        raise SlackError("invalid_types")
    kinds = {"public_channel": "channel", "private_channel": "group", "mpim": "mpim", "im": "im"}
    wanted = {kinds[t] for t in types}
    found = [
        c
        for c in ws.conversations.values()
        if c.channel_type in wanted
        and ws.bot_sees(c)
        and (c.channel_type == "channel" or ws.bot.user_id in c.members)
    ]
    page, cursor = _page(found, params, default_limit=100)
    return {
        "channels": [conversation_json(ws, c) for c in page],
        "response_metadata": {"next_cursor": cursor},
    }


async def members(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = visible(ws, params.get("channel"))
    page, cursor = _page(conversation.members, params, default_limit=100)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


async def history(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = readable(ws, params.get("channel"))
    oldest, latest, inclusive = _window(params)
    newest_first = [
        m
        for m in reversed(ws.messages[conversation.id])
        if not m.is_reply and _within(float(m.ts), oldest, latest, inclusive)
    ]
    page, cursor = _page(newest_first, params, default_limit=100)
    return {
        "messages": [_read(ws, m, params) for m in page],
        "has_more": bool(cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


async def replies(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = readable(ws, params.get("channel"))
    head = ws.find_message(conversation.id, params.get("ts"))
    if head is None:
        raise SlackError("thread_not_found")
    oldest, latest, inclusive = _window(params)
    thread = [
        m
        for m in ws.thread(conversation.id, head.thread_ts or head.ts)
        if _within(float(m.ts), oldest, latest, inclusive)
    ]
    page, cursor = _page(thread, params, default_limit=REPLIES_PAGE, most=REPLIES_PAGE)
    return {
        "messages": [_read(ws, m, params) for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def _read(ws: SandboxWorkspace, message: Message, params: dict[str, Any]) -> dict[str, Any]:
    """A message as conversations.history and .replies give it: its metadata only with
    `include_all_metadata`, as Slack does."""
    body = message_json(ws, message)
    if not flag(params, "include_all_metadata"):
        body.pop("metadata", None)
    return body


async def open_conversation(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("channel"):
        conversation = visible(ws, params["channel"])
    else:
        user_ids = [u.strip() for u in (params.get("users") or "").split(",") if u.strip()]
        if not user_ids:
            raise SlackError("users_list_not_supplied")
        if len(user_ids) > 1:
            raise SlackError("not_supported")
        user = ws.user(user_ids[0])
        if user is None:
            raise SlackError("user_not_found")
        if user.deleted:
            raise SlackError("user_disabled")
        conversation = ws.open_im(user.id)
    if flag(params, "return_im"):
        return {"channel": conversation_json(ws, conversation)}
    return {"channel": {"id": conversation.id}}


METHODS: dict[str, Method] = {
    "users.info": user_info,
    "users.lookupByEmail": user_by_email,
    "users.list": list_users,
    "conversations.info": info,
    "conversations.list": list_conversations,
    "conversations.members": members,
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.open": open_conversation,
}


def _page(
    items: list[T], params: dict[str, Any], *, default_limit: int, most: int = 1000
) -> tuple[list[T], str]:
    try:
        limit = int(params.get("limit") or default_limit)
    except ValueError as error:
        raise SlackError("invalid_limit") from error
    offset = 0
    cursor = params.get("cursor")
    if cursor:
        try:
            kind, _, number = base64.b64decode(cursor).decode().partition(":")
            offset = int(number)
        except (ValueError, UnicodeDecodeError) as error:
            raise SlackError("invalid_cursor") from error
        if kind != "offset":
            raise SlackError("invalid_cursor")
    limit = max(1, min(limit, most))
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    next_cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
    return page, next_cursor


def _window(params: dict[str, Any]) -> tuple[float, float, bool]:
    """The `oldest`, `latest` and `inclusive` arguments of a call that reads messages."""
    try:
        return (
            float(params.get("oldest") or 0),
            float(params.get("latest") or "inf"),
            flag(params, "inclusive"),
        )
    except ValueError as error:
        raise SlackError("invalid_ts_oldest") from error


def _within(ts: float, oldest: float, latest: float, inclusive: bool) -> bool:
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest
