"""An answer as Slack shows it: the text, its notes, the cited sources with their quotes,
the confidence, and the buttons under it (Helpful / Not helpful, Why this answer?, and
under a question nobody could answer, Don't forward my question)."""

from __future__ import annotations

from typing import Any

from app.answering.base import NOTE_ASKER_OWNS
from app.answering.citations import told_apart
from app.answering.compose import NOTE_ASKER_ONLY, Reply
from app.answering.declined import DONT_FORWARD_LABEL, closest_page
from app.domain import AnswerStatus, Citation
from handlers.views.blocks import (
    MESSAGE_BLOCKS,
    MESSAGE_TEXT,
    SECTION_LIMIT,
    Block,
    clip,
    clip_mrkdwn,
    context,
    escape,
    link,
    pieces,
    section,
    text_in,
)

QUOTE_LIMIT = 280
WHY = "trellis_why"
FEEDBACK_UP, FEEDBACK_DOWN = "trellis_feedback_up", "trellis_feedback_down"
DONT_FORWARD = "trellis_dont_forward"
THINKING = "Looking through the documents you can see…"
ANSWER_GOES_ON = "_…the answer goes on, but one Slack message cannot hold more of it._"


def confidence_label(confidence: float) -> str:
    if confidence >= 0.75:
        return "high"
    if confidence >= 0.5:
        return "medium"
    return "low"


def edited_out(edited_by: str | None) -> str:
    """Why an approved text shows no sources: its editor took out every citation."""
    return (
        f"{edited_by or 'A reviewer'} edited the text, and it no longer cites any of the "
        "documents it was drawn from."
    )


def _citation_line(number: int, citation: Citation, name: str) -> str:
    quote = clip(" ".join(citation.quote.split()), QUOTE_LIMIT)
    return f"*[{number}]* {link(citation.url, name)}\n> {escape(quote)}"


PROGRESS_MARK = "trellis-progress-"
"""The start of the block id that marks the message showing a question's progress, followed
by the question's ts, so a process taking the question over finds that message."""


def thinking_blocks(*, question_ts: str | None = None) -> list[Block]:
    return progress_mark([context(f":hourglass_flowing_sand: {THINKING}")], question_ts=question_ts)


def progress_mark(blocks: list[Block], *, question_ts: str | None) -> list[Block]:
    """`blocks`, the first marked as showing the progress of the question `question_ts`."""
    if not question_ts or not blocks:
        return blocks
    return [{**blocks[0], "block_id": PROGRESS_MARK + question_ts}, *blocks[1:]]


def shows_progress_of(message: dict[str, Any], question_ts: str) -> bool:
    """Whether the Slack message `message` shows the progress of the question `question_ts`."""
    return any(
        block.get("block_id") == PROGRESS_MARK + question_ts
        for block in message.get("blocks") or []
    )


