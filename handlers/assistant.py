"""Trellis in Slack's assistant view (Bolt's Assistant middleware).

- Thread started: a greeting, and suggested prompts chosen from what the thread's audience
  may read (the person, or everyone in the channel they are viewing).
- Context changed: the channel the person is viewing is saved with the thread (Bolt keeps
  it in the greeting's metadata); their questions are then answered for that channel's
  members, by the same audience rules as an answer posted there, and the suggested prompts
  are chosen for them.
- A message in the thread: the thread is titled from the question, the status line shows
  while it is answered, and the answer streams in (handlers/streaming.py).
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp, AsyncAssistant, AsyncSay
from slack_bolt.context.get_thread_context.async_get_thread_context import AsyncGetThreadContext
from slack_bolt.context.save_thread_context.async_save_thread_context import AsyncSaveThreadContext
from slack_bolt.context.set_suggested_prompts.async_set_suggested_prompts import (
    AsyncSetSuggestedPrompts,
)
from slack_bolt.context.set_title.async_set_title import AsyncSetTitle
from slack_bolt.listener_matcher.async_listener_matcher import AsyncListenerMatcher
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from app.answering.addressed import thanks_or_agreement
from app.answering.intake import Surface
from app.domain import Person
from app.errors import IdentityUnknown
from app.identity import access
from app.services import Services
from app.trust.quotas import SLACK_MESSAGE_LIMIT
from app.trust.suggestions import suggested_prompts
from handlers import traces
from handlers.delivered import plain_text
from handlers.events import first_delivery
from handlers.gateway import slack_of
from handlers.people import person_of, with_names
from handlers.streaming import answer_streaming
from handlers.views import assistant as views

log = structlog.get_logger(__name__)


def register(app: AsyncApp) -> None:
    assistant = AsyncAssistant()
    assistant.thread_started(on_thread_started)
    assistant.thread_context_changed(on_context_changed)
    # Bolt adds a list of matchers to its own (its annotation says one callable)
    assistant.user_message(on_user_message, matchers=[InAssistantThread()])  # type: ignore[arg-type]
    app.assistant(assistant)


class InAssistantThread(AsyncListenerMatcher):
    """`in_assistant_thread`, with the app's user id Bolt resolved for this installation."""

    async def async_matches(self, req: AsyncBoltRequest, resp: BoltResponse) -> bool:
        return in_assistant_thread(req.body, req.context.bot_user_id)


def in_assistant_thread(body: dict[str, Any], bot_user_id: str | None) -> bool:
    """A reply under the app's own thread root (the assistant view's threads). Follow-ups
    in a DM thread the person started stay with handlers/events.py. The app's user id is
    the one Bolt resolved (`auth.test`); a payload's authorizations list names it too, but
    Slack may send it without one, or with a person's first."""
    bot_users = {bot_user_id}
    bot_users |= {a.get("user_id") for a in body.get("authorizations") or [] if a.get("is_bot")}
    event = body["event"]
    return event.get("subtype") in (None, "file_share") and event.get("parent_user_id") in (
        bot_users - {None}
    )


async def on_thread_started(
    body: dict[str, Any],
    payload: dict[str, Any],
    say: AsyncSay,
    set_suggested_prompts: AsyncSetSuggestedPrompts,
    services: Services,
) -> None:
    thread = payload["assistant_thread"]
    with traces.assistant_thread(body, payload):
        try:
            person = await person_of(services, thread["user_id"])
        except IdentityUnknown:
            person = None
        name = person.name.split()[0] if person is not None else "there"
        viewing = (thread.get("context") or {}).get("channel_id")
        await say(text=views.greeting_text(name), blocks=views.greeting_blocks(name, viewing))
        if person is not None:
            await _suggest(services, person, viewing, set_suggested_prompts)


