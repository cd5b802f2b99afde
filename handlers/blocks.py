"""Block Kit rendering of what Trellis posts.

Every piece of text that comes from a document, a person or the model goes through
`escape` before it enters mrkdwn, so nothing can `<!channel>`, mention someone or dress a
link up as another. Links are built only from http(s) URLs of the workspace's documents.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from app.domain import AnswerStatus, Citation
from app.pipeline import Reply

SECTION_LIMIT = 2900
QUOTE_LIMIT = 280


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


def confidence_label(confidence: float) -> str:
    if confidence >= 0.75:
        return "high"
    if confidence >= 0.5:
        return "medium"
    return "low"


def _citation_line(number: int, citation: Citation) -> str:
    quote = clip(" ".join(citation.quote.split()), QUOTE_LIMIT)
    return f"*[{number}]* {link(citation.url, citation.title)}\n> {escape(quote)}"


def thinking_blocks() -> list[dict]:
    return [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": ":hourglass_flowing_sand: Looking through the documents you can see…"}]}]


def answer_blocks(reply: Reply, *, private_note: str | None = None,
                  final: bool = True) -> list[dict]:
    blocks: list[dict] = []
    if private_note:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f":lock: {escape(private_note)}"}]})
    blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                "text": clip(escape(reply.text), SECTION_LIMIT)}})
    for note in reply.notes:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f":information_source: {clip(escape(note), 1500)}"}]})
    if reply.citations:
        blocks.append({"type": "divider"})
        lines = [_citation_line(i, c) for i, c in enumerate(reply.citations, start=1)]
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                    "text": clip("\n".join(lines), SECTION_LIMIT)}})
    if reply.status == AnswerStatus.ANSWERED:
        scope = escape(reply.scope_label or "you")
        state = "Final answer" if final else "Awaiting review"
        context = (f"Confidence: {confidence_label(reply.confidence)} ({reply.confidence:.2f})"
                   f" · Based on sources {scope} can see · {state}")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        if final and reply.answer_id:
            blocks.append(feedback_buttons(reply.answer_id))
    if reply.answer_id:
        add_why_button(blocks, reply.answer_id)
    return blocks


WHY = "trellis_why"


def add_why_button(blocks: list[dict], answer_id: str) -> None:
    """The "Why this answer?" button; handlers/story.py shows the story to whoever clicks."""
    button = {"type": "button", "action_id": WHY, "value": answer_id,
              "text": {"type": "plain_text", "text": "Why this answer?"}}
    row = next((b for b in blocks if b.get("type") == "actions"), None)
    if row is not None and len(row["elements"]) < 25:
        row["elements"].append(button)
    else:
        blocks.append({"type": "actions", "block_id": WHY, "elements": [button]})


FEEDBACK_UP, FEEDBACK_DOWN = "trellis_feedback_up", "trellis_feedback_down"


def feedback_buttons(answer_id: str) -> dict:
    """Helpful / Not helpful under an answer (handlers/feedback.py records the click)."""
    return {"type": "actions", "block_id": "trellis_feedback", "elements": [
        {"type": "button", "action_id": FEEDBACK_UP, "value": answer_id,
         "text": {"type": "plain_text", "text": ":thumbsup: Helpful", "emoji": True}},
        {"type": "button", "action_id": FEEDBACK_DOWN, "value": answer_id,
         "text": {"type": "plain_text", "text": ":thumbsdown: Not helpful", "emoji": True}}]}


def answer_text(reply: Reply) -> str:
    """The fallback text that notifications show (Slack reads it as mrkdwn too)."""
    text = escape(reply.text)
    return clip(text, 3000) if reply.status != AnswerStatus.ANSWERED else clip(
        f"{text} ({len(reply.citations)} source{'s' if len(reply.citations) != 1 else ''})", 3000)


def notice_blocks(text: str, *, emoji: str = ":warning:") -> list[dict]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {escape(text)}"}}]


def help_blocks(help_text: str) -> list[dict]:
    # The help text is written by Trellis itself (with workspace names escaped by the caller).
    return [{"type": "section", "text": {"type": "mrkdwn", "text": clip(help_text, SECTION_LIMIT)}}]
