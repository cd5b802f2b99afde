"""A mention that asks about the message above it: "@Trellis can you answer this?" under a
colleague's question in a thread.

In a thread, a mention whose words only point at what was said (`points_above`: "can you
answer this?", "any idea?", "thoughts?", or the mention alone) asks Trellis the question
above it: the latest message before it in the thread that a person wrote and that asks
something, else the thread's first. It is answered as that question, under a line saying
which. A thread Trellis has answered in is left to
the reading of follow-ups (the words then point at its answer), and so is one whose
messages Slack does not give within `ABOVE_SECONDS`: the mention is answered as written.
"""

from __future__ import annotations

import asyncio

import structlog

from app.answering.addressed import asks_trellis, points_above
from app.db.models.records import ReceivedQuestion
from app.services import Services
from handlers.delivered import QUESTION_SUBTYPES, plain_text
from handlers.edited import EDITED_LEAD
from handlers.gateway import slack_of
from handlers.views.blocks import clip

log = structlog.get_logger(__name__)

ABOVE_SECONDS = 2.0
"""How long reading the thread for the question above may take."""
ABOVE_SHOWN = 200
"""Characters of the question above shown in the line over its answer."""


async def question_above(
    services: Services, channel_id: str, thread_ts: str, ts: str
) -> str | None:
    """The words of the latest message before `ts` in the thread that a person wrote and
    that asks something (else of the first a person wrote), when Trellis has not answered
    in the thread; None otherwise."""
    slack = slack_of(services)
    try:
        async with asyncio.timeout(ABOVE_SECONDS):
            messages = await slack.replies(channel_id, thread_ts, since=thread_ts)
    except Exception:  # noqa: BLE001 - the mention is then answered as written
        log.info("thread_not_read", channel=channel_id, thread=thread_ts, exc_info=True)
        return None
    before = [m for m in messages if float(m.get("ts") or 0) < float(ts)]
    if any(slack.wrote(m) for m in before):
        return None
    said = [
        text
        for m in before
        if not m.get("bot_id") and m.get("subtype") in QUESTION_SUBTYPES
        if (text := plain_text(m.get("text"), drop_user=slack.bot_user_id))
    ]
    asked = [text for text in said if asks_trellis(text, bot_user_id=slack.bot_user_id)]
    return asked[-1] if asked else (said[0] if said else None)


def above_lead(question: str) -> str:
    return f"Answering the question above: \u201c{clip(question, ABOVE_SHOWN)}\u201d"


async def as_asked(
    services: Services, question: ReceivedQuestion, *, edited: bool
) -> tuple[str, str | None]:
    """What is asked, and the line over its answer: for a mention pointing above, the
    question above; for an edit (handlers/edited.py), its words as they now read. A
    question taken over after a crash is read the same way."""
    lead = EDITED_LEAD if edited else None
    if question.thread_ts and question.message_ts and points_above(question.text):
        above = await question_above(
            services, question.channel_id, question.thread_ts, question.message_ts
        )
        if above is not None:
            return above, above_lead(above)
    return question.text, lead


def earlier_turns(question: ReceivedQuestion) -> str | None:
    """The thread whose earlier turns the question follows up: none for a question in a
    thread of its own (an edit is answered in its question's thread, after its first
    answer, and follows up nothing)."""
    if question.thread_ts == question.message_ts:
        return None
    return question.thread_ts
