"""What Trellis shows in Slack's assistant view and in a streamed answer: the greeting, the
suggested prompts, the status line, the pieces the answer's text is streamed in, and what
the stream ends with (sources, confidence, Slack's feedback buttons, "Why this answer?")."""

from __future__ import annotations

from app.answering.compose import Reply
from app.trust.suggestions import SuggestedPrompt
from handlers.views import answers
from handlers.views.blocks import Block, clip, escape, section

FEEDBACK = "trellis_feedback_buttons"
POSITIVE, NEGATIVE = "up", "down"
PROMPTS_TITLE = "Try asking"
STATUS = "is looking through the documents you can see…"
LOADING_MESSAGES = [
    "Looking through the documents you can see…",
    "Checking who else will read the answer…",
    "Checking every quote against its source…",
]
TITLE_LIMIT = 80


def greeting_blocks(name: str, viewing: str | None) -> list[Block]:
    where = (
        f" I'll answer for everyone in <#{viewing}>, using only what they may all see."
        if viewing
        else " I'll answer from the documents you may see, and cite each source."
    )
    return [section(f"Hi {escape(name)}, what would you like to know?{where}")]


def greeting_text(name: str) -> str:
    return f"Hi {escape(name)}, what would you like to know?"


def prompts_json(prompts: list[SuggestedPrompt]) -> list[dict[str, str]]:
    return [{"title": p.title, "message": p.message} for p in prompts]


def thread_title(question: str) -> str:
    return clip(" ".join(question.split()), TITLE_LIMIT)


def feedback_buttons(answer_id: str) -> Block:
    """Slack's feedback buttons element, in the context actions block it must sit in."""
    return {
        "type": "context_actions",
        "block_id": FEEDBACK,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "Helpful"},
                    "accessibility_label": "Mark this answer helpful",
                    "value": f"{POSITIVE}:{answer_id}",
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "Not helpful"},
                    "accessibility_label": "Mark this answer not helpful",
                    "value": f"{NEGATIVE}:{answer_id}",
                },
            }
        ],
    }


def feedback_of(value: str) -> tuple[str, bool]:
    """(answer id, helpful) from a feedback button's value."""
    verdict, _, answer_id = value.partition(":")
    return answer_id, verdict == POSITIVE


def stream_end_blocks(reply: Reply) -> list[Block]:
    """An answer's blocks without its text (already streamed above them), with Slack's
    feedback buttons in place of Helpful / Not helpful."""
    blocks: list[Block] = []
    for block in answers.answer_blocks(reply, with_text=False):
        if block.get("block_id") == "trellis_feedback" and reply.answer_id:
            blocks.append(feedback_buttons(reply.answer_id))
            others = [e for e in block["elements"] if e.get("action_id") == answers.WHY]
            if others:  # "Why this answer?" shared the row of the buttons it replaces
                blocks.append({"type": "actions", "block_id": answers.WHY, "elements": others})
            continue
        blocks.append(block)
    return blocks
