"""Messages for Trellis: mentions in channels, direct messages, follow-ups in its threads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import structlog
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from app.answering.addressed import asks_trellis, thanks_or_agreement
from app.answering.intake import Surface
from app.db.models.records import ReceivedQuestion
from app.db.repositories.records import AnswerRepository, HandledEventRepository
from app.db.session import unavailable as database_unavailable
from app.errors import DatabaseAway
from app.services import Services
from app.trust.quotas import SLACK_MESSAGE_LIMIT
from handlers import traces
from handlers.above import as_asked, earlier_turns
from handlers.asking import answer_in_thread
from handlers.deleted import deleted_ts, on_deleted
from handlers.delivered import QUESTION_SUBTYPES, is_direct_message, is_group_message, plain_text
from handlers.edited import edit_key, edited_question, mention_added
from handlers.gateway import slack_of
from handlers.help import HELP_IN_THREAD_SECONDS, help_for
from handlers.people import with_names
from handlers.streaming import answer_streaming

log = structlog.get_logger(__name__)

DATABASE_AWAY = (
    "Trellis can't reach its database right now, so it could not take your question. "
    "Please ask again in a few minutes."
)


def register(app: AsyncApp) -> None:
    app.middleware(store_before_ack)
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


STORE_BEFORE_ACK_SECONDS = 1.0
"""How long the ack of a question's event may wait for the question to be stored."""
_TAKING = "trellis_taking"
"""In the Bolt context: `store_before_ack`'s decision, a task (see `_decide`)."""
_T = TypeVar("_T")
_Decision = ReceivedQuestion | bool | None
"""The stored question; None when it is not the first delivery; False when it is no question."""


async def store_before_ack(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
) -> None:
    """Store a question before Bolt acks its event, so that a process killed just after
    the ack cannot lose it (Slack does not deliver an acked event again). Bolt acks Events
    API deliveries as soon as the middleware is done, before any listener runs. If storing
    takes longer than `STORE_BEFORE_ACK_SECONDS` (Slack must have its ack within 3 s), the
    event is acked anyway and its listener waits for the same write, which is not cut
    short; if the database is away, the listener waits for it (`first_delivery`)."""
    event = body.get("event") or {}
    if body.get("type") == "event_callback" and event.get("type") in ("app_mention", "message"):
        decision = asyncio.ensure_future(_decide(context["services"], body, event))
        context[_TAKING] = decision
        await asyncio.wait({decision}, timeout=STORE_BEFORE_ACK_SECONDS)
        if not decision.done():
            log.warning("question_stored_after_ack", waited_s=STORE_BEFORE_ACK_SECONDS)
    await next()


async def _decide(
    services: Services, body: dict[str, Any], event: dict[str, Any], *, wait: bool = False
) -> _Decision:
    if event.get("type") == "app_mention" and event.get("edited"):
        return False  # Slack tells of an edit's mention again: the edit is read from
        # its `message_changed` (handlers/edited.py), once
    edit = edited_question(event, slack_of(services).bot_user_id)
    if edit is not None:  # handlers/edited.py
        if not await _read(services, partial(_asked_again, services, edit), wait=wait):
            return False
        # Answered in its question's thread, below the first answer: a takeover after a
        # crash must not take that answer for the edit's own (handlers/recovery.py).
        edit = {**edit, "thread_ts": edit.get("thread_ts") or edit["ts"]}
        return await _claim(services, body, edit, wait=wait, key=edit_key(edit))
    if not await _is_question(services, event, wait=wait):
        return False
    return await _claim(services, body, event, wait=wait)


async def _asked_again(services: Services, edit: dict[str, Any]) -> bool:
    """Whether an edited message asks something of its own: it still asks something (not
    emptied, nor made a thanks), and it was a question Trellis took on or now mentions it."""
    text, bot_user_id = edit["text"], slack_of(services).bot_user_id
    if not _question_text(edit, bot_user_id) or thanks_or_agreement(text):
        return False
    if mention_added(edit, bot_user_id):
        return True
    async with services.database.reading() as session:
        return await HandledEventRepository(session).taken(f"msg:{edit['channel']}:{edit['ts']}")


