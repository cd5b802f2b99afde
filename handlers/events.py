"""Messages for Trellis: mentions in channels, direct messages, follow-ups in its threads."""

from __future__ import annotations

import re

from app.pipeline import Question
from app.services import Services
from handlers.asking import answer_in_thread

MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join",
                    "channel_leave", "me_message", "ekm_access_denied"}


def register(app) -> None:
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


def _question_text(text: str) -> str:
    return " ".join(MENTION.sub(" ", text or "").split())


def _from_a_person(event: dict, services: Services) -> bool:
    if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES:
        return False
    user = event.get("user")
    return bool(user) and user != services.slack.bot_user_id


async def _claim(services: Services, body: dict, event: dict) -> bool:
    keys = [f"msg:{event['channel']}:{event['ts']}"]
    if body.get("event_id"):
        keys.insert(0, f"event:{body['event_id']}")
    return await services.claim_event(keys)


async def _answer(services: Services, event: dict) -> None:
    text = _question_text(event.get("text", ""))
    channel = await services.slack.channel(event["channel"])
    if not text:
        await services.slack.post(channel=channel.id, thread_ts=event.get("thread_ts") or event["ts"],
                                  text=services.help_text())
        return
    await answer_in_thread(services, Question(
        text=text, channel=channel, slack_user_id=event["user"],
        thread_ts=event.get("thread_ts"), message_ts=event["ts"]))


async def on_mention(body: dict, event: dict, services: Services) -> None:
    if not _from_a_person(event, services) or not await _claim(services, body, event):
        return
    await _answer(services, event)


async def on_message(body: dict, event: dict, services: Services) -> None:
    if not _from_a_person(event, services):
        return
    is_dm = event.get("channel_type") == "im"
    mentions_bot = services.slack.bot_user_id and f"<@{services.slack.bot_user_id}" in event.get("text", "")
    thread_ts = event.get("thread_ts")
    follow_up = bool(thread_ts) and not is_dm and not mentions_bot and \
        await services.is_answer_thread(event["channel"], thread_ts)
    if not (is_dm or follow_up):
        return  # plain channel chatter, and mentions (answered through app_mention)
    if not await _claim(services, body, event):
        return
    await _answer(services, event)
