"""Posting a question's outcome: thinking indicator, answer, private fuller answer."""

from __future__ import annotations

import uuid

import structlog

from app.domain import AnswerStatus
from app.errors import TrellisError
from app.pipeline import Outcome, Question, answer_question
from app.services import Services
from app.trust import owners
from handlers import blocks

log = structlog.get_logger(__name__)

PRIVATE_NOTE = ("Only you can see this fuller answer: it uses sources that some members "
                "of this conversation may not see.")


async def answer_in_thread(services: Services, question: Question) -> Outcome | None:
    """Show a thinking indicator in the thread at once, then replace it with the answer."""
    slack = services.slack
    thread_ts = question.thread_ts or question.message_ts
    placeholder = await slack.post(channel=question.channel.id, thread_ts=thread_ts,
                                   text="Looking through the documents you can see…",
                                   blocks=blocks.thinking_blocks())
    try:
        outcome = await answer_question(services, question)
        # Known before anyone can see it, so a reaction on the answer always finds it.
        await services.remember_message(outcome.public.answer_id, message_ts=placeholder,
                                        thread_ts=thread_ts)
        await slack.update(channel=question.channel.id, ts=placeholder,
                           text=blocks.answer_text(outcome.public),
                           blocks=blocks.answer_blocks(outcome.public))
    except Exception as exc:  # the person is always told; the detail goes to the log
        services.metrics.observe_error(kind=type(exc).__name__)
        await _tell_failure(services, question, placeholder, failure_text(exc))
        return None
    if outcome.private is not None and question.slack_user_id:
        await slack.post_private(channel=question.channel.id, user=question.slack_user_id,
                                 thread_ts=thread_ts, text=blocks.answer_text(outcome.private),
                                 blocks=blocks.answer_blocks(outcome.private,
                                                             private_note=PRIVATE_NOTE))
    await owners.after_question(services, outcome=outcome, question=question.text)
    return outcome


async def _tell_failure(services: Services, question: Question, placeholder: str,
                        text: str) -> None:
    """In place of the thinking indicator, or privately when Slack refuses that too."""
    try:
        await services.slack.update(channel=question.channel.id, ts=placeholder, text=text,
                                    blocks=blocks.notice_blocks(text))
        return
    except Exception:
        log.warning("failure_notice_not_shown", channel=question.channel.id, exc_info=True)
    if question.slack_user_id:
        await services.slack.post_private(channel=question.channel.id,
                                          user=question.slack_user_id, text=text,
                                          thread_ts=question.thread_ts or question.message_ts,
                                          blocks=blocks.notice_blocks(text))


def failure_text(exc: Exception) -> str:
    if isinstance(exc, TrellisError):
        log.warning("question_failed", error=str(exc))
        return exc.user_message
    reference = uuid.uuid4().hex[:8]
    log.exception("question_crashed", reference=reference)
    return (f"Something went wrong while answering, and nothing was posted in your name. "
            f"Please try again; if it keeps happening, tell the Trellis owners (reference {reference}).")


def is_answered(outcome: Outcome) -> bool:
    return outcome.status == AnswerStatus.ANSWERED
