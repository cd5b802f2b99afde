"""Messages for Trellis: mentions in channels, direct messages, follow-ups in its threads."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from app.db.repositories.records import AnswerRepository, HandledEventRepository
from app.services import Services
from handlers import traces
from handlers.asking import answer_in_thread
from handlers.gateway import slack_of
from handlers.views.help import help_text

MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
IGNORED_SUBTYPES = {
    "bot_message",
    "message_changed",
    "message_deleted",
    "channel_join",
    "channel_leave",
    "me_message",
    "ekm_access_denied",
}


def register(app: AsyncApp) -> None:
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


def _question_text(text: str) -> str:
    return " ".join(MENTION.sub(" ", text or "").split())


def _from_a_person(event: dict[str, Any], services: Services) -> bool:
    if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES:
        return False
    user = event.get("user")
    return bool(user) and user != slack_of(services).bot_user_id


async def first_delivery(services: Services, keys: list[str]) -> bool:
    """True the first time any Slack delivery with these keys is seen (Slack retries)."""
    return await services.claims.claim(keys)


async def _claim(services: Services, body: dict[str, Any], event: dict[str, Any]) -> bool:
    keys = [f"msg:{event['channel']}:{event['ts']}"]
    if body.get("event_id"):
        keys.insert(0, f"event:{body['event_id']}")
    return await first_delivery(services, keys)


async def _is_answer_thread(services: Services, channel_id: str, thread_ts: str) -> bool:
    """A thread Trellis answered in, or whose first message it is answering right now."""
    async with services.database.reading() as session:
        return bool(await AnswerRepository(session).in_thread(channel_id, thread_ts)) or (
            await HandledEventRepository(session).taken(f"msg:{channel_id}:{thread_ts}")
        )


async def _answer(services: Services, body: dict[str, Any], event: dict[str, Any]) -> None:
    text = _question_text(event.get("text", ""))
    if not text:
        await slack_of(services).post(
            channel=event["channel"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text=help_text(services.workspace),
        )
        return
    await answer_in_thread(
        services,
        text=text,
        channel_id=event["channel"],
        slack_user_id=event["user"],
        team_id=event.get("user_team") or body.get("team_id") or "",
        message_ts=event["ts"],
        thread_ts=event.get("thread_ts"),
    )


async def on_mention(body: dict[str, Any], event: dict[str, Any], services: Services) -> None:
    if not _from_a_person(event, services) or not await _claim(services, body, event):
        return
    with traces.slack_event(body, event):
        await _answer(services, body, event)


async def on_message(body: dict[str, Any], event: dict[str, Any], services: Services) -> None:
    if not _from_a_person(event, services):
        return
    is_dm = event.get("channel_type") == "im"
    bot_user_id = slack_of(services).bot_user_id
    mentions_bot = bot_user_id and f"<@{bot_user_id}" in event.get("text", "")
    thread_ts: str = event.get("thread_ts") or ""
    follow_up = (
        bool(thread_ts)
        and not is_dm
        and not mentions_bot
        and await _is_answer_thread(services, event["channel"], thread_ts)
    )
    if not (is_dm or follow_up):
        return  # plain channel chatter, and mentions (answered through app_mention)
    if not await _claim(services, body, event):
        return
    with traces.slack_event(body, event):
        await _answer(services, body, event)
