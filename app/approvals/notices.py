"""What Trellis owes people once a draft is decided, queued in the outbox like an action.

Two messages must reach Slack exactly once even if the process stops right after the
decision: the approved answer of a question held for review (posted in the asker's thread)
and the notice that a draft expired (to its requester). Each is an outbox row written in
the same transaction as the decision it follows, so the outbox worker delivers it, retries
it and, when Slack stays down, dead-letters it like any action; it hands these rows to the
`Notifier` instead of a connector (app/delivery/notices.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from app.db.models.approvals import Draft, OutboxAction
from app.domain import ActionState

ANSWER = "trellis.answer"
EXPIRED = "trellis.expired"
DESCRIPTIONS = {
    ANSWER: "post the answer in the asker's thread",
    EXPIRED: "tell the requester it expired",
}


def is_notice(connector: str) -> bool:
    return connector in DESCRIPTIONS


def notice_row(draft: Draft, *, kind: str, position: int, now: datetime) -> OutboxAction:
    return OutboxAction(
        id=str(uuid.uuid4()),
        draft_id=draft.id,
        position=position,
        connector=kind,
        params={},
        draft_hash=draft.text_hash,
        idempotency_key=f"trellis:{draft.id}:{kind}",
        state=ActionState.PENDING,
        version=1,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
