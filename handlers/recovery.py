"""Questions taken over: answered where they were asked, after their process stopped.

The sweep (`answer_abandoned`, run at start and then periodically on one replica) takes the
questions whose leases ran out (app/answering/intake.py) and carries each to its end:

- its answer was recorded but not shown (the message marked as showing its progress is still
  there): the recorded answer is shown in that message; recorded and shown: nothing to do;
- the message showing its progress is a stream Slack will not stop: it is left as it is
  (Slack refuses to edit a message while it streams) and a marked thinking indicator below it
  shows the question's progress from then on, as the live path posts an answer below a stream
  that never stops (handlers/answer_stream.py);
- it was not answered: it is answered again from the start, in that same message (or a new
  one in its thread, if none was posted), or privately for `/trellis ask`;
- it was tried `MAX_ATTEMPTS` times, or its recorded answer cannot be shown as it was
  (held for review): its asker is told to ask again, once (if even that fails, the question
  is settled: tries are counted before Slack is called);
- its asker deleted it (handlers/deleted.py): it is settled, not answered;
- Slack refuses for good (the channel was archived or Trellis removed from it, the thread
  deleted): the question is settled, the reason recorded in the audit and the log, and its
  asker told in a direct message where Slack allows.
"""

from __future__ import annotations

import asyncio

import structlog
from slack_sdk.webhook.async_client import AsyncWebhookClient

from app.answering.intake import MAX_ATTEMPTS, Surface
from app.db.models.records import ReceivedQuestion
from app.db.repositories.records import AnswerRepository
from app.services import Services
from app.trust import answer_log
from handlers.above import as_asked, earlier_turns
from handlers.answer_stream import stop_streaming
from handlers.asking import answer_in_thread, answer_privately, post_thinking, tell_privately
from handlers.deleted import deleted_before
from handlers.errors import lasting_refusal
from handlers.gateway import slack_of
from handlers.people import with_names
from handlers.views import answers
from handlers.views.blocks import clip, escape, notice_blocks

log = structlog.get_logger(__name__)

GAVE_UP = (
    "Sorry, Trellis stopped while answering your question and could not finish it. "
    "Please ask it again."
)
EXHAUSTED = "attempts_exhausted"
"""Why a question is settled unanswered when every try at it (and the apology) failed."""


async def answer_abandoned(services: Services) -> int:
    """Take over every abandoned question and carry it to its end; the number taken."""
    taken = await services.intake.take_abandoned()
    if taken:
        await asyncio.gather(*(_resume(services, question) for question in taken))
    return len(taken)


async def _resume(services: Services, question: ReceivedQuestion) -> None:
    log.info(
        "question_resumed",
        question=question.id,
        surface=question.surface,
        attempt=question.attempts,
        recorded=question.audit_id is not None,
    )
    if question.attempts > MAX_ATTEMPTS + 1:  # even the apology could not be given
        await _settle_unanswered(services, question, reason=EXHAUSTED)
        return
    if await deleted_before(services, question.channel_id, question.message_ts):
        log.info("question_deleted_not_resumed", question=question.id)  # handlers/deleted.py
        services.intake.settle(question)
        return
    try:
        shown = await _progress_message(services, question)
        if question.audit_id is not None:
            await _show_recorded(services, question, question.audit_id, shown)
        elif question.attempts > MAX_ATTEMPTS:
            await _tell(services, question, GAVE_UP, shown)
        elif question.surface == Surface.COMMAND:
            await answer_privately(
                services,
                text=question.text,
                channel_id=question.channel_id,
                slack_user_id=question.slack_user_id,
                team_id=question.team_id,
                respond=AsyncWebhookClient(question.response_url or "").send,
                received=question,
            )
        else:
            text, lead = await as_asked(services, question, edited=False)
            await answer_in_thread(
                services,
                text=await with_names(services, text, skip=slack_of(services).bot_user_id),
                channel_id=question.channel_id,
                slack_user_id=question.slack_user_id,
                team_id=question.team_id,
                message_ts=question.message_ts,
                thread_ts=earlier_turns(question),
                lead=lead,
                received=question,
                audience_channel_id=question.audience_channel_id,
                shown_ts=shown,
            )
    except Exception as error:
        reason = lasting_refusal(error)
        if reason is not None:
            await _settle_unanswered(services, question, reason=reason)
        elif question.attempts > MAX_ATTEMPTS:  # the apology was its last try
            await _settle_unanswered(services, question, reason=EXHAUSTED)
        else:  # Slack or the database failing again: the next sweep tries again
            services.intake.give_up(question)
            log.warning("question_not_resumed", question=question.id, exc_info=True)


async def _settle_unanswered(
    services: Services, question: ReceivedQuestion, *, reason: str
) -> None:
    """A question Trellis can never answer where it was asked: recorded in the audit with
    the reason, settled, and its asker told in a direct message where Slack allows."""
    log.warning(
        "question_unanswered",
        question=question.id,
        channel=question.channel_id,
        surface=question.surface,
        attempts=question.attempts,
        reason=reason,
    )
    try:
        await services.audit.record(
            kind="question.unanswered",
            subject_id=question.audit_id or question.id,
            actor_slack_id=question.slack_user_id,
            channel_id=question.channel_id,
            payload={"reason": reason, "surface": question.surface, "attempts": question.attempts},
        )
    except Exception:  # the database is away: a later sweep settles it
        services.intake.give_up(question)
        log.warning("question_not_settled", question=question.id, exc_info=True)
        return
    services.intake.settle(question)
    why = (
        "it could not finish it"
        if reason == EXHAUSTED
        else "it can no longer reply where you asked it"
    )
    text = (
        f"Sorry, Trellis could not answer your question “{clip(question.text, 200)}”: {why}. "
        "Please ask it again here, or where Trellis can reply."
    )
    slack = slack_of(services)
    try:
        channel = await slack.open_dm(question.slack_user_id)
        await slack.post(
            channel=channel, text=escape(text), blocks=notice_blocks(text, emoji=":x:")
        )
    except Exception:  # the audit and the log keep the reason
        log.info("question_unanswered_not_told", question=question.id, exc_info=True)


