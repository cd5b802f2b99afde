"""Events API events, as Slack wraps them in an `event_callback` for an events_api envelope."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from app.sandbox.records import Conversation, Message, View
from app.sandbox.slack_json import VERIFICATION_TOKEN, message_json, view_json
from app.sandbox.state import SandboxWorkspace

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def event_callback(
    ws: SandboxWorkspace,
    event: dict[str, Any],
    *,
    event_id: str,
    conversation: Conversation | None = None,
) -> dict[str, Any]:
    """The Events API wrapper around one event, as delivered in an events_api envelope."""
    context = {"et": event["type"], "tid": ws.team.id, "aid": ws.bot.app_id}
    if conversation is not None:
        context["cid"] = conversation.id
    encoded = base64.urlsafe_b64encode(json.dumps(context, separators=(",", ":")).encode())
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team.id,
        "context_team_id": ws.team.id,
        "context_enterprise_id": None,
        "api_app_id": ws.bot.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(ws.clock()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team.id,
                "user_id": ws.bot.user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": bool(conversation and conversation.is_ext_shared),
        "event_context": "4-" + encoded.decode().rstrip("="),
    }


def message_event(
    ws: SandboxWorkspace, message: Message, conversation: Conversation
) -> dict[str, Any]:
    event = message_json(ws, message)
    for key in ("reactions", "reply_count", "reply_users_count", "latest_reply", "reply_users"):
        event.pop(key, None)
    event.pop("is_locked", None)
    event.pop("subscribed", None)
    event.update(
        channel=conversation.id, event_ts=message.ts, channel_type=conversation.channel_type
    )
    _mark_external(ws, event, message)
    return event


def deleted_event(
    ws: SandboxWorkspace, message: Message, conversation: Conversation
) -> dict[str, Any]:
    """A message deleted, as Slack reports it: hidden, naming it by `deleted_ts`, with the
    message as it was."""
    ts = ws.next_ts()
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": conversation.id,
        "ts": ts,
        "deleted_ts": message.ts,
        "event_ts": ts,
        "previous_message": message_event(ws, message, conversation),
        "channel_type": conversation.channel_type,
    }
    return event


def changed_event(
    ws: SandboxWorkspace, message: Message, previous: Message, conversation: Conversation
) -> dict[str, Any]:
    """A message changed, as Slack reports it: edited (its `edited` names who and when), or
    deleted while it has replies, changed into its placeholder ("This message was deleted.",
    subtype `tombstone`)."""
    ts = ws.next_ts()
    now = message_event(ws, message, conversation)
    if message.subtype == "tombstone":
        now.update(hidden=True, thread_ts=message.ts, parent_user_id="USLACKBOT")
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": conversation.id,
        "ts": ts,
        "event_ts": ts,
        "message": now,
        "previous_message": message_event(ws, previous, conversation),
        "channel_type": conversation.channel_type,
    }


def app_mention_event(ws: SandboxWorkspace, message: Message) -> dict[str, Any]:
    event: dict[str, Any] = {
        "client_msg_id": message.client_msg_id,
        "type": "app_mention",
        "text": message.text,
        "user": message.user,
        "ts": message.ts,
        "blocks": message.blocks or [],
        "team": message.team,
        "channel": message.channel,
        "event_ts": message.ts,
    }
    if message.thread_ts:
        event["thread_ts"] = message.thread_ts
    if message.edited_ts:
        event["edited"] = {"user": message.user, "ts": message.edited_ts}
    _mark_external(ws, event, message)
    return event


def reaction_event(
    kind: str, *, user: str, reaction: str, message: Message, event_ts: str
) -> dict[str, Any]:
    return {
        "type": kind,
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "item_user": message.user,
        "event_ts": event_ts,
    }


def app_home_opened_event(
    ws: SandboxWorkspace, *, user: str, im: Conversation, home: View | None, event_ts: str
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": im.id,
        "tab": "home",
        "event_ts": event_ts,
    }
    if home is not None:
        event["view"] = view_json(ws, home)
    return event


def _mark_external(ws: SandboxWorkspace, event: dict[str, Any], message: Message) -> None:
    if message.team != ws.team.id:
        event["user_team"] = message.team
        event["source_team"] = message.team
