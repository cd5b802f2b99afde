"""Posts that appear in Slack once, however often they are tried.

chat.postMessage has no idempotency key, and a post Slack failed on its side (an HTTP 5xx,
a dropped connection) may still have been carried out. Trying it again later, as the
outbox and the approval scheduler do, or after a restart, could then show it twice: two
approval cards for one request, the same approved answer twice in a thread.

So such a post carries its own key in Slack's message metadata, and before it is made
the conversation (or the thread) is read for a message of this app with that key, from the
moment the post could first have been made; when there is one, its ts is the post's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from app.notifications import Once
from app.slack_api import SlackGateway

KIND = "trellis_post"
"""The event_type of the metadata a keyed post carries."""
PAGES = 5
"""Pages of a channel's history read for an earlier post (newest first, 200 a page)."""
CLOCK_SKEW = timedelta(minutes=5)
"""Slack's clock and ours may differ: the search starts this much earlier."""


def metadata_of(once: Once) -> dict[str, Any]:
    """The message metadata that carries `once`'s key."""
    return {"event_type": KIND, "event_payload": {"key": once.key}}


def _oldest(once: Once) -> str:
    return f"{(once.since - CLOCK_SKEW).timestamp():.6f}"


def key_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != KIND:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return key if isinstance(key, str) else None


async def post_once(
    slack: SlackGateway,
    *,
    channel: str,
    once: Once,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> str:
    """The ts of the post of `once` in `channel` (or the thread `thread_ts`): the one
    already there, or a new one."""
    if (ts := await _posted(slack, channel, once, thread_ts)) is not None:
        return ts
    return await slack.post(
        channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, metadata=metadata_of(once)
    )


async def _posted(
    slack: SlackGateway, channel: str, once: Once, thread_ts: str | None
) -> str | None:
    """Slack out of reach is raised (the post is tried again later); a refusal to read the
    conversation (a scope this app lacks) is not a reason to withhold the post."""
    try:
        if thread_ts is not None:
            messages = await slack.replies(channel, thread_ts, since=_oldest(once), metadata=True)
            return _found(slack, messages, once)
        cursor = None
        for _ in range(PAGES):
            page, cursor = await slack.history(
                channel, cursor=cursor, oldest=_oldest(once), metadata=True
            )
            if (ts := _found(slack, page, once)) is not None or cursor is None:
                return ts
    except SlackApiError:
        return None
    return None


def _found(slack: SlackGateway, messages: list[dict[str, Any]], once: Once) -> str | None:
    for message in messages:
        if slack.wrote(message) and key_of(message) == once.key:
            ts: str = message["ts"]
            return ts
    return None
