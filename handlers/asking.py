"""Posting a question's outcome: thinking indicator, answer, private fuller answer."""

from __future__ import annotations

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


async def answer_in_thread(
    services: Services,
    *,
    text: str,
    channel_id: str,
    slack_user_id: str,
    team_id: str,
    message_ts: str,
    thread_ts: str | None = None,
) -> Outcome | None:
    """Show a thinking indicator in the thread at once, then, when the asker's turn comes
    (`services.questions`), answer and replace the indicator with the answer."""
    slack = slack_of(services)
    thread = thread_ts or message_ts
    placeholder = await slack.post(
        channel=channel_id,
        thread_ts=thread,
        text=answers.THINKING,
        blocks=answers.thinking_blocks(),
    )
    try:
        async with services.questions.turn(asker=f"{team_id}:{slack_user_id}"):
            question = Question(
                text=text,
                channel=await slack.channel(channel_id),
                slack_user_id=slack_user_id,
                thread_ts=thread_ts,
                message_ts=message_ts,
                # The answer replaces the indicator, so its record names that message from
                # the start.
                answer_ts=placeholder,
            )
            outcome = await answer_question(services, question)
        await slack.update(
            channel=channel_id,
            ts=placeholder,
            text=answers.answer_text(outcome.public),
            blocks=answers.answer_blocks(outcome.public),
        )
    except Exception as exc:  # the person is always told; the detail goes to the log
        services.metrics.observe_error(kind=type(exc).__name__)
        notice = message_for(exc, outcome=NOT_POSTED)
        await _tell_failure(services, channel_id, slack_user_id, thread, placeholder, notice)
        return None
    if outcome.private is not None:
        await slack.post_private(
            channel=channel_id,
            user=slack_user_id,
            thread_ts=thread,
            text=answers.answer_text(outcome.private),
            blocks=answers.answer_blocks(outcome.private, private_note=PRIVATE_NOTE),
        )
    await owners.after_question(services, outcome=outcome, question=text)
    return outcome


async def _tell_failure(
    services: Services, channel_id: str, user: str, thread_ts: str, placeholder: str, text: str
) -> None:
    """In place of the thinking indicator, or privately when Slack refuses that too."""
    slack = slack_of(services)
    try:
        await slack.update(
            channel=channel_id, ts=placeholder, text=text, blocks=notice_blocks(text)
        )
        return
    except Exception:
        log.warning("failure_notice_not_shown", channel=channel_id, exc_info=True)
    await slack.post_private(
        channel=channel_id, user=user, text=text, thread_ts=thread_ts, blocks=notice_blocks(text)
    )


def is_answered(outcome: Outcome) -> bool:
    return outcome.status == AnswerStatus.ANSWERED