async def _read(services: Services, read: Callable[[], Awaitable[_T]], *, wait: bool) -> _T:
    """`read`'s result; with `wait`, once the database answers (`when_database_answers`)."""
    return await (when_database_answers(services, read) if wait else read())


async def _is_question(services: Services, event: dict[str, Any], *, wait: bool) -> bool:
    """A mention, a direct message, or a follow-up in a thread Trellis answers in. A message
    with no words (a file dropped in) is one only when it is addressed to Trellis, a mention
    or a new direct message, which get the help text. Thanks ("thanks, that helps!") is
    never a question; in a channel's thread, a reply addressed to someone else, or one that
    neither asks nor requests anything ("I'll check with finance"), is left to the people
    talking (`app.answering.addressed`)."""
    if not _from_a_person(event, services):
        return False
    text = event.get("text") or ""
    if thanks_or_agreement(text):
        log.info("thanks_not_answered", channel=event.get("channel"), ts=event.get("ts"))
        return False
    if event.get("type") == "app_mention":
        return True
    bot_user_id = slack_of(services).bot_user_id
    mentions_bot = bool(bot_user_id) and f"<@{bot_user_id}" in text
    thread_ts: str = event.get("thread_ts") or ""
    direct = is_direct_message(event)
    if not _question_text(event, bot_user_id) and not (mentions_bot or (direct and not thread_ts)):
        return False
    if direct or (mentions_bot and is_group_message(event)):
        return True
    # Mentions in channels are answered through app_mention; plain chatter not at all.
    if (
        not thread_ts
        or mentions_bot
        or not asks_trellis(text, bot_user_id=bot_user_id, asked_here=True)
    ):
        return False  # read before the database is asked whose thread it is
    askers = await _read(
        services, lambda: _answer_thread_askers(services, event["channel"], thread_ts), wait=wait
    )
    if askers is None:
        return False
    return event.get("user") in askers or asks_trellis(text, bot_user_id=bot_user_id)


def _question_text(event: dict[str, Any], bot_user_id: str | None) -> str:
    return plain_text(event.get("text"), drop_user=bot_user_id)


def _from_a_person(event: dict[str, Any], services: Services) -> bool:
    if event.get("bot_id") or event.get("subtype") not in QUESTION_SUBTYPES:
        return False
    user = event.get("user")
    return bool(user) and user != slack_of(services).bot_user_id


async def first_delivery(
    services: Services, keys: list[str], question: ReceivedQuestion | None = None
) -> bool:
    """True the first time any Slack delivery with these keys is seen (Slack retries); the
    question it carries is then stored with the claim. While the database is out of reach
    the claim is tried again (`when_database_answers`)."""
    return await when_database_answers(services, lambda: services.claims.claim(keys, question))


async def when_database_answers(services: Services, call: Callable[[], Awaitable[_T]]) -> _T:
    """`call`'s result, tried again while the database is out of reach, for up to
    `database_wait_seconds`; then the asker is told to ask again (`DatabaseAway`, reported
    by the Bolt error handler)."""
    started, pause = time.monotonic(), 0.25
    while True:
        try:
            return await call()
        except Exception as error:
            if not database_unavailable(error):
                raise
            waited = time.monotonic() - started
            if waited >= services.settings.database_wait_seconds:
                raise DatabaseAway(DATABASE_AWAY, detail=repr(error)) from error
            log.warning("question_waits_for_database", waited=round(waited, 2), error=repr(error))
        await asyncio.sleep(pause)
        pause = min(pause * 2, 5.0)


