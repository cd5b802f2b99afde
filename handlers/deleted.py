"""Questions their askers deleted before the answer came: not answered.

Slack tells Trellis of a deleted message in one of two ways: a message without replies
goes (a `message` event of subtype `message_deleted`, naming it by `deleted_ts`); one with
replies, as a question Trellis is answering has (its thinking indicator), stays as a
placeholder, "This message was deleted." (a `message_changed` event whose message has the
subtype `tombstone`). When it was a question Trellis took on, the deletion is recorded as a
claim of its own, so the process answering it finds it on any replica: the answer is not
shown nor passed on to the owners, its message is removed, and the audit records why. An
answer shown before the deletion stays, as Slack keeps a deleted message's thread.
"""

from __future__ import annotations

from typing import Any

import structlog

from app.db.repositories.records import HandledEventRepository
from app.services import Services
from handlers.gateway import slack_of

log = structlog.get_logger(__name__)


def deleted_key(channel_id: str, ts: str) -> str:
    return f"deleted:{channel_id}:{ts}"


def deleted_ts(event: dict[str, Any]) -> str | None:
    """The message a `message` event reports deleted, or None for any other event."""
    if event.get("subtype") == "message_deleted":
        return event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
    changed = event.get("message") or {}
    if event.get("subtype") == "message_changed" and changed.get("subtype") == "tombstone":
        return changed.get("ts")
    return None


async def on_deleted(services: Services, event: dict[str, Any], ts: str) -> None:
    """Record the deletion of the message `ts` that `event` reports, when it was a question."""
    channel = event.get("channel")
    if not channel:
        return
    async with services.database.reading() as session:
        asked = await HandledEventRepository(session).taken(f"msg:{channel}:{ts}")
    if asked:
        await services.claims.claim([deleted_key(channel, ts)])
        log.info("question_deleted", channel=channel, ts=ts)


async def was_deleted(services: Services, channel_id: str, ts: str | None) -> bool:
    """Whether the question posted as `ts` in `channel_id` was deleted by its asker; when
    the database cannot say, it was not (the answer is shown rather than lost)."""
    if not ts:
        return False
    try:
        async with services.database.reading() as session:
            return await HandledEventRepository(session).taken(deleted_key(channel_id, ts))
    except Exception:  # noqa: BLE001 - an answer is never lost to this check
        log.warning("deletion_not_checked", channel=channel_id, ts=ts, exc_info=True)
        return False


async def withhold(
    services: Services, audit_id: str, channel_id: str, asker: str, shown: str | None
) -> None:
    """The answer to a deleted question is not shown: the message `shown` that was to show
    it goes, and the audit says why. Failures here are only logged."""
    log.info("answer_withheld_question_deleted", channel=channel_id, audit_id=audit_id)
    try:
        await services.audit.record(
            kind="question.deleted",
            subject_id=audit_id,
            actor_slack_id=asker,
            channel_id=channel_id,
            payload={"shown": False},
        )
        if shown is not None:
            await slack_of(services).delete(channel=channel_id, ts=shown)
    except Exception:  # the answer stays unshown; only the record or the tidying failed
        log.warning("deleted_question_not_tidied", channel=channel_id, exc_info=True)
