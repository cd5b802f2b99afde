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

MESSAGE_BLOCKS = 50
"""Slack's limit for the blocks of one message."""

MESSAGE_TEXT = 12_000
"""The most text Trellis puts in the blocks of one message. Slack refuses a message whose
blocks hold more than about 13,200 characters of text (`msg_blocks_too_long`), a limit it
does not document, long before 50 sections of 3,000."""

_WHOLE = re.compile(r"<[^<>\n]*>|&[a-z]+;|\[\d+\]")
"""What a piece of mrkdwn must not be cut inside: a link or mention, an escaped character,
a citation marker."""
_BREAKS = (
    re.compile(r"(?=\n)"),
    re.compile(r"[.!?][\"')\]]*(?: ?\[\d+\])*(?= )"),
    re.compile(r"(?= )"),
)
"""Where a long text is cut, best first: between lines, after a sentence (with the citation
markers that follow it), between words."""

_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Bidirectional overrides: they can make posted text read other than it is."""


TEXT_INPUT_LIMIT = 3000
"""The most a Slack text box holds (a plain-text input's largest `max_length`)."""


def escape(text: str) -> str:
    """Slack's three control characters, as Slack asks (&, < and >), and no bidirectional
    overrides."""
    text = _BIDI.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pieces(text: str, *, limit: int = SECTION_LIMIT, carry: str = "") -> list[str]:
    """Mrkdwn that is already escaped, cut into pieces of at most `limit` characters, at a
    line's end where one is near, else after a sentence, else between words, and never
    inside a link, an escaped character or a citation marker. `carry` starts a piece that
    begins inside a line (">" keeps a quoted line quoted)."""
    cut: list[str] = []
    rest = text
    while len(rest) > limit:
        at = cut_at(rest, limit)
        cut.append(rest[:at].rstrip(" "))
        rest = rest[at:]
        rest = rest[1:] if rest.startswith("\n") else carry + rest.lstrip(" ")
    return [piece for piece in (*cut, rest) if piece] or [rest]


def cut_at(text: str, limit: int) -> int:
    """Where to cut `text` (longer than `limit`) so the first part keeps to `limit`: the
    best break of `_BREAKS` in its second half, never inside what `_WHOLE` keeps whole."""
    window = text[: limit + 1]
    whole = [m.span() for m in _WHOLE.finditer(text)]

    def safe(at: int) -> bool:
        return at > 0 and not any(start < at < end for start, end in whole)

    found = []
    for pattern in _BREAKS:
        places = (m.end() for m in pattern.finditer(window) if m.end() <= limit)
        best = max((at for at in places if safe(at)), default=0)
        if best >= limit // 2:
            return best
        found.append(best)
    at = max(found) or limit
    while not safe(at) and at > 1:
        at -= 1
    return at


def link(url: str | None, label: str) -> str:
    label = escape(label).replace("|", "¦")
    if not url:
        return label
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return label
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe_url}|{label}>"


def clip_mrkdwn(text: str, limit: int) -> str:
    """Mrkdwn that is already escaped, cut to `limit` characters with "…" where it is
    longer: at a line's end, a sentence's or a word's, never inside a link, a mention or an
    escaped character (which would show as broken markup)."""
    if len(text) <= limit:
        return text
    return text[: cut_at(text, limit - 1)].rstrip() + "…"


def section(text: str) -> Block:
    """A section of mrkdwn that is already escaped."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip_mrkdwn(text, SECTION_LIMIT)}}


def context(text: str) -> Block:
    """A line of small print, in mrkdwn that is already escaped."""
    shown = clip_mrkdwn(text, SECTION_LIMIT)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": shown}]}


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


def text_in(blocks: Any) -> int:
    """How many characters of text `blocks` (or one block) hold, as Slack counts them
    against `MESSAGE_TEXT`."""
    if isinstance(blocks, list):
        return sum(text_in(part) for part in blocks)
    if not isinstance(blocks, dict):
        return 0
    text = blocks.get("text")
    own = len(text) if isinstance(text, str) and blocks.get("type") in _TEXT_TYPES else 0
    return own + sum(text_in(part) for part in blocks.values() if isinstance(part, dict | list))


_TEXT_TYPES = ("mrkdwn", "plain_text")


def batches(blocks: list[Block]) -> list[list[Block]]:
    """`blocks` in order, in as few Slack messages as take them: each message at most
    `MESSAGE_BLOCKS` blocks and `MESSAGE_TEXT` characters of text."""
    found: list[list[Block]] = [[]]
    used = 0
    for block in blocks:
        size = text_in(block)
        if found[-1] and (len(found[-1]) >= MESSAGE_BLOCKS or used + size > MESSAGE_TEXT):
            found.append([])
            used = 0
        found[-1].append(block)
        used += size
    return found
