"""Block Kit's documented limits on what a block holds: its elements, their options, confirm
dialogs and text objects. slack_sdk's models check only a block's own fields (a header's
150 characters, an actions block's 25 elements), not the button, select or option inside
it, which Slack refuses all the same (`invalid_blocks`, `invalid_arguments` for a view).

Each problem is worded as Slack words it, with a JSON pointer to the field."""

from __future__ import annotations

from typing import Any

TEXT_TYPES = ("plain_text", "mrkdwn")
MAX_TEXT = 3000
"""The most characters of any text object."""
MAX_ID = 255
"""The most characters of an action_id or a block_id."""

STRINGS: dict[str, dict[str, int]] = {
    "button": {"value": 2000, "url": 3000, "accessibility_label": 75},
    "image": {"alt_text": 2000, "image_url": 3000},
    "overflow": {},
    "plain_text_input": {},
}
"""Plain string fields of an element or block, and the most characters each takes."""

TEXTS: dict[str, dict[str, tuple[int, bool]]] = {
    "button": {"text": (75, True)},
    "header": {"text": (150, True)},
    "input": {"label": (2000, True), "hint": (2000, True)},
    "image": {"title": (2000, True)},
    "section": {"text": (3000, False)},
    **{
        kind: {"placeholder": (150, True)}
        for kind in (
            "static_select",
            "multi_static_select",
            "external_select",
            "multi_external_select",
            "users_select",
            "multi_users_select",
            "conversations_select",
            "multi_conversations_select",
            "channels_select",
            "multi_channels_select",
            "plain_text_input",
            "number_input",
            "email_text_input",
            "url_text_input",
            "datepicker",
            "timepicker",
        )
    },
}
"""Text-object fields of an element or block: the most characters of their text, and whether
they must be plain_text."""

ITEMS: dict[str, dict[str, tuple[int, int]]] = {
    "static_select": {"options": (1, 100), "option_groups": (1, 100)},
    "multi_static_select": {"options": (1, 100), "option_groups": (1, 100)},
    "overflow": {"options": (1, 5)},
    "radio_buttons": {"options": (1, 10)},
    "checkboxes": {"options": (1, 10)},
    "section": {"fields": (1, 10)},
    "context": {"elements": (1, 10)},
    "actions": {"elements": (1, 25)},
    "context_actions": {"elements": (1, 5)},
}
"""Lists an element or block holds, with how few and how many items each takes."""

NUMBERS: dict[str, dict[str, int]] = {"plain_text_input": {"max_length": 3000, "min_length": 3000}}
"""Numbers an element takes, with their largest value."""

SELECTS_PLAIN_OPTIONS = frozenset({"static_select", "multi_static_select", "overflow"})
"""Elements whose options' text must be plain_text (radio buttons and checkboxes take mrkdwn)."""


def limit_errors(block: dict[str, Any], where: str) -> list[str]:
    """Every documented limit the block `block` (at the JSON pointer `where`) goes past."""
    return _node_errors(block, where)


def _node_errors(node: dict[str, Any], where: str) -> list[str]:
    kind = node.get("type")
    if kind in TEXT_TYPES:
        return _text_errors(node, where, MAX_TEXT, plain=False)
    found: list[str] = []
    for key in ("action_id", "block_id"):
        found += _too_long(node.get(key), MAX_ID, f"{where}/{key}")
    if not isinstance(kind, str):
        return found
    for key, most in STRINGS.get(kind, {}).items():
        found += _too_long(node.get(key), most, f"{where}/{key}")
    for key, (most, plain) in TEXTS.get(kind, {}).items():
        if isinstance(node.get(key), dict):
            found += _text_errors(node[key], f"{where}/{key}", most, plain=plain)
    for key, (fewest, most) in ITEMS.get(kind, {}).items():
        found += _count_errors(node.get(key), fewest, most, f"{where}/{key}")
    for key, largest in NUMBERS.get(kind, {}).items():
        value = node.get(key)
        if isinstance(value, int) and value > largest:
            found.append(f"must be less than {largest + 1} [json-pointer:{where}/{key}]")
    if kind == "plain_text_input":  # a box holds no more than its largest max_length
        box = node.get("max_length")
        most = box if isinstance(box, int) else NUMBERS[kind]["max_length"]
        found += _too_long(node.get("initial_value"), most, f"{where}/initial_value")
    if kind == "section":
        for i, field in enumerate(node.get("fields") or []):
            if isinstance(field, dict):
                found += _text_errors(field, f"{where}/fields/{i}", 2000, plain=False)
    if isinstance(node.get("confirm"), dict):
        found += _confirm_errors(node["confirm"], f"{where}/confirm")
    plain_options = kind in SELECTS_PLAIN_OPTIONS
    for i, option in enumerate(node.get("options") or []):
        if isinstance(option, dict):
            found += _option_errors(option, f"{where}/options/{i}", plain=plain_options)
    for i, group in enumerate(node.get("option_groups") or []):
        if isinstance(group, dict):
            found += _group_errors(group, f"{where}/option_groups/{i}")
    found += _initial_option_errors(node, where)
    for key in ("positive_button", "negative_button"):  # feedback_buttons
        button = node.get(key)
        if isinstance(button, dict):
            found += _feedback_button_errors(button, f"{where}/{key}")
    for key in ("elements", "element", "accessory"):
        found += _children_errors(node.get(key), f"{where}/{key}")
    return found


