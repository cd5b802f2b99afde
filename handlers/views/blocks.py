"""The parts every Trellis message is made of, and the one way text enters mrkdwn.

Every piece of text that comes from a document, a person, the model or the workspace's
files goes through `escape` before it enters mrkdwn, so nothing can `<!channel>`, mention
someone or dress a link up as another. Links are built only from http(s) URLs.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, TypeAlias
from urllib.parse import urlparse

Block: TypeAlias = dict[str, Any]
"""A Block Kit block, or a part of one (text object, element, option), as JSON for Slack."""

View: TypeAlias = dict[str, Any]
"""A modal or a Home tab, as JSON for `views.open`, `views.publish` or a view's ack."""

SECTION_LIMIT = 2900
"""Slack's limit for a section's text is 3000 characters; the rest is room for mentions."""

_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Bidirectional overrides: they can make posted text read other than it is."""


def escape(text: str) -> str:
    """Slack's three control characters, as Slack asks (&, < and >), and no bidirectional
    overrides."""
    text = _BIDI.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def link(url: str | None, label: str) -> str:
    label = escape(label).replace("|", "¦")
    if not url:
        return label
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return label
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe_url}|{label}>"


def section(text: str) -> Block:
    """A section of mrkdwn that is already escaped."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def context(text: str) -> Block:
    """A line of small print, in mrkdwn that is already escaped."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}]}


def plain(text: str, limit: int = 75) -> Block:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, 150)}


def button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    shown: Block = {"type": "button", "action_id": action_id, "value": value, "text": plain(label)}
    if style:
        shown["style"] = style
    return shown


def notice_blocks(text: str, *, emoji: str = ":warning:") -> list[Block]:
    """Plain text from Trellis, escaped, after an emoji."""
    return [section(f"{emoji} {escape(text)}")]


def duration(delta: timedelta) -> str:
    """How long something has waited: "30 hours", "3 days"."""
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} hours"
