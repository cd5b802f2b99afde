"""What a person is told when something they asked of Trellis did not happen.

`message_for` is the one place an error becomes words: a `TrellisError` carries its own
message (a refusal is an answer, not a failure), and Slack failing on its side or still
rate limiting after the retries, even on a call made with Bolt's client, is
`SlackUnavailable`; anything unexpected is logged with its
traceback under a short reference id, and the person gets that id to quote. The Bolt
error handler, `report_unexpected`, is the last line of defence: it tells the person who
was talking to Trellis, where Slack gives a way to reach them.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from slack_bolt.async_app import AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.errors import QuestionKept, SlackUnavailable, TrellisError
from app.slack_api import OUT_OF_REACH, error_code
from app.slack_retries import passing
from handlers.delivered import is_direct_message
from handlers.views.blocks import notice_blocks

log = structlog.get_logger(__name__)

ADDRESSED_EVENTS = ("app_mention",)
"""Events meant for Trellis; other channel messages may be chatter it only looked at."""

NOT_HANDLED = "so your request may not have been handled"
NOT_POSTED = "and nothing was posted in your name"
NOT_ANSWERED = "and your question could not be answered"
NOT_SAVED = "and nothing was saved"


def message_for(error: Exception, *, outcome: str = NOT_HANDLED, **context: object) -> str:
    """The words for `error`; `outcome` says what an unexpected failure left undone, and
    `context` goes to the log beside the reference."""
    if isinstance(error, SlackApiError) and passing(error):
        status = error.response.status_code
        error = SlackUnavailable(OUT_OF_REACH, detail=f"HTTP {status} {error_code(error)}")
    if isinstance(error, TrellisError):
        log.info(
            "request_refused",
            error=type(error).__name__,
            reason=error.user_message,
            detail=str(error),
            **context,
        )
        return error.user_message
    reference = uuid.uuid4().hex[:8]
    log.error("listener_failed", reference=reference, error=repr(error), exc_info=error, **context)
    return (
        f"Something went wrong on Trellis's side, {outcome}. Please try again; if it "
        f"keeps happening, tell the Trellis owners (reference {reference})."
    )


async def report_unexpected(
    error: Exception,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    text = message_for(error, type=body.get("type"))
    try:
        await _tell(body, text, client, respond, bot_user_id=context.bot_user_id)
    except Exception:  # Slack itself is failing: the log is all that is left
        log.warning("listener_failure_not_told", error=repr(error), exc_info=True)


async def _tell(
    body: dict[str, Any],
    text: str,
    client: AsyncWebClient,
    respond: AsyncRespond,
    *,
    bot_user_id: str | None,
) -> None:
    if body.get("response_url") or (body.get("response_urls") or [None])[0]:
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    event = body.get("event") or {}
    if event.get("subtype") == "message_changed":  # an edit: its author is the message's
        edited = event.get("message") or {}
        mentions = bool(bot_user_id) and f"<@{bot_user_id}" in (edited.get("text") or "")
        if not (mentions or is_direct_message(event)):
            return
        event = {**edited, "type": "app_mention", "channel": event.get("channel")}
    addressed = event.get("type") in ADDRESSED_EVENTS or is_direct_message(event)
    if not addressed or event.get("bot_id") or not event.get("user") or not event.get("channel"):
        return
    # Slack shows an ephemeral in a thread only once the thread has replies: a message that
    # started none gets the notice beside it, in the channel.
    await client.chat_postEphemeral(
        channel=event["channel"],
        user=event["user"],
        text=text,
        thread_ts=event.get("thread_ts"),
        blocks=notice_blocks(text),
    )


LASTING_REFUSALS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "thread_not_found",
        "message_not_found",
        "cant_update_message",
        "user_not_in_channel",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
    }
)
"""Slack's refusals that asking again will not change: the conversation is gone, archived or
closed to Trellis, its thread or message deleted."""


def lasting_refusal(error: BaseException) -> str | None:
    """Slack's error code, when `error` (or the failure a `QuestionKept` reports) is a
    refusal asking again will not change."""
    if isinstance(error, QuestionKept) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, SlackApiError):
        code = error.response.get("error")
        if isinstance(code, str) and code in LASTING_REFUSALS:
            return code
    return None