def _children_errors(held: Any, where: str) -> list[str]:
    if isinstance(held, dict):
        return _node_errors(held, where)
    if isinstance(held, list):
        return [
            e
            for i, item in enumerate(held)
            if isinstance(item, dict)
            for e in _node_errors(item, f"{where}/{i}")
        ]
    return []


def _text_errors(text: dict[str, Any], where: str, most: int, *, plain: bool) -> list[str]:
    found: list[str] = []
    kind = text.get("type")
    if kind not in TEXT_TYPES:
        return [f"must be a text object [json-pointer:{where}/type]"]
    if plain and kind != "plain_text":
        found.append(f"must be plain_text [json-pointer:{where}/type]")
    if kind == "mrkdwn" and "emoji" in text:
        found.append(f"emoji is only valid for plain_text [json-pointer:{where}/emoji]")
    if kind == "plain_text" and "verbatim" in text:
        found.append(f"verbatim is only valid for mrkdwn [json-pointer:{where}/verbatim]")
    value = text.get("text")
    if not isinstance(value, str) or not value:
        found.append(f"must be more than 0 characters [json-pointer:{where}/text]")
    else:
        found += _too_long(value, most, f"{where}/text")
    return found


def _option_errors(option: dict[str, Any], where: str, *, plain: bool) -> list[str]:
    found: list[str] = []
    if isinstance(option.get("text"), dict):
        found += _text_errors(option["text"], f"{where}/text", 75, plain=plain)
    else:
        found.append(f"missing required field: text [json-pointer:{where}]")
    if isinstance(option.get("description"), dict):
        found += _text_errors(option["description"], f"{where}/description", 75, plain=plain)
    found += _too_long(option.get("value"), 150, f"{where}/value")
    found += _too_long(option.get("url"), 3000, f"{where}/url")
    return found


def _initial_option_errors(element: dict[str, Any], where: str) -> list[str]:
    """A menu's initial option(s) must each match one of its options exactly."""
    offered = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            offered += group.get("options") or []
    keys = [_option_key(o) for o in offered if isinstance(o, dict)]
    found: list[str] = []
    initial = element.get("initial_option")
    if isinstance(initial, dict) and _option_key(initial) not in keys:
        found.append(f"must be one of the provided options [json-pointer:{where}/initial_option]")
    several = element.get("initial_options")
    if isinstance(several, list):
        if not several and offered:
            found.append(f"must provide at least 1 items [json-pointer:{where}/initial_options]")
        for i, option in enumerate(several):
            if not isinstance(option, dict) or _option_key(option) not in keys:
                found.append(
                    f"must be one of the provided options [json-pointer:{where}/initial_options/{i}]"
                )
    return found


def _option_key(option: dict[str, Any]) -> tuple[Any, Any]:
    text = option.get("text")
    return option.get("value"), text.get("text") if isinstance(text, dict) else text


def _group_errors(group: dict[str, Any], where: str) -> list[str]:
    found = _count_errors(group.get("options"), 1, 100, f"{where}/options")
    if isinstance(group.get("label"), dict):
        found += _text_errors(group["label"], f"{where}/label", 75, plain=True)
    for i, option in enumerate(group.get("options") or []):
        if isinstance(option, dict):
            found += _option_errors(option, f"{where}/options/{i}", plain=True)
    return found


def _confirm_errors(confirm: dict[str, Any], where: str) -> list[str]:
    found: list[str] = []
    for key, most in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
        if isinstance(confirm.get(key), dict):
            found += _text_errors(confirm[key], f"{where}/{key}", most, plain=key != "text")
    return found


def _feedback_button_errors(button: dict[str, Any], where: str) -> list[str]:
    found: list[str] = []
    if isinstance(button.get("text"), dict):
        found += _text_errors(button["text"], f"{where}/text", 75, plain=True)
    found += _too_long(button.get("value"), 2000, f"{where}/value")
    found += _too_long(button.get("accessibility_label"), 75, f"{where}/accessibility_label")
    return found


def _count_errors(items: Any, fewest: int, most: int, where: str) -> list[str]:
    if not isinstance(items, list):
        return []
    if len(items) > most:
        return [f"no more than {most} items allowed [json-pointer:{where}]"]
    if len(items) < fewest:
        return [f"must provide at least {fewest} items [json-pointer:{where}]"]
    return []


def _too_long(value: Any, most: int, where: str) -> list[str]:
    if isinstance(value, str) and len(value) > most:
        return [f"must be less than {most + 1} characters [json-pointer:{where}]"]
    return []
