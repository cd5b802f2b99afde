"""Questions their askers deleted before the answer came: not answered.

Slack tells Trellis of a deleted message (a `message` event of subtype `message_deleted`,
which names it by `deleted_ts`). When it was a question Trellis took on, the deletion is
recorded as a claim of its own, so the process answering it finds it on any replica: the
answer is not shown, its thinking indicator is removed, and the audit records why. An
answer shown before the deletion stays, as Slack keeps a deleted message's thread.
"""

from __future__ import annotations

from typing import Any

import structlog

from app.db.repositories.records import HandledEventRepository
from app.services import Services

log = structlog.get_logger(__name__)


def deleted_key(channel_id: str, ts: str) -> str:
    return f"deleted:{channel_id}:{ts}"


async def on_deleted(services: Services, event: dict[str, Any]) -> None:
    """Record the deletion Slack reports in `event` when the message was a question."""
    channel = event.get("channel")
    ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
    if not channel or not ts:
        return
    async with services.database.reading() as session:
        asked = await HandledEventRepository(session).taken(f"msg:{channel}:{ts}")
    if asked:
        await services.claims.claim([deleted_key(channel, ts)])
        log.info("question_deleted", channel=channel, ts=ts)


async def was_deleted(services: Services, channel_id: str, ts: str | None) -> bool:
    """Whether the question posted as `ts` in `channel_id` was deleted by its asker."""
    if not ts:
        return False
    async with services.database.reading() as session:
        return await HandledEventRepository(session).taken(deleted_key(channel_id, ts))