async def on_context_changed(
    body: dict[str, Any],
    payload: dict[str, Any],
    save_thread_context: AsyncSaveThreadContext,
    set_suggested_prompts: AsyncSetSuggestedPrompts,
    services: Services,
) -> None:
    thread = payload["assistant_thread"]
    with traces.assistant_thread(body, payload):
        await save_thread_context(thread["context"])
        try:
            person = await person_of(services, thread["user_id"])
        except IdentityUnknown:
            return
        await _suggest(services, person, thread["context"].get("channel_id"), set_suggested_prompts)


async def _suggest(
    services: Services,
    person: Person,
    viewing: str | None,
    set_suggested_prompts: AsyncSetSuggestedPrompts,
) -> None:
    """Suggest questions whose answers the thread's audience may read: the members of the
    channel being viewed (when Trellis can see it), else the person alone."""
    scope = None
    if viewing:
        try:
            channel = await slack_of(services).channel(viewing)
        except Exception:  # not visible to Trellis: answered for the person alone
            channel = None
        if channel is not None:
            audience = await access.audience_for(
                asker=person, channel=channel, slack=services.slack, identity=services.identity
            )
            scope = audience.scope
    prompts = await suggested_prompts(services, person, scope)
    if prompts:
        await set_suggested_prompts(prompts=views.prompts_json(prompts), title=views.PROMPTS_TITLE)


async def on_user_message(
    body: dict[str, Any],
    payload: dict[str, Any],
    set_title: AsyncSetTitle,
    get_thread_context: AsyncGetThreadContext,
    services: Services,
) -> None:
    event = payload
    bot_user_id = slack_of(services).bot_user_id
    if event.get("user") == bot_user_id:
        return
    text = plain_text(event.get("text"), drop_user=bot_user_id)
    if not text:
        return
    if thanks_or_agreement(event.get("text") or ""):
        log.info("thanks_not_answered", channel=event.get("channel"), ts=event.get("ts"))
        return  # "thanks, that helps!" is not a question
    keys = [f"msg:{event['channel']}:{event['ts']}"]
    if body.get("event_id"):
        keys.insert(0, f"event:{body['event_id']}")
    audience = await _viewed_channel(services, get_thread_context)
    received = services.intake.receive(
        Surface.STREAM,
        team_id=event.get("user_team") or body.get("team_id") or "",
        channel_id=event["channel"],
        slack_user_id=event["user"],
        text=text,
        message_ts=event["ts"],
        thread_ts=event["thread_ts"],
        audience_channel_id=audience,
    )
    kept = len(text) <= SLACK_MESSAGE_LIMIT  # longer is declined at once (app/trust/quotas.py)
    if not await first_delivery(services, keys, received if kept else None):
        return
    if kept:
        services.intake.holding(received)
    text = await with_names(services, text, skip=bot_user_id)
    with traces.slack_event(body, event):
        try:
            await set_title(views.thread_title(text))
        except SlackApiError as error:  # a DM thread outside the assistant view has no title
            log.info("title_not_set", error=error.response.get("error"))
        await answer_streaming(
            services,
            text=text,
            channel_id=event["channel"],
            thread_ts=event["thread_ts"],
            slack_user_id=event["user"],
            team_id=event.get("user_team") or body.get("team_id") or "",
            message_ts=event["ts"],
            audience_channel_id=audience,
            received=received if kept else None,
        )


async def _viewed_channel(
    services: Services, get_thread_context: AsyncGetThreadContext
) -> str | None:
    """The channel the person is viewing, when Trellis can see it; otherwise None (the DM
    itself is the audience)."""
    try:
        context = await get_thread_context()
    except SlackApiError:
        return None
    channel_id = context.get("channel_id") if context is not None else None
    if not channel_id:
        return None
    try:
        await slack_of(services).channel(channel_id)
    except Exception:  # not visible to Trellis: answer for the asker alone
        log.info("viewed_channel_not_visible", channel=channel_id)
        return None
    return str(channel_id)
