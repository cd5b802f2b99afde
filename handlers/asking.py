"""Posting a question's outcome: thinking indicator, answer, private fuller answer."""

from __future__ import annotations

from dataclasses import replace

import structlog

from app.domain import AnswerStatus
from app.pipeline import Outcome, Question, answer_question
from app.services import Services
from app.trust import owners
from handlers.errors import NOT_POSTED, message_for
from handlers.gateway import slack_of
from handlers.views import answers
from handlers.views.blocks import notice_blocks

log = structlog.get_logger(__name__)

PRIVATE_NOTE = (
    "Only you can see this fuller answer: it uses sources that some members "
    "of this conversation may not see."
)


async def answer_in_thread(services: Services, question: Question) -> Outcome | None:
    """Show a thinking indicator in the thread at once, then replace it with the answer."""
    slack = slack_of(services)
    thread_ts = question.thread_ts or question.message_ts
    placeholder = await slack.post(
        channel=question.channel.id,
        thread_ts=thread_ts,
        text=answers.THINKING,
        blocks=answers.thinking_blocks(),
    )
    try:
        # The answer replaces the indicator, so its record names that message from the start.
        outcome = await answer_question(services, replace(question, answer_ts=placeholder))
        await slack.update(
            channel=question.channel.id,
            ts=placeholder,
            text=answers.answer_text(outcome.public),
            blocks=answers.answer_blocks(outcome.public),
        )
    except Exception as exc:  # the person is always told; the detail goes to the log
        services.metrics.observe_error(kind=type(exc).__name__)
        await _tell_failure(services, question, placeholder, message_for(exc, outcome=NOT_POSTED))
        return None
    if outcome.private is not None and question.slack_user_id:
        await slack.post_private(
            channel=question.channel.id,
            user=question.slack_user_id,
            thread_ts=thread_ts,
            text=answers.answer_text(outcome.private),
            blocks=answers.answer_blocks(outcome.private, private_note=PRIVATE_NOTE),
        )
    await owners.after_question(services, outcome=outcome, question=question.text)
    return outcome


async def _tell_failure(
    services: Services, question: Question, placeholder: str, text: str
) -> None:
    """In place of the thinking indicator, or privately when Slack refuses that too."""
    slack = slack_of(services)
    try:
        await slack.update(
            channel=question.channel.id, ts=placeholder, text=text, blocks=notice_blocks(text)
        )
        return
    except Exception:
        log.warning("failure_notice_not_shown", channel=question.channel.id, exc_info=True)
    if question.slack_user_id:
        await slack.post_private(
            channel=question.channel.id,
            user=question.slack_user_id,
            text=text,
            thread_ts=question.thread_ts or question.message_ts,
            blocks=notice_blocks(text),
        )


def is_answered(outcome: Outcome) -> bool:
    return outcome.status == AnswerStatus.ANSWERED
