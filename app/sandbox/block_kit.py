"""Block Kit as Slack checks it: what slack_sdk's models find wrong with a list of blocks,
worded like Slack's answers, and the block_id and action_id Slack fills in."""

from __future__ import annotations

import base64
import copy
import warnings
from typing import Any

from slack_sdk.models.blocks import Block

from app.sandbox.block_limits import limit_errors

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 3000
"""The most characters of any text object, wherever it is (a context's too)."""
MAX_BLOCKS_TEXT = 13_000
"""The most characters of text all the blocks of one message may hold together. Slack does
not document it, but answers `msg_blocks_too_long` from about 13,200 characters (less when
the blocks hold more than text), well below its 50 blocks of 3,000 each."""
INTERACTIVE_HOLDERS = {
    "actions": "elements",
    "context_actions": "elements",
    "input": "element",
    "section": "accessory",
}


def block_errors(blocks: Any, *, limit: int, pointer: str) -> list[str]:
    """Problems slack_sdk's Block Kit models find in `blocks`, worded like Slack's answers."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    errors = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    seen_ids: set[str] = set()
    for index, raw in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(raw, dict) or "type" not in raw:
            errors.append(f"missing required field: type [json-pointer:{where}]")
            continue
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                errors.append(f"duplicate block_id: {block_id} [json-pointer:{where}/block_id]")
            seen_ids.add(block_id)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = Block.parse(dict(raw))
                if model is None:
                    errors.append(f"unsupported type: {raw['type']} [json-pointer:{where}/type]")
                    continue
                model.validate_json()
        except Exception as error:  # the models raise several kinds on malformed input
            errors.append(f"{error} [json-pointer:{where}]")
            continue
        if raw["type"] == "section" and not raw.get("text") and not raw.get("fields"):
            errors.append(f"must provide either text or fields [json-pointer:{where}]")
        found = _long_texts(raw, where) + limit_errors(raw, where)
        errors += list(dict.fromkeys(found))
    return errors


def _long_texts(node: Any, where: str) -> list[str]:
    """Text objects inside `node` longer than Slack takes."""
    if isinstance(node, list):
        return [e for i, item in enumerate(node) for e in _long_texts(item, f"{where}/{i}")]
    if not isinstance(node, dict):
        return []
    found = []
    text = node.get("text")
    is_text = node.get("type") in ("mrkdwn", "plain_text")
    if is_text and isinstance(text, str) and len(text) > MAX_TEXT:
        found.append(f"must be less than {MAX_TEXT + 1} characters [json-pointer:{where}/text]")
    for key, value in node.items():
        if isinstance(value, dict | list):
            found += _long_texts(value, f"{where}/{key}")
    return found


def with_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of `blocks` with the block_id and action_id Slack assigns when they are left out."""
    result = []
    for index, original in enumerate(blocks):
        block = copy.deepcopy(original)
        block.setdefault("block_id", _short_id(f"{index}{block['type']}"))
        held = block.get(INTERACTIVE_HOLDERS.get(block["type"], ""))
        elements = held if isinstance(held, list) else [held] if isinstance(held, dict) else []
        for position, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") != "image":
                element.setdefault("action_id", _short_id(f"{index}.{position}"))
        result.append(block)
    return result


def _short_id(seed: str) -> str:
    return base64.b32encode(seed.encode()).decode().rstrip("=")[:5]


def text_length(node: Any) -> int:
    """Characters of every text object inside `node` (blocks, or one block)."""
    if isinstance(node, list):
        return sum(text_length(item) for item in node)
    if not isinstance(node, dict):
        return 0
    text = node.get("text")
    own = len(text) if node.get("type") in ("mrkdwn", "plain_text") and isinstance(text, str) else 0
    return own + sum(text_length(v) for v in node.values() if isinstance(v, dict | list))