def answer_blocks(
    reply: Reply,
    *,
    private_note: str | None = None,
    final: bool = True,
    with_text: bool = True,
    checked_by: str | None = None,
    lead: str | None = None,
) -> list[Block]:
    """The whole answer in as many sections as its text needs, every source under it, and
    all within one Slack message (its 50 blocks and `MESSAGE_TEXT`): an answer too long
    for one message says so where it stops, and sources that do not fit are counted, not
    cut. `with_text` False: without the answer's text (streamed above the blocks).
    `checked_by`: the reviewer who approved the answer. `lead`: a line above it all."""
    head = [context(f":pencil2: {escape(lead)}")] if lead else []
    if private_note:
        head.append(context(f":lock: {escape(private_note)}"))
    notes = [
        context(f":information_source: {clip_mrkdwn(escape(note), 1500)}")
        for note in reply.notes
        if note != NOTE_ASKER_OWNS  # its text says so
    ]
    if reply.status == AnswerStatus.NO_ANSWER and reply.nearest:
        notes.append(context(f":mag: {clip_mrkdwn(escape(closest_page(reply.nearest)), 1500)}"))
    tail = _under_answer(reply, final=final, checked_by=checked_by)
    room = MESSAGE_BLOCKS - len(head) - len(notes) - len(tail)
    chars = MESSAGE_TEXT - text_in([*head, *notes, *tail])
    names = told_apart([(c.doc_id, c.title) for c in reply.citations])
    lines = [
        _citation_line(i, c, name)
        for i, (c, name) in enumerate(zip(reply.citations, names, strict=True), start=1)
    ]
    if lines:
        room -= 2  # the divider, and at least one section of sources
    # The sources keep up to a third of the message's text; the answer has the rest first.
    kept = min(sum(len(line) + 1 for line in lines), chars // 3)
    body = _fitted(pieces(escape(reply.text)) if with_text else [], room=room, chars=chars - kept)
    sources = _source_sections(lines, room=room + 1 - len(body), chars=chars - text_in(body))
    divider = [{"type": "divider"}] if sources else []
    return [*head, *body, *notes, *divider, *sources, *tail]


def _fitted(texts: list[str], *, room: int, chars: int) -> list[Block]:
    """Sections of `texts` within `room` blocks and `chars` characters; where they do not
    all fit, the last says that the answer goes on."""
    if len(texts) <= room and sum(map(len, texts)) <= chars:
        return [section(text) for text in texts]
    shown: list[Block] = []
    left = chars - len(ANSWER_GOES_ON)
    for text in texts[: room - 1]:
        if len(text) > left:
            break
        shown.append(section(text))
        left -= len(text)
    return [*shown, section(ANSWER_GOES_ON)]


def _more_sources(count: int) -> str:
    return f"_…and {count} more source{'s' if count != 1 else ''}, not shown here._"


def _source_sections(lines: list[str], *, room: int, chars: int) -> list[Block]:
    """The cited sources, a few to a section, in at most `room` sections and `chars`
    characters; what does not fit is counted in the last one."""
    groups: list[list[str]] = []
    for line in lines:
        if groups and len("\n".join([*groups[-1], line])) <= SECTION_LIMIT:
            groups[-1].append(line)
        else:
            groups.append([line])
    fits = len(groups) <= room and sum(len("\n".join(g)) for g in groups) <= chars
    if not fits:
        shown: list[list[str]] = []
        left = chars - len(_more_sources(len(lines)))
        for group in groups[:room]:
            take = []
            for line in group:
                if len(line) + 1 > left:
                    break
                take.append(line)
                left -= len(line) + 1
            if take:
                shown.append(take)
            if len(take) < len(group):
                break
        groups = shown or [[]]
        left_out = len(lines) - sum(len(group) for group in groups)
        while len("\n".join([*groups[-1], _more_sources(left_out)])) > SECTION_LIMIT:
            groups[-1].pop()
            left_out += 1
        groups[-1].append(_more_sources(left_out))
    return [section("\n".join(group)) for group in groups]


def _under_answer(reply: Reply, *, final: bool, checked_by: str | None) -> list[Block]:
    """What follows the sources: confidence, buttons, who checked the answer."""
    blocks: list[Block] = []
    if reply.status == AnswerStatus.ANSWERED:
        scope = escape(reply.scope_label or "you")
        state = "Final answer" if final else "Awaiting review"
        blocks.append(
            context(
                f"Confidence: {confidence_label(reply.confidence)} ({reply.confidence:.2f})"
                f" · Based on sources {scope} can see · {state}"
            )
        )
        if final and reply.answer_id:
            blocks.append(feedback_buttons(reply.answer_id))
    if (
        reply.status == AnswerStatus.NO_ANSWER
        and reply.answer_id
        and not {NOTE_ASKER_ONLY, NOTE_ASKER_OWNS} & set(reply.notes)
    ):
        blocks.append(dont_forward_button(reply.answer_id))
    if reply.answer_id:
        add_why_button(blocks, reply.answer_id)
    if checked_by:
        blocks.append(context(f":white_check_mark: {escape(f'Checked by {checked_by}.')}"))
    return blocks


def add_why_button(blocks: list[Block], answer_id: str) -> None:
    """The "Why this answer?" button; handlers/story.py shows the story to whoever clicks."""
    button: Block = {
        "type": "button",
        "action_id": WHY,
        "value": answer_id,
        "text": {"type": "plain_text", "text": "Why this answer?"},
    }
    row = next((b for b in blocks if b.get("type") == "actions"), None)
    if row is not None and len(row["elements"]) < 25:
        row["elements"].append(button)
    else:
        blocks.append({"type": "actions", "block_id": WHY, "elements": [button]})


def feedback_buttons(answer_id: str) -> Block:
    """Helpful / Not helpful under an answer (handlers/feedback.py records the click)."""
    return {
        "type": "actions",
        "block_id": "trellis_feedback",
        "elements": [
            {
                "type": "button",
                "action_id": FEEDBACK_UP,
                "value": answer_id,
                "text": {"type": "plain_text", "text": ":thumbsup: Helpful", "emoji": True},
            },
            {
                "type": "button",
                "action_id": FEEDBACK_DOWN,
                "value": answer_id,
                "text": {"type": "plain_text", "text": ":thumbsdown: Not helpful", "emoji": True},
            },
        ],
    }


def dont_forward_button(answer_id: str) -> Block:
    """Under a question nobody could answer: its asker keeps it from the topic's owners
    (handlers/forwarding.py)."""
    return {
        "type": "actions",
        "block_id": DONT_FORWARD,
        "elements": [
            {
                "type": "button",
                "action_id": DONT_FORWARD,
                "value": answer_id,
                "text": {"type": "plain_text", "text": DONT_FORWARD_LABEL},
            }
        ],
    }


def answer_text(reply: Reply) -> str:
    """The fallback text that notifications show (Slack reads it as mrkdwn too)."""
    text = escape(reply.text)
    return (
        clip_mrkdwn(text, 3000)
        if reply.status != AnswerStatus.ANSWERED
        else clip_mrkdwn(
            f"{text} ({len(reply.citations)} source{'s' if len(reply.citations) != 1 else ''})",
            3000,
        )
    )
