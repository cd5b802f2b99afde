"""Questions their askers deleted before the answer came: not answered.

Slack tells Trellis of a deleted message in one of two ways: a message without replies
goes (a `message` event of subtype `message_deleted`, naming it by `deleted_ts`); one with
replies, as a question Trellis is answering has (its thinking indicator), stays as a
placeholder, "This message was deleted." (a `message_changed` event whose message has the
subtype `tombstone`). The process that hears of it remembers it, and the process answering
the question looks there, so a question costs no extra database read: the answer is not
shown nor passed on to the owners, its message is removed, and the audit records why. When
it was a question Trellis took on, the deletion is also recorded as a claim, which a
process taking the question over after a crash reads (handlers/recovery.py). With several
replicas, the one Slack tells may not be the one answering; that answer is then shown. An
answer shown before the deletion stays, as Slack keeps a deleted message's thread.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import structlog

from app.db.repositories.records import HandledEventRepository
from app.services import Services
from handlers.gateway import slack_of

log = structlog.get_logger(__name__)

REMEMBERED = 10_000
"""Deletions this process remembers, the latest ones."""
_deleted: OrderedDict[tuple[str, str], None] = OrderedDict()


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
    _deleted[(channel, ts)] = None
    while len(_deleted) > REMEMBERED:
        _deleted.popitem(last=False)
    async with services.database.reading() as session:
        asked = await HandledEventRepository(session).taken(f"msg:{channel}:{ts}")
    if asked:
        await services.claims.claim([deleted_key(channel, ts)])
        log.info("question_deleted", channel=channel, ts=ts)


def was_deleted(channel_id: str, ts: str | None) -> bool:
    """Whether this process heard that the question posted as `ts` in `channel_id` was
    deleted by its asker."""
    return ts is not None and (channel_id, ts) in _deleted


async def deleted_before(services: Services, channel_id: str, ts: str | None) -> bool:
    """Whether any process recorded the question's deletion (for a question taken over);
    when the database cannot say, it was not (the answer is shown rather than lost)."""
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
