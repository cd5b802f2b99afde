"""The views.* methods: modals opened with a fresh trigger_id, pushed onto a stack, updated in
place, and the App Home published; every view checked the way Slack checks it."""

from __future__ import annotations

import warnings
from typing import Any

from slack_sdk.models.views import View as ViewModel

from app.sandbox.block_kit import MAX_VIEW_BLOCKS, block_errors, with_ids
from app.sandbox.block_limits import MAX_ID
from app.sandbox.lookups import Method, known_user
from app.sandbox.slack_json import view_json
from app.sandbox.state import SandboxWorkspace, SlackError


async def open_view(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    spec = view_spec(params.get("view"), home=False)
    user = ws.exchange_trigger(params.get("trigger_id") or "")
    view = ws.open_view(user, spec)
    return {"view": view_json(ws, view)}


async def push(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    spec = view_spec(params.get("view"), home=False)
    trigger = ws.triggers.get(params.get("trigger_id") or "")
    user = ws.exchange_trigger(params.get("trigger_id") or "")
    below = ws.views.get(trigger.view_id or "") if trigger else None
    if below is None:
        raise SlackError("not_found")
    stack = ws.view_stack(below.root_view_id)
    view = ws.open_view(user, spec, on_top_of=stack[-1])
    return {"view": view_json(ws, view)}


async def update(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    view = ws.find_view(params.get("view_id"), params.get("external_id"))
    if view is None:
        raise SlackError("not_found")
    spec = view_spec(params.get("view"), home=view.type == "home")
    if params.get("hash") and params["hash"] != view.hash:
        raise SlackError("hash_conflict")
    ws.update_view(view, spec)
    return {"view": view_json(ws, view)}


async def publish(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    user = known_user(ws, params.get("user_id"))
    spec = view_spec(params.get("view"), home=True)
    current = ws.home_views.get(user.id)
    if params.get("hash") and current is not None and params["hash"] != current.hash:
        raise SlackError("hash_conflict")
    view = ws.publish_home(user.id, spec)
    return {"view": view_json(ws, view)}


METHODS: dict[str, Method] = {
    "views.open": open_view,
    "views.push": push,
    "views.update": update,
    "views.publish": publish,
}


def view_spec(raw: Any, *, home: bool) -> dict[str, Any]:
    """`raw` as a view Slack accepts (block and action ids filled in), or Slack's refusal."""
    if not isinstance(raw, dict):
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing view"]}
        )
    problems = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ViewModel(**raw).validate_json()
    except Exception as error:  # the models raise several kinds on malformed input
        problems.append(f"{error} [json-pointer:/view]")
    kind = raw.get("type")
    if home and kind != "home":
        problems.append("must be home [json-pointer:/view/type]")
    if not home and kind != "modal":
        problems.append("must be modal [json-pointer:/view/type]")
    if kind == "modal" and not raw.get("title"):
        problems.append("missing required field: title [json-pointer:/view/title]")
    for key in ("title", "submit", "close"):
        text = raw.get(key)
        if isinstance(text, dict) and text.get("type") != "plain_text":
            problems.append(f"must be plain_text [json-pointer:/view/{key}/type]")
    external_id = raw.get("external_id")
    if isinstance(external_id, str) and len(external_id) > MAX_ID:
        problems.append(
            f"must be less than {MAX_ID + 1} characters [json-pointer:/view/external_id]"
        )
    blocks = raw.get("blocks", [])
    has_inputs = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if kind == "modal" and has_inputs and not raw.get("submit"):
        problems.append("submit is required when input blocks are present [json-pointer:/view]")
    problems += block_errors(blocks, limit=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    if problems:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]}
        )
    return {**raw, "blocks": with_ids(blocks)}
