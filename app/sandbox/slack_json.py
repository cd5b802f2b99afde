"""Slack's objects as the Web API returns them: users, conversations, messages, ephemerals
and views, and the rich_text block a typed message carries."""

from __future__ import annotations

import base64
import re
from typing import Any

from app.sandbox.records import Conversation, Ephemeral, Message, User, View
from app.sandbox.state import SandboxWorkspace

VERIFICATION_TOKEN = "sandboxverificationtoken"
"""The legacy verification token Slack still puts into every payload it sends an app."""


def user_json(ws: SandboxWorkspace, user: User) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "real_name": user.real_name,
        "display_name": user.name,
        "real_name_normalized": user.real_name,
        "display_name_normalized": user.name,
        "team": user.team_id,
    }
    if user.email:
        profile["email"] = user.email
    if user.title:
        profile["title"] = user.title
    if user.bot_id:
        profile["bot_id"] = user.bot_id
        if user.bot_id == ws.bot.bot_id:
            profile["api_app_id"] = ws.bot.app_id
    body: dict[str, Any] = {
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": user.real_name,
        "tz": "Europe/London",
        "tz_label": "Greenwich Mean Time",
        "tz_offset": 0,
        "profile": profile,
        "is_admin": user.is_admin,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": user.is_restricted,
        "is_ultra_restricted": user.is_ultra_restricted,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 1700000000,
    }
    if user.team_id != ws.team.id:
        body["is_stranger"] = True
    return body


def conversation_json(ws: SandboxWorkspace, conversation: Conversation) -> dict[str, Any]:
    if conversation.is_im:
        im_user = ws.user(conversation.im_user or "")
        return {
            "id": conversation.id,
            "created": conversation.created,
            "is_im": True,
            "is_org_shared": False,
            "user": conversation.im_user,
            "is_user_deleted": bool(im_user and im_user.deleted),
            "priority": 0,
        }
    return {
        "id": conversation.id,
        "name": conversation.name,
        "name_normalized": conversation.name,
        "is_channel": not conversation.is_private,
        "is_group": conversation.is_private and not conversation.is_mpim,
        "is_im": False,
        "is_mpim": conversation.is_mpim,
        "is_private": conversation.is_private,
        "created": conversation.created,
        "is_archived": False,
        "is_general": conversation.name == "general",
        "is_shared": conversation.is_ext_shared,
        "is_ext_shared": conversation.is_ext_shared,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "is_member": ws.bot.user_id in conversation.members,
        "context_team_id": ws.team.id,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
        "num_members": len(conversation.members),
    }


def message_json(ws: SandboxWorkspace, message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "message", "user": message.user, "text": message.text}
    if message.subtype:
        body["subtype"] = message.subtype
    if message.bot_id:
        body["bot_id"] = message.bot_id
        if message.app_id:
            body["app_id"] = message.app_id
            body["bot_profile"] = {
                "id": ws.bot.bot_id,
                "app_id": ws.bot.app_id,
                "name": ws.bot.name,
                "deleted": False,
                "team_id": ws.team.id,
            }
    elif message.client_msg_id:
        body["client_msg_id"] = message.client_msg_id
    body["ts"] = message.ts
    body["team"] = message.team
    if message.blocks:
        body["blocks"] = message.blocks
    if message.metadata:
        body["metadata"] = message.metadata
    if message.files:
        body["files"] = message.files
        body["upload"] = False
    if message.edited_ts:
        body["edited"] = {"user": message.user, "ts": message.edited_ts}
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
    if message.is_reply:
        parent = ws.find_message(message.channel, message.thread_ts)
        if parent is not None:
            body["parent_user_id"] = parent.user
    elif message.reply_ts:
        replies = [ws.find_message(message.channel, ts) for ts in message.reply_ts]
        reply_users = list(dict.fromkeys(r.user for r in replies if r is not None))
        body.update(
            reply_count=len(message.reply_ts),
            reply_users_count=len(reply_users),
            latest_reply=message.reply_ts[-1],
            reply_users=reply_users,
            is_locked=False,
            subscribed=False,
        )
    if message.reactions:
        body["reactions"] = [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in message.reactions.items()
        ]
    return body


def ephemeral_json(ws: SandboxWorkspace, ephemeral: Ephemeral) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": ephemeral.text,
        "ts": ephemeral.ts,
        "bot_id": ephemeral.bot_id,
        "user": ws.bot.user_id,
    }
    if ephemeral.blocks:
        body["blocks"] = ephemeral.blocks
    if ephemeral.thread_ts:
        body["thread_ts"] = ephemeral.thread_ts
    return body


def view_json(ws: SandboxWorkspace, view: View) -> dict[str, Any]:
    spec = view.spec
    body = {
        "id": view.id,
        "team_id": ws.team.id,
        "type": view.type,
        "blocks": spec.get("blocks", []),
        "private_metadata": spec.get("private_metadata", ""),
        "callback_id": spec.get("callback_id", ""),
        "state": {"values": view.state_values},
        "hash": view.hash,
        "title": spec.get("title"),
        "clear_on_close": bool(spec.get("clear_on_close", False)),
        "notify_on_close": bool(spec.get("notify_on_close", False)),
        "close": spec.get("close"),
        "submit": spec.get("submit"),
        "previous_view_id": view.previous_view_id,
        "root_view_id": view.root_view_id,
        "app_id": ws.bot.app_id,
        "external_id": spec.get("external_id", ""),
        "app_installed_team_id": ws.team.id,
        "bot_id": ws.bot.bot_id,
    }
    return body


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's clients attach to a typed message, mentions included.

    `text` is mrkdwn (&, < and > escaped); the rich_text elements carry the plain text."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in REFERENCE.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": _unescape(text[position : match.start()])})
        if match.group("user"):
            elements.append({"type": "user", "user_id": match.group("user")})
        else:
            elements.append({"type": "channel", "channel_id": match.group("channel")})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": _unescape(text[position:])})
    block_id = base64.b32encode(text.encode()[:3].ljust(3, b"_")).decode()[:5]
    return [
        {
            "type": "rich_text",
            "block_id": block_id,
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


REFERENCE = re.compile(r"<(?:@(?P<user>[UW][A-Z0-9]+)|#(?P<channel>[CGD][A-Z0-9]+))(?:\|[^>]*)?>")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def user_ref(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id}
