"""The last line of defence: an unexpected error gets a reference id in the log, and the
person who was talking to Trellis is told, where Slack gives a way to reach them."""

from __future__ import annotations

import uuid

import structlog

from app.errors import TrellisError
from handlers.blocks import notice_blocks

log = structlog.get_logger(__name__)

ADDRESSED_EVENTS = ("app_mention",)
"""Events meant for Trellis; other channel messages may be chatter it only looked at."""


async def report_unexpected(error: Exception, body: dict, client, respond) -> None:
    reference = uuid.uuid4().hex[:8]
    log.error("listener_failed", reference=reference, error=repr(error),
              type=body.get("type"), exc_info=error)
    if isinstance(error, TrellisError):
        text = error.user_message
    else:
        text = ("Something went wrong on Trellis's side, so your request may not have been "
                "handled. Please try again; if it keeps happening, tell the Trellis owners "
                f"(reference {reference}).")
    try:
        await _tell(body, text, client, respond)
    except Exception:  # Slack itself is failing: the log is all that is left
        log.warning("listener_failure_not_told", reference=reference, exc_info=True)


async def _tell(body: dict, text: str, client, respond) -> None:
    if body.get("response_url") or (body.get("response_urls") or [None])[0]:
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    event = body.get("event") or {}
    addressed = event.get("type") in ADDRESSED_EVENTS or event.get("channel_type") == "im"
    if not addressed or event.get("bot_id") or not event.get("user") or not event.get("channel"):
        return
    await client.chat_postEphemeral(channel=event["channel"], user=event["user"], text=text,
                                    thread_ts=event.get("thread_ts") or event.get("ts"),
                                    blocks=notice_blocks(text))
