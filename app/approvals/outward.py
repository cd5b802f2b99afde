"""What of a draft leaves Trellis when its actions send the text out, and when it may.

A draft's text is written for its approvers: the card shows its citation markers [n] with
the sources beside them, and a draft nothing supports says so ("No document visible to
everyone who reads this card answers this request."). An email, a ticket or a webhook
(`{{ draft.text }}`) reaches someone outside, who sees neither the card nor its sources,
and may not be allowed to know the titles of restricted documents. So the text that goes
out is the draft without the notes meant for approvers and without its markers; the card
keeps both.

A draft no document supports restates the internal request. When approving it would send
that text out, it cannot be approved as it stands: an approver edits it first (the card
says so), and the edited text is what goes out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.answering.backends.drafter import NO_POLICY, NOTHING_ON_FILE
from app.answering.citations import without_markers
from app.delivery.actions import OUTSIDE, PLACEHOLDER

APPROVER_NOTES = (NOTHING_ON_FILE, NO_POLICY)
"""What a draft says to its approvers only."""

EDIT_FIRST = (
    "No document supports this draft: it restates the request, and approving it sends its "
    "text out ({outside}). Edit it first, then approve the edited text."
)
"""Why Approve refuses an unsupported draft nobody has edited."""


def outward_text(text: str) -> str:
    """`text` as someone outside Trellis reads it: no approvers' notes, no [n] markers."""
    for note in APPROVER_NOTES:
        text = text.replace(note, "")
    text = without_markers(text)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def carries_text_out(actions: Iterable[Mapping[str, Any]]) -> list[str]:
    """The connectors of a draft's planned actions that send its text outside, each once."""
    found = [
        str(action.get("connector"))
        for action in actions
        if action.get("connector") in OUTSIDE
        and any(p.split(".")[0] == "draft" for p in _placeholders(action.get("settings")))
    ]
    return list(dict.fromkeys(found))


def must_edit_first(
    *, text: str, original_text: str, citations: Iterable[Any], actions: Iterable[Mapping[str, Any]]
) -> str | None:
    """Why this draft may not be approved as it stands, or None when it may."""
    if list(citations) or text != original_text:
        return None
    outside = carries_text_out(actions)
    if not outside:
        return None
    return EDIT_FIRST.format(outside=", ".join(outside))


def _placeholders(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [p for v in value.values() for p in _placeholders(v)]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    if isinstance(value, str):
        return [m.group(1) for m in PLACEHOLDER.finditer(value)]
    return []