async def _progress_message(services: Services, question: ReceivedQuestion) -> str | None:
    """The message in the question's thread that shows its progress, if one was posted: the
    thinking indicator marked with the question's ts, or, in a thread of its own (a DM or a
    mention at a channel's top level), Trellis's first reply there, which may be a stream
    (a stream carries no mark). A stream is stopped; one whose answer was never recorded
    shows the thinking indicator again, marked, while the question is answered anew. One
    Slack keeps streaming is left, and the indicator posted below it (`_below`). The message
    named with the question (app/answering/intake.py) is taken as it is; one found in the
    thread is named first, unless the process that posted it withdrew it."""
    if question.surface == Surface.COMMAND or question.message_ts is None:
        return None
    if question.shown_ts is not None:  # named ("" withdrawn: a new one is posted)
        return await _shown_again(services, question, question.shown_ts or None)
    slack = slack_of(services)
    thread = question.thread_ts or question.message_ts
    replies = await slack.replies(question.channel_id, thread, since=question.message_ts)
    for message in replies:
        if answers.shows_progress_of(message, question.message_ts):
            return await _adopted(services, question, str(message["ts"]))
    if question.thread_ts is not None:
        # A shared thread, or an edit answered below the first answer in its own thread:
        # an unmarked reply may answer another question.
        return None
    first = next((m for m in replies if slack.wrote(m) and m["ts"] != thread), None)
    if first is None or not await _adopted(services, question, str(first["ts"])):
        return None
    return await _shown_again(services, question, str(first["ts"]))


async def _adopted(services: Services, question: ReceivedQuestion, ts: str) -> str | None:
    """`ts`, found in the thread, once named the question's message: None when the process
    that posted it lost the question and withdrew it (app/answering/intake.py)."""
    return ts if await services.intake.adopt(question, ts) else None


async def _shown_again(
    services: Services, question: ReceivedQuestion, ts: str | None
) -> str | None:
    """The message `ts` made ready to show the question's answer: a stream is stopped (or
    left, `_below`) and, while no answer is recorded, shows the thinking indicator."""
    if ts is None:
        return None
    slack = slack_of(services)
    if not await stop_streaming(slack, channel=question.channel_id, ts=ts):
        return await _below(services, question, ts)
    if question.audit_id is None:
        await slack.update(
            channel=question.channel_id,
            ts=ts,
            text=answers.THINKING,
            blocks=answers.thinking_blocks(question_ts=question.message_ts),
        )
    return ts


async def _below(services: Services, question: ReceivedQuestion, stream_ts: str) -> str:
    """A marked thinking indicator below the stream `stream_ts`, which Slack keeps streaming
    and will not let Trellis edit; an answer recorded in the stream is recorded in the
    indicator instead, which shows it next."""
    thread = question.thread_ts or question.message_ts
    log.info("stream_left_streaming", question=question.id, stream=stream_ts)
    ts = await post_thinking(
        services, channel_id=question.channel_id, thread_ts=thread, question_ts=question.message_ts
    )
    await services.intake.shown_in(question, ts)
    if question.audit_id is not None:
        async with services.database.session() as session:
            records = AnswerRepository(session)
            record = await records.by_message(question.channel_id, stream_ts)
            if record is not None and record.audit_id == question.audit_id:
                await records.set_message(record.id, message_ts=ts, thread_ts=thread)
    return ts


async def _show_recorded(
    services: Services, question: ReceivedQuestion, audit_id: str, shown: str | None
) -> None:
    if shown is None:  # the indicator was replaced: the answer was shown before the stop
        services.intake.settle(question)
        return
    reply = await answer_log.recorded_reply(
        services, audit_id=audit_id, channel_id=question.channel_id, message_ts=shown
    )
    if reply is None:  # held for review, or another message: not shown as it was recorded
        await _tell(services, question, GAVE_UP, shown)
        return
    await slack_of(services).update(
        channel=question.channel_id,
        ts=shown,
        text=answers.answer_text(reply),
        blocks=answers.answer_blocks(reply),
    )
    services.intake.settle(question)


async def _tell(
    services: Services, question: ReceivedQuestion, text: str, shown: str | None
) -> None:
    """`text` where the answer would have been, then the question is settled."""
    slack = slack_of(services)
    blocks = notice_blocks(text)
    if question.surface == Surface.COMMAND:
        await tell_privately(
            services,
            AsyncWebhookClient(question.response_url or "").send,
            channel_id=question.channel_id,
            user=question.slack_user_id,
            text=text,
            blocks=blocks,
        )
    elif shown is not None:
        await slack.update(channel=question.channel_id, ts=shown, text=text, blocks=blocks)
    else:
        await slack.post(
            channel=question.channel_id,
            thread_ts=question.thread_ts or question.message_ts,
            text=text,
            blocks=blocks,
        )
    services.intake.settle(question)
