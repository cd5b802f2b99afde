"""Builders of Slack-shaped JSON: objects as the Web API returns them, events as the Events API
wraps them, and the interactive and slash-command payloads Slack sends over Socket Mode."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from app.sandbox.state import (
    Conversation,
    Ephemeral,
    Message,
    SandboxWorkspace,
    User,
    View,
)

VERIFICATION_TOKEN = "sandboxverificationtoken"
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


# -- objects ----------------------------------------------------------------------------------


def user_json(ws: SandboxWorkspace, user: User) -> dict:
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


def conversation_json(ws: SandboxWorkspace, conversation: Conversation) -> dict:
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
        "is_group": conversation.is_private,
        "is_im": False,
        "is_mpim": False,
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


def message_json(ws: SandboxWorkspace, message: Message) -> dict:
    body: dict[str, Any] = {"type": "message", "user": message.user, "text": message.text}
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


def ephemeral_json(ws: SandboxWorkspace, ephemeral: Ephemeral) -> dict:
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


def view_json(ws: SandboxWorkspace, view: View) -> dict:
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


def rich_text_blocks(text: str) -> list[dict]:
    """The rich_text block Slack's clients attach to a typed message, mentions included.

    `text` is mrkdwn (&, < and > escaped); the rich_text elements carry the plain text."""
    elements: list[dict] = []
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


def user_ref(user: User) -> dict:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id}


# -- Events API -------------------------------------------------------------------------------


def event_callback(
    ws: SandboxWorkspace, event: dict, *, event_id: str, conversation: Conversation | None = None
) -> dict:
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


def message_event(ws: SandboxWorkspace, message: Message, conversation: Conversation) -> dict:
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


def app_mention_event(ws: SandboxWorkspace, message: Message) -> dict:
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
    _mark_external(ws, event, message)
    return event


def reaction_event(kind: str, *, user: str, reaction: str, message: Message, event_ts: str) -> dict:
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
) -> dict:
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


def _mark_external(ws: SandboxWorkspace, event: dict, message: Message) -> None:
    if message.team != ws.team.id:
        event["user_team"] = message.team
        event["source_team"] = message.team


# -- interactivity ----------------------------------------------------------------------------


def find_element(
    blocks: list[dict], action_id: str, block_id: str | None = None
) -> tuple[str, dict]:
    """The (block_id, element) holding `action_id` in `blocks`."""
    for block in blocks or []:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements", []))
        for key in ("accessory", "element"):
            if key in block:
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    raise LookupError(f"no element with action_id {action_id!r} in these blocks")


def action_json(block_id: str, element: dict, *, value: str | None, action_ts: str) -> dict:
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": element.get("type", "button"),
        "action_ts": action_ts,
    }
    if "text" in element:
        action["text"] = element["text"]
    if SELECTED.get(action["type"]) == "selected_option" and value is not None:
        options = {o["value"]: o for o in _options(element)}
        action["selected_option"] = options.get(value, _option(value))
        return action
    if value is not None or "value" in element:
        action["value"] = value if value is not None else element["value"]
    if "style" in element:
        action["style"] = element["style"]
    return action


def block_actions(
    ws: SandboxWorkspace,
    *,
    user: User,
    actions: list[dict],
    trigger_id: str,
    container: dict,
    channel: Conversation | None = None,
    message: dict | None = None,
    view: View | None = None,
    response_url: str | None = None,
    state_values: dict | None = None,
) -> dict:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_ref(user),
        "api_app_id": ws.bot.app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": ws.team.id, "domain": ws.team.domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if channel is not None:
        payload["channel"] = {"id": channel.id, "name": channel.name}
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view_json(ws, view)
    payload["state"] = {"values": state_values or {}}
    if response_url is not None:
        payload["response_url"] = response_url
    payload["actions"] = actions
    return payload


def view_submission(ws: SandboxWorkspace, *, user: User, view: View, trigger_id: str) -> dict:
    return {
        "type": "view_submission",
        "team": {"id": ws.team.id, "domain": ws.team.domain},
        "user": user_ref(user),
        "api_app_id": ws.bot.app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": view_json(ws, view),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(ws: SandboxWorkspace, *, user: User, view: View, is_cleared: bool) -> dict:
    return {
        "type": "view_closed",
        "team": {"id": ws.team.id, "domain": ws.team.domain},
        "user": user_ref(user),
        "api_app_id": ws.bot.app_id,
        "token": VERIFICATION_TOKEN,
        "view": view_json(ws, view),
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def message_action(
    ws: SandboxWorkspace,
    *,
    user: User,
    channel: Conversation,
    message: Message,
    callback_id: str,
    trigger_id: str,
    response_url: str,
    action_ts: str,
) -> dict:
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": action_ts,
        "team": {"id": ws.team.id, "domain": ws.team.domain},
        "user": user_ref(user),
        "channel": {"id": channel.id, "name": channel.name},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.ts,
        "message": message_json(ws, message),
    }


def slash_command(
    ws: SandboxWorkspace,
    *,
    user: User,
    channel: Conversation,
    command: str,
    text: str,
    trigger_id: str,
    response_url: str,
) -> dict:
    """The slash command's form fields; every value is a string, as in Slack's form post."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team.id,
        "team_domain": ws.team.domain,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": ws.bot.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


SELECTED = {
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}


def state_values(blocks: list[dict], values: dict[str, Any]) -> dict:
    """view.state.values for `values`, keyed {block_id: {action_id: v}} or just {action_id: v}.

    A select takes the option's value (a list for multi-selects); every other input a string.
    Inputs that are not given are present with an empty value, as Slack sends them.
    """
    state: dict[str, dict] = {}
    for block in blocks:
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        block_id, action_id = block.get("block_id", ""), element.get("action_id", "")
        given = values.get(block_id, {}) if isinstance(values.get(block_id), dict) else {}
        raw = given.get(action_id, values.get(action_id))
        state.setdefault(block_id, {})[action_id] = _input_value(element, raw)
    return state


def _input_value(element: dict, raw: Any) -> dict:
    kind = element.get("type", "plain_text_input")
    key = SELECTED.get(kind)
    if key is None:
        return {"type": kind, "value": None if raw is None else str(raw)}
    if key in ("selected_option", "selected_options"):
        options = {o["value"]: o for o in _options(element)}
        if key == "selected_options":
            chosen = [options.get(str(v), _option(v)) for v in (raw or [])]
            return {"type": kind, key: chosen}
        return {"type": kind, key: None if raw is None else options.get(str(raw), _option(raw))}
    return {"type": kind, key: raw}


def _options(element: dict) -> list[dict]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    return options


def _option(value: Any) -> dict:
    return {"text": {"type": "plain_text", "text": str(value), "emoji": True}, "value": str(value)}


def missing_inputs(blocks: list[dict], state: dict) -> list[str]:
    """block_ids of required inputs left empty (Slack's client refuses to submit those)."""
    missing = []
    for block in blocks:
        if block.get("type") != "input" or block.get("optional"):
            continue
        element = block.get("element", {})
        value = state.get(block.get("block_id", ""), {}).get(element.get("action_id", ""), {})
        if not any(v not in (None, "", []) for k, v in value.items() if k != "type"):
            missing.append(block.get("block_id", ""))
    return missing
