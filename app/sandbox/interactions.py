"""The interactive and slash-command payloads Slack sends over Socket Mode: button clicks,
view submissions and closings, message shortcuts and commands, and the state of a view's
inputs."""

from __future__ import annotations

from typing import Any

from app.sandbox.records import Conversation, Message, User, View
from app.sandbox.slack_json import VERIFICATION_TOKEN, message_json, user_ref, view_json
from app.sandbox.state import SandboxWorkspace


def find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None = None
) -> tuple[str, dict[str, Any]]:
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


def action_json(
    block_id: str, element: dict[str, Any], *, value: str | None, action_ts: str
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": element.get("type", "button"),
        "action_ts": action_ts,
    }
    if action["type"] == "feedback_buttons":
        return _feedback_action(action, element, value)
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


def _feedback_action(
    action: dict[str, Any], element: dict[str, Any], value: str | None
) -> dict[str, Any]:
    """A click on one of a feedback_buttons element's two buttons (`value` picks which;
    the positive one without it)."""
    buttons = [element.get("positive_button") or {}, element.get("negative_button") or {}]
    chosen = next((b for b in buttons if value is not None and b.get("value") == value), None)
    if chosen is None and value is not None:
        raise LookupError(f"no feedback button with value {value!r}")
    chosen = chosen or buttons[0]
    action.update(value=chosen.get("value"), text=chosen.get("text"))
    return action


def block_actions(
    ws: SandboxWorkspace,
    *,
    user: User,
    actions: list[dict[str, Any]],
    trigger_id: str,
    container: dict[str, Any],
    channel: Conversation | None = None,
    message: dict[str, Any] | None = None,
    view: View | None = None,
    response_url: str | None = None,
    state_values: dict[str, Any] | None = None,
) -> dict[str, Any]:
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


def view_submission(
    ws: SandboxWorkspace, *, user: User, view: View, trigger_id: str
) -> dict[str, Any]:
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


def view_closed(
    ws: SandboxWorkspace, *, user: User, view: View, is_cleared: bool
) -> dict[str, Any]:
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
) -> dict[str, Any]:
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
) -> dict[str, Any]:
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


def state_values(blocks: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """view.state.values for `values`, keyed {block_id: v}, {block_id: {action_id: v}} or
    just {action_id: v}.

    A select takes the option's value (a list for multi-selects); every other input a string.
    Inputs that are not given are present with an empty value, as Slack sends them.
    """
    state: dict[str, dict[str, Any]] = {}
    for block in blocks:
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        block_id, action_id = block.get("block_id", ""), element.get("action_id", "")
        by_block = values.get(block_id)
        if isinstance(by_block, dict):
            raw = by_block.get(action_id, values.get(action_id))
        else:
            raw = values.get(action_id, by_block)
        state.setdefault(block_id, {})[action_id] = _input_value(element, raw)
    return state


def _input_value(element: dict[str, Any], raw: Any) -> dict[str, Any]:
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


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    return options


def _option(value: Any) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": str(value), "emoji": True}, "value": str(value)}


def missing_inputs(blocks: list[dict[str, Any]], state: dict[str, Any]) -> list[str]:
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


def unoffered_choices(blocks: list[dict[str, Any]], state: dict[str, Any]) -> list[str]:
    """block_ids of menus given a value none of their options has (Slack's client offers
    only the options the view lists)."""
    found = []
    for block in blocks:
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        key = SELECTED.get(element.get("type", ""))
        if key not in ("selected_option", "selected_options") or not _options(element):
            continue
        entry = state.get(block.get("block_id", ""), {}).get(element.get("action_id", ""), {})
        chosen = entry.get(key)
        chosen = chosen if isinstance(chosen, list) else [chosen] if chosen else []
        offered = {o.get("value") for o in _options(element)}
        if any(option.get("value") not in offered for option in chosen):
            found.append(block.get("block_id", ""))
    return found


def form_error_problems(blocks: list[dict[str, Any]], errors: Any) -> list[str]:
    """What is wrong with a `response_action: errors` ack: Slack shows each error under the
    input block whose block_id is its key, so it wants at least one, each naming an input
    block of the submitted view, each a string."""
    if not isinstance(errors, dict) or not errors:
        return ["errors must name at least one input block"]
    inputs = {b.get("block_id") for b in blocks if b.get("type") == "input"}
    return [
        f"{key!r}: not an input block of the view" if key not in inputs else f"{key!r}: not text"
        for key, message in errors.items()
        if key not in inputs or not isinstance(message, str)
    ]