async def _claim(
    services: Services,
    body: dict[str, Any],
    event: dict[str, Any],
    *,
    wait: bool = True,
    key: str | None = None,
) -> ReceivedQuestion | None:
    """The stored question, when this is the first delivery of `event`; None otherwise.
    `wait` False: one try, however the database answers. `key`: the claim naming what is
    asked, when it is not the message (an edit of it, handlers/edited.py)."""
    keys = [key or f"msg:{event['channel']}:{event['ts']}"]
    if body.get("event_id"):
        keys.insert(0, f"event:{body['event_id']}")
    question = services.intake.receive(
        Surface.THREAD,
        team_id=event.get("user_team") or body.get("team_id") or "",
        channel_id=event["channel"],
        slack_user_id=event["user"],
        text=_question_text(event, slack_of(services).bot_user_id),
        message_ts=event["ts"],
        thread_ts=event.get("thread_ts"),
    )
    # An empty message gets the help text; one too long to answer is declined at once
    # (app/trust/quotas.py): neither is kept.
    kept = 0 < len(question.text) <= SLACK_MESSAGE_LIMIT
    if wait:
        first = await first_delivery(services, keys, question if kept else None)
    else:
        first = await services.claims.claim(keys, question if kept else None)
    if not first:
        return None
    if kept:
        services.intake.holding(question)
    return question


async def _answer_thread_askers(
    services: Services, channel_id: str, thread_ts: str
) -> frozenset[str] | None:
    """Who asked Trellis in a thread it answered in (empty while it is answering the
    thread's first message), or None for any other thread."""
    async with services.database.reading() as session:
        answers = await AnswerRepository(session).in_thread(channel_id, thread_ts)
        if answers:
            return frozenset(a.asker_slack_id for a in answers if a.asker_slack_id)
        if await HandledEventRepository(session).taken(f"msg:{channel_id}:{thread_ts}"):
            return frozenset()
        return None


async def _answer(services: Services, question: ReceivedQuestion, *, edited: bool) -> None:
    """`edited`: the question is an edit of one answered before (handlers/edited.py)."""
    text, lead = await as_asked(services, question, edited=edited)  # handlers/above.py
    if not text:
        await slack_of(services).post(
            channel=question.channel_id,
            thread_ts=question.thread_ts or question.message_ts,
            text=await help_for(
                services,
                question.slack_user_id,
                question.channel_id,
                seconds=HELP_IN_THREAD_SECONDS,
            ),
        )
        return
    text = await with_names(services, text, skip=slack_of(services).bot_user_id)
    if (
        streams_answers(services)
        and not edited
        and question.thread_ts is None
        and question.message_ts
    ):
        # A thread of its own (a DM, a mention at a channel's top level): the answer
        # streams. A follow-up in a shared thread gets the marked thinking indicator, so a
        # takeover after a crash finds which reply is its own (handlers/recovery.py).
        await answer_streaming(
            services,
            text=text,
            channel_id=question.channel_id,
            thread_ts=question.message_ts,
            slack_user_id=question.slack_user_id,
            team_id=question.team_id,
            message_ts=question.message_ts,
            received=question,
        )
        return
    await answer_in_thread(
        services,
        text=text,
        channel_id=question.channel_id,
        slack_user_id=question.slack_user_id,
        team_id=question.team_id,
        message_ts=question.message_ts,
        thread_ts=earlier_turns(question),
        received=question if question.text else None,  # a mention alone is not stored
        lead=lead,
    )


def streams_answers(services: Services) -> bool:
    """Whether answers outside the assistant view stream (`TRELLIS_STREAM_ANSWERS`): by
    default only when the model writes them as a stream. A whole offline answer gains
    nothing from a stream but the status line, and costs a fifth more CPU per question in a
    burst (bench/RESULTS.md)."""
    setting = services.settings.stream_answers
    if setting == "auto":
        return bool(getattr(services.answerer, "streams_text", False))
    return setting == "always"


async def on_mention(
    body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, services: Services
) -> None:
    await _take_on(services, body, event, context)


async def on_message(
    body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, services: Services
) -> None:
    if (deleted := deleted_ts(event)) is not None:
        await on_deleted(services, event, deleted)
        return
    await _take_on(services, body, event, context)


async def _take_on(
    services: Services, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
) -> None:
    decision: _Decision
    try:
        decision = (
            await context[_TAKING] if _TAKING in context else await _decide(services, body, event)
        )
    except Exception as error:  # the database is away: wait for it, after the ack
        if not database_unavailable(error):
            raise
        decision = await _decide(services, body, event, wait=True)
    if not isinstance(decision, ReceivedQuestion):  # no question, or not its first delivery
        return
    with traces.slack_event(body, event):
        await _answer(services, decision, edited=event.get("subtype") == "message_changed")
