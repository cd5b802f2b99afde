"""What one person sees of the sandbox workspace, as the JSON the browser view renders.

A person sees the channels they belong to, their direct messages with the app, every
message in those (thread replies included), only their own ephemerals, the top of their own
stack of modals and their own App Home. Nothing else leaves the server.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from app.sandbox.records import Conversation, Message, User, View
from app.sandbox.slack_json import ephemeral_json, message_json
from app.sandbox.state import SandboxWorkspace

PERSON_KINDS = ("member", "guest", "external", "bot")
HANDLE = re.compile(r"(?<![\w<@#&])@([A-Za-z0-9][A-Za-z0-9._-]*)")
CHANNEL = re.compile(r"(?<![\w<@#&])#([a-z0-9][a-z0-9_-]*)")


def person_kind(ws: SandboxWorkspace, user: User) -> str:
    if user.is_bot:
        return "bot"
    if user.team_id != ws.team.id:
        return "external"
    return "guest" if user.is_restricted else "member"


def person_json(ws: SandboxWorkspace, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "real_name": user.real_name,
        "title": user.title,
        "email": user.email,
        "kind": person_kind(ws, user),
        "deleted": user.deleted,
    }


def people(ws: SandboxWorkspace) -> list[User]:
    """Everyone a person can act as: active humans, members first, then guests and outsiders."""
    humans = [u for u in ws.users.values() if not u.is_bot and not u.deleted]
    order = {kind: index for index, kind in enumerate(PERSON_KINDS)}
    return sorted(humans, key=lambda u: order[person_kind(ws, u)])


def default_person(ws: SandboxWorkspace) -> User | None:
    return next(iter(people(ws)), None)


def visible_conversations(ws: SandboxWorkspace, user: User) -> list[Conversation]:
    """The user's channels (by name), then their direct messages."""
    mine = [c for c in ws.conversations.values() if user.id in c.members]
    return sorted(mine, key=lambda c: (c.is_im, c.name))


def conversation_json(ws: SandboxWorkspace, conversation: Conversation) -> dict[str, Any]:
    if conversation.is_im:
        kind = "im"
    elif conversation.is_ext_shared:
        kind = "shared"
    else:
        kind = "private" if conversation.is_private else "public"
    outsiders = [
        m
        for m in conversation.members
        if (u := ws.user(m)) is not None and person_kind(ws, u) in ("guest", "external")
    ]
    return {
        "id": conversation.id,
        "name": conversation.name,
        "kind": kind,
        "members": list(conversation.members),
        "outsiders": outsiders,
    }


def view_json(view: View | None) -> dict[str, Any] | None:
    if view is None:
        return None
    spec = view.spec
    return {
        "id": view.id,
        "hash": view.hash,
        "type": view.type,
        "title": spec.get("title"),
        "submit": spec.get("submit"),
        "close": spec.get("close"),
        "blocks": spec.get("blocks", []),
        "callback_id": spec.get("callback_id", ""),
        "stacked": view.previous_view_id is not None,
    }


def top_modal(ws: SandboxWorkspace, user: User) -> View | None:
    """The view on top of the user's most recently opened stack (views open in id order)."""
    mine = [v for v in ws.views.values() if v.user == user.id]
    return mine[-1] if mine else None


def snapshot(
    ws: SandboxWorkspace, user: User, *, message_shortcuts: list[dict[str, str]]
) -> dict[str, Any]:
    conversations = visible_conversations(ws, user)
    messages = {
        c.id: [
            {**message_json(ws, m), "channel": c.id, **_stream_flags(m)}
            for m in ws.messages.get(c.id, [])
        ]
        for c in conversations
    }
    ephemerals = [
        {**ephemeral_json(ws, e), "channel": e.channel, "ephemeral": True}
        for e in ws.ephemerals
        if e.user == user.id
    ]
    return {
        "team": {"id": ws.team.id, "name": ws.team.name, "domain": ws.team.domain},
        "bot": {
            "user_id": ws.bot.user_id,
            "bot_id": ws.bot.bot_id,
            "name": ws.bot.name,
            "real_name": ws.users[ws.bot.user_id].real_name,
        },
        "me": person_json(ws, user),
        "people": [person_json(ws, u) for u in ws.users.values()],
        "conversations": [conversation_json(ws, c) for c in conversations],
        "messages": messages,
        "ephemerals": ephemerals,
        "modal": view_json(top_modal(ws, user)),
        "home": view_json(ws.home_views.get(user.id)),
        "shortcuts": message_shortcuts,
        "hints": ws.hints.get(user.id, ws.hints.get("*", [])),
        "assistant_threads": [
            asdict(t) for t in ws.assistant_threads.values() if t.user == user.id
        ],
        "statuses": {
            f"{channel}:{ts}": status
            for (channel, ts), status in ws.thread_status.items()
            if any(c.id == channel for c in conversations)
        },
    }


def _stream_flags(message: Message) -> dict[str, bool]:
    """Whether a message was streamed (its text shows above its blocks) and still is."""
    if not message.streamed:
        return {}
    return {"streamed": True, "streaming": message.streaming}


def typed_text(ws: SandboxWorkspace, raw: str) -> str:
    """What Slack's client sends for what a person typed: &, < and > escaped, `@handle` and
    `#channel` turned into mentions."""
    text = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def user_mention(match: re.Match[str]) -> str:
        handle = match.group(1)
        for candidate in (handle, handle.rstrip(".")):
            user = _user_by_handle(ws, candidate)
            if user is not None:
                return f"<@{user.id}>" + handle[len(candidate) :]
        return match.group(0)

    def channel_mention(match: re.Match[str]) -> str:
        conversation = next(
            (c for c in ws.conversations.values() if not c.is_im and c.name == match.group(1)), None
        )
        return f"<#{conversation.id}|{conversation.name}>" if conversation else match.group(0)

    return CHANNEL.sub(channel_mention, HANDLE.sub(user_mention, text))


def _user_by_handle(ws: SandboxWorkspace, handle: str) -> User | None:
    wanted = handle.lower()
    for user in ws.users.values():
        if not user.deleted and wanted in (user.name.lower(), user.real_name.lower()):
            return user
    return None
