"""Posting a question's outcome: thinking indicator, answer, private fuller answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError

from app.answering.compose import Reply
from app.db.models.records import ReceivedQuestion
from app.db.repositories.records import AnswerRepository
from app.db.session import unavailable as database_unavailable
from app.domain import AnswerStatus
from app.errors import QuestionKept, QuestionTakenOver, ShuttingDown
from app.pipeline import Outcome, Question, answer_question
from app.services import Services
from app.slack_api import error_code
from app.slack_people import SlackChannel
from app.trust import owners
from handlers.answer_stream import SLACK_FAILED
from handlers.deleted import was_deleted, withhold
from handlers.errors import NOT_ANSWERED, lasting_refusal, message_for
from handlers.gateway import slack_of
from handlers.views import answers
from handlers.views.blocks import Block, notice_blocks

log = structlog.get_logger(__name__)

LATER_NOTICE = (
    "Trellis can't finish your question right now (it is restarting, or its database is out"
    " of reach). Your question is kept: the answer will appear here in a few minutes."
)
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
    message_ts: str | None,
    thread_ts: str | None = None,
    received: ReceivedQuestion | None = None,
    audience_channel_id: str | None = None,
    shown_ts: str | None = None,
    lead: str | None = None,
) -> Outcome | None:
    """Show a thinking indicator in the thread at once, then, when the asker's turn comes
    (`services.questions`), answer and replace the indicator with the answer. `received`:
    the stored question (app/answering/intake.py), settled once its asker has been shown an
    answer or told what went wrong. `shown_ts`: the message already showing the question's
    progress (a question taken over after a crash), replaced by the answer in place of a new
    indicator. `audience_channel_id`: the channel whose members the answer is for, when it
    is not the thread's own (the assistant view). `lead`: a line above the answer, for a
    question asked again where it was answered before (an edit, handlers/edited.py); its
    indicator is named at once, as a takeover would otherwise take the earlier answer for
    its own."""
    if await declined(
        services,
        text=text,
        channel_id=channel_id,
        slack_user_id=slack_user_id,
        team_id=team_id,
        thread_ts=thread_ts or message_ts,
        received=received,
    ):
        return None
    slack = slack_of(services)
    thread = thread_ts or message_ts
    try:
        placeholder = shown_ts or await post_thinking(
            services, channel_id=channel_id, thread_ts=thread, question_ts=message_ts
        )
    except Exception as error:  # Slack is failing: the sweep tries again once the lease runs out
        raise kept(services, received, error) from error
    # Taken over, and answered in a new indicator: named, so that a process that had posted
    # one too withdraws its own, and a later takeover answers in this one.
    if (
        received is not None
        and shown_ts is None
        and (received.attempts > 1 or lead is not None)
        and not await services.intake.shown_in(received, placeholder)
    ):
        await taken_over(services, received, placeholder)
        return None
    try:
        async with services.questions.turn(asker=f"{team_id}:{slack_user_id}"):
            question = Question(
                text=text,
                channel=await slack.channel(audience_channel_id or channel_id),
                posted_in=channel_id,
                slack_user_id=slack_user_id,
                thread_ts=thread_ts,
                message_ts=message_ts,
                # The answer replaces the indicator, so its record names that message from
                # the start.
                answer_ts=placeholder,
                received_id=received.id if received is not None else None,
            )
            outcome = await answer_question(services, question)
        if was_deleted(channel_id, message_ts):
            await withhold(services, outcome.audit_id, channel_id, slack_user_id, placeholder)
            settle(services, received)
            return outcome
        await show_answer(
            services,
            channel_id=channel_id,
            ts=placeholder,
            thread_ts=thread,
            reply=outcome.public,
            received=received,
            lead=lead,
        )
    except QuestionTakenOver:  # answered by the process that took it over
        assert received is not None
        await taken_over(services, received, placeholder)
        return None
    except Exception as exc:  # the person is always told; the detail goes to the log
        services.metrics.observe_error(kind=type(exc).__name__)
        if received is not None and answered_later(exc):
            # Kept: the sweep takes the question over once its lease runs out, and answers
            # in this message (the notice keeps the indicator's mark).
            give_up(services, received)
            blocks = answers.progress_mark(notice_blocks(LATER_NOTICE), question_ts=message_ts)
            await _tell_failure(
                services, channel_id, slack_user_id, thread, placeholder, LATER_NOTICE, blocks
            )
            return None
        notice = message_for(exc, outcome=NOT_ANSWERED)
        await _tell_failure(
            services, channel_id, slack_user_id, thread, placeholder, notice, notice_blocks(notice)
        )
        settle(services, received)
        return None
    settle(services, received)
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


async def show_answer(
    services: Services,
    *,
    channel_id: str,
    ts: str,
    thread_ts: str | None,
    reply: Reply,
    received: ReceivedQuestion | None = None,
    lead: str | None = None,
) -> None:
    """The answer in place of the message at `ts` (the thinking indicator). Where Slack
    will not edit that message (it was deleted, the edit is refused, or edits keep failing
    after the client's retries), the answer is posted below it in the thread: an answer
    already composed is not lost to a failed edit. Only when that post fails too is the
    asker told what went wrong. Once it is posted, the answer's record and the stored
    question name the new message (a takeover after a crash shows the record there again,
    in place), and then the indicator is removed; a failure in these steps is logged, not
    told to an asker who has their answer."""
    slack = slack_of(services)
    text, blocks = answers.answer_text(reply), answers.answer_blocks(reply, lead=lead)
    try:
        await slack.update(channel=channel_id, ts=ts, text=text, blocks=blocks)
        return
    except SLACK_FAILED as error:
        log.warning("answer_not_edited_in", channel=channel_id, error=error_code(error))
    posted = await slack.post(channel=channel_id, thread_ts=thread_ts, text=text, blocks=blocks)
    try:
        if reply.answer_id is not None:
            async with services.database.session() as session:
                await AnswerRepository(session).set_message(
                    reply.answer_id, message_ts=posted, thread_ts=thread_ts
                )
        if received is not None:
            await services.intake.shown_in(received, posted)
        await slack.delete(channel=channel_id, ts=ts)
    except Exception:  # the asker has the answer; what is left undone is the log's
        log.warning("answer_posted_below", channel=channel_id, ts=posted, exc_info=True)


async def answer_privately(
    services: Services,
    *,
    text: str,
    channel_id: str,
    slack_user_id: str,
    team_id: str,
    respond: Callable[..., Awaitable[Any]],
    received: ReceivedQuestion | None = None,
    channel_name: str = "",
) -> Outcome | None:
    """`/trellis ask`: the answer only the asker sees, sent with `respond` (the command's
    response URL). The asker's own scope applies, so no channel lookup is needed."""
    try:
        async with services.questions.turn(asker=f"{team_id}:{slack_user_id}"):
            outcome = await answer_question(
                services,
                Question(
                    text=text,
                    channel=SlackChannel(id=channel_id, name=channel_name),
                    slack_user_id=slack_user_id,
                    private=True,
                    received_id=received.id if received is not None else None,
                ),
            )
    except QuestionTakenOver:  # answered by the process that took it over
        give_up(services, received)
        return None
    except Exception as exc:  # the person is always told
        services.metrics.observe_error(kind=type(exc).__name__)
        later = received is not None and answered_later(exc)
        notice = LATER_NOTICE if later else message_for(exc, outcome=NOT_ANSWERED)
        await tell_privately(
            services,
            respond,
            channel_id=channel_id,
            user=slack_user_id,
            text=notice,
            blocks=notice_blocks(notice),
        )
        if later:
            give_up(services, received)
        else:
            settle(services, received)
        return None
    await tell_privately(
        services,
        respond,
        channel_id=channel_id,
        user=slack_user_id,
        text=answers.answer_text(outcome.public),
        blocks=answers.answer_blocks(outcome.public),
    )
    settle(services, received)
    await owners.after_question(services, outcome=outcome, question=text)
    return outcome


async def tell_privately(
    services: Services,
    respond: Callable[..., Awaitable[Any]],
    *,
    channel_id: str,
    user: str,
    text: str,
    blocks: list[Block],
) -> None:
    """Through a command's response URL, or, once Slack refuses it (a response URL takes 5
    responses within 30 minutes of the command), as a message only `user` sees in the
    channel, or else in a direct message."""
    response = await respond(
        text=text, blocks=blocks, response_type="ephemeral", replace_original=False
    )
    status = getattr(response, "status_code", 200)
    if status == 200:
        return
    log.info("response_url_refused", status=status, answer=getattr(response, "body", None))
    slack = slack_of(services)
    try:
        await slack.post_private(channel=channel_id, user=user, text=text, blocks=blocks)
        return
    except SlackApiError as error:  # not in that channel (any more): a direct message
        log.info("private_reply_refused", channel=channel_id, error=error.response.get("error"))
    await slack.post(channel=await slack.open_dm(user), text=text, blocks=blocks)


async def post_thinking(
    services: Services, *, channel_id: str, thread_ts: str | None, question_ts: str | None
) -> str:
    """The thinking indicator in the thread, marked with the question it is for (so a
    takeover after a crash finds it); its ts."""
    return await slack_of(services).post(
        channel=channel_id,
        thread_ts=thread_ts,
        text=answers.THINKING,
        blocks=answers.thinking_blocks(question_ts=question_ts),
    )


def answered_later(error: BaseException) -> bool:
    """A failure that passes: the database is away, or this process is stopping. A stored
    question is then answered once the database is back, or by the next process."""
    return isinstance(error, ShuttingDown) or database_unavailable(error)


async def declined(
    services: Services,
    *,
    text: str,
    channel_id: str,
    slack_user_id: str,
    team_id: str,
    thread_ts: str | None,
    received: ReceivedQuestion | None,
) -> bool:
    """Over a quota (app/trust/quotas.py): said in the thread, the question settled, and
    nothing else is done."""
    refusal = services.quotas.refusal(team_id=team_id, slack_user_id=slack_user_id, text=text)
    if refusal is None:
        return False
    await slack_of(services).post(
        channel=channel_id,
        thread_ts=thread_ts,
        text=refusal.message,
        blocks=notice_blocks(refusal.message, emoji=":hourglass:"),
    )
    settle(services, received)
    return True


def settle(services: Services, received: ReceivedQuestion | None) -> None:
    """The stored question's asker has an answer or a notice (app/answering/intake.py)."""
    if received is not None:
        services.intake.settle(received)


KEPT_NOTICE = (
    "Slack would not take Trellis's reply just now. Your question is kept: its answer will "
    "appear in this thread in a few minutes, so there is no need to ask again."
)


def kept(services: Services, received: ReceivedQuestion | None, error: Exception) -> Exception:
    """What to raise when Slack failed before anything was shown for a question: a stored
    question is left to the sweep, and its asker is told so (`QuestionKept`) rather than to
    ask again, which would have it answered twice; otherwise the failure itself."""
    if received is None:
        return error
    give_up(services, received)
    if lasting_refusal(error) is not None:  # Slack will not take it later either: the
        return error  # sweep settles it, and its asker hears why (handlers/recovery.py)
    return QuestionKept(KEPT_NOTICE, detail=repr(error))


def give_up(services: Services, received: ReceivedQuestion | None) -> None:
    """Leave the stored question to the sweep, once its lease runs out."""
    if received is not None:
        services.intake.give_up(received)


async def taken_over(services: Services, received: ReceivedQuestion, ts: str | None) -> None:
    """Another process took `received` over (this one's lease ran out while it worked)
    and answers it: the message `ts` this process posted for it is deleted, unless that
    process answers in it (app/answering/intake.py)."""
    log.warning("question_taken_over", question=received.id)
    services.intake.give_up(received)
    if ts is None:
        return
    try:
        if await services.intake.withdraw(received, ts):
            await slack_of(services).delete(channel=received.channel_id, ts=ts)
    except Exception:  # left as it is; the answer is shown by the other process
        log.warning("taken_over_message_not_withdrawn", question=received.id, exc_info=True)


async def _tell_failure(
    services: Services,
    channel_id: str,
    user: str,
    thread_ts: str | None,
    placeholder: str,
    text: str,
    blocks: list[Block],
) -> None:
    """In place of the thinking indicator, or privately when Slack refuses that too."""
    slack = slack_of(services)
    try:
        await slack.update(channel=channel_id, ts=placeholder, text=text, blocks=blocks)
        return
    except Exception:
        log.warning("failure_notice_not_shown", channel=channel_id, exc_info=True)
    await slack.post_private(
        channel=channel_id, user=user, text=text, thread_ts=thread_ts, blocks=notice_blocks(text)
    )


def is_answered(outcome: Outcome) -> bool:
    return outcome.status == AnswerStatus.ANSWERED
