"""Block Kit for starting a workflow: the choice of workflow and the workflow's form.

The form has one input per field of the workflow (rules.yml `inputs`), pre-filled with
what the slash command already gave; values the command gave that were refused open empty,
with a hint under the field that says why.
"""

from __future__ import annotations

import json
from typing import Any

from app.rules.schema import InputField, Workflow
from handlers.views.blocks import TEXT_INPUT_LIMIT, Block, View, clip, context, escape, plain

FORM_VIEW, CHOOSE_VIEW = "trellis_workflow_form", "trellis_workflow_choose"
CHOICE_BLOCK, CHOICE_INPUT = "workflow", "choice"
FIELD_PREFIX = "field_"
METADATA_LIMIT = 3000
"""Slack's limit for a view's private_metadata, in characters."""
PREFILL_CUT = (
    f"The message was longer than a Slack text box holds: its first {TEXT_INPUT_LIMIT:,} "
    "characters are here."
)


def workflow_form(
    slug: str,
    workflow: Workflow,
    *,
    values: dict[str, str],
    channel_id: str,
    thread_ts: str | None,
    note: str | None = None,
    hints: dict[str, str] | None = None,
) -> View:
    """The form of a workflow; `hints` are said under their fields (a value refused)."""
    blocks: list[Block] = []
    if workflow.description:
        blocks.append(context(escape(workflow.description)))
    if note:
        blocks.append(context(f":information_source: {escape(note)}"))
    for name, spec in workflow.inputs.items():
        block = _field_block(name, spec, values.get(name))
        if hint := (hints or {}).get(name):
            block["hint"] = {"type": "plain_text", "text": clip(hint, 2000)}
        blocks.append(block)
    meta = {"workflow": slug, "channel_id": channel_id, "thread_ts": thread_ts}
    return {
        "type": "modal",
        "callback_id": FORM_VIEW,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": clip(workflow.title, 24)},
        "submit": {"type": "plain_text", "text": "Start"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _field_block(name: str, spec: InputField, value: str | None) -> Block:
    action_id = f"{FIELD_PREFIX}{name}"
    element: Block = {"type": "plain_text_input", "action_id": action_id}
    if spec.type == "text":
        element["multiline"] = True
    elif spec.type in ("number", "integer"):
        element = {
            "type": "number_input",
            "action_id": action_id,
            "is_decimal_allowed": spec.type == "number",
        }
        for key in ("min", "max"):
            bound = getattr(spec, key)
            if bound is not None:
                element[f"{key}_value"] = _number(float(bound))
    elif spec.type in ("choice", "boolean"):
        options = (spec.choices or []) if spec.type == "choice" else ["yes", "no"]
        element = {
            "type": "static_select",
            "action_id": action_id,
            "options": [{"text": plain(o), "value": o} for o in options],
        }
        if value is not None and str(value) in options:
            element["initial_option"] = element["options"][options.index(str(value))]
        value = None
    block: Block = {
        "type": "input",
        "block_id": name,
        "optional": not spec.required,
        "label": {"type": "plain_text", "text": clip(spec.title(name), 2000)},
        "element": element,
    }
    if element["type"] == "plain_text_input":
        element["max_length"] = TEXT_INPUT_LIMIT
        if value not in (None, ""):
            element["initial_value"] = _start_of(str(value), TEXT_INPUT_LIMIT)
            if element["initial_value"] != str(value):  # a long message, started from
                block["hint"] = plain(PREFILL_CUT, 2000)
    elif element["type"] == "number_input" and value not in (None, ""):
        element["initial_value"] = str(value)
    return block


def choose_modal(
    options: list[tuple[str, str]], *, channel_id: str, thread_ts: str | None, text: str
) -> View:
    meta = metadata_with_text({"channel_id": channel_id, "thread_ts": thread_ts}, text)
    return {
        "type": "modal",
        "callback_id": CHOOSE_VIEW,
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": "Start a workflow"},
        "submit": {"type": "plain_text", "text": "Next"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": CHOICE_BLOCK,
                "label": {"type": "plain_text", "text": "Which workflow?"},
                "element": {
                    "type": "static_select",
                    "action_id": CHOICE_INPUT,
                    "options": [
                        {"text": {"type": "plain_text", "text": clip(title, 75)}, "value": slug}
                        for slug, title in options
                    ],
                },
            }
        ],
    }


def metadata_with_text(fields: dict[str, Any], text: str) -> str:
    """`fields` and as much of the start of `text` as fits in a view's private_metadata.
    Characters are counted as Slack's clients count them (an emoji outside the basic plane
    counts two), with JSON's escapes."""
    room = METADATA_LIMIT - _units(json.dumps({**fields, "text": ""}, ensure_ascii=False))
    kept = 0
    for character in text:
        room -= _units(json.dumps(character, ensure_ascii=False)) - 2
        if room < 0:
            break
        kept += 1
    return json.dumps({**fields, "text": text[:kept]}, ensure_ascii=False)


def _start_of(text: str, limit: int) -> str:
    """As much of the start of `text` as `limit` characters, counted as Slack counts them."""
    if _units(text) <= limit:
        return text
    kept, room = 0, limit
    for character in text:
        room -= _units(character)
        if room < 0:
            break
        kept += 1
    return text[:kept]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def form_values(state: dict[str, Any]) -> dict[str, str]:
    """The workflow form's values by field name, as typed (blank ones left out)."""
    values: dict[str, str] = {}
    for block_id, inputs in (state.get("values") or {}).items():
        for action_id, entry in inputs.items():
            if not action_id.startswith(FIELD_PREFIX):
                continue
            option = entry.get("selected_option")
            value = option.get("value") if option else entry.get("value")
            if value not in (None, ""):
                values[block_id] = str(value)
    return values


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)
