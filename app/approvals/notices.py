"""What Trellis owes people about a draft, queued in the outbox like an action.

Messages that must reach Slack even if the process stops, or Slack fails, right after the
step that calls for them. Each is an outbox row written in the same transaction as that
step, so the outbox worker delivers it, retries it and, when Slack stays down or refuses
for good, dead-letters it like any action; it hands these rows to the `Notifier` instead
of a connector (app/delivery/notices.py).

Once a draft is decided:
    the approved answer of a question held for review (posted in the asker's thread), and
    the notice that a draft expired (to its requester).

While a draft waits (`WAITING`), one row per message, so that one refused message is not
sent again with the others:
    the reminder in the card's thread;
    the escalation said in the card's thread, and in the approvals channel when managers it
    was due to are not in the directory;
    a direct message to each person it escalated to: the card for those who may read its
    sources, a pointer for the others;
    a direct message to each person who may decide but is not in the card's channel (the
    requester's manager when nobody else could approve, say), queued with the card: the
    card or a pointer, as for an escalation.
These are not the draft's actions: they come after every action (`WAITING_FROM`), hold
none of them up, are not held up by them, and neither settle the draft nor show on its
card. One that comes after the draft was decided is not sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from app.db.models.approvals import WAITING_FROM, Draft, OutboxAction
from app.domain import ActionState, Person

ANSWER = "trellis.answer"
EXPIRED = "trellis.expired"
REMINDER = "trellis.reminder"
ESCALATION = "trellis.escalation"
ASKED_INSTEAD = "trellis.escalation_unlisted"
ESCALATED_CARD = "trellis.escalated_card"
ESCALATED_POINTER = "trellis.escalated_pointer"
DECIDER_CARD = "trellis.decider_card"
DECIDER_POINTER = "trellis.decider_pointer"
DESCRIPTIONS = {
    ANSWER: "post the answer in the asker's thread",
    EXPIRED: "tell the requester it expired",
    REMINDER: "remind the approvers in the card's thread",
    ESCALATION: "say in the card's thread whom it escalated to",
    ASKED_INSTEAD: "ask the approvals channel instead of managers outside the directory",
    ESCALATED_CARD: "send the card to a person it escalated to",
    ESCALATED_POINTER: "tell a person it escalated to where it waits",
    DECIDER_CARD: "send the card to an approver outside its channel",
    DECIDER_POINTER: "tell an approver outside its channel where it waits",
}
CARDS = frozenset({ESCALATED_CARD, DECIDER_CARD})
"""The direct messages that carry the card; they show its decision like the card itself."""
DIRECT = frozenset({ESCALATED_CARD, ESCALATED_POINTER, DECIDER_CARD, DECIDER_POINTER})
"""The waiting messages that are direct messages to one person (`params["person"]`)."""
WAITING = frozenset({REMINDER, ESCALATION, ASKED_INSTEAD, *DIRECT})


def is_notice(connector: str) -> bool:
    return connector in DESCRIPTIONS


def is_waiting_message(item: OutboxAction) -> bool:
    return item.connector in WAITING


def actions_of(items: Iterable[OutboxAction]) -> list[OutboxAction]:
    """A draft's outbox rows without the messages sent while it waited."""
    return [i for i in items if not is_waiting_message(i)]


def notice_row(
    draft: Draft,
    *,
    kind: str,
    position: int,
    now: datetime,
    params: Mapping[str, Any] | None = None,
    key: str = "",
) -> OutboxAction:
    """`key`: what tells this notice from others of its kind on the same draft."""
    return OutboxAction(
        id=str(uuid.uuid4()),
        draft_id=draft.id,
        position=position,
        connector=kind,
        params=dict(params or {}),
        draft_hash=draft.text_hash,
        idempotency_key=f"trellis:{draft.id}:{kind}" + (f":{key}" if key else ""),
        state=ActionState.PENDING,
        version=1,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


def waiting_rows(
    draft: Draft,
    messages: Iterable[tuple[str, Mapping[str, Any], str]],
    *,
    after: Iterable[OutboxAction],
    now: datetime,
) -> list[OutboxAction]:
    """Rows for (kind, params, key) messages about a waiting draft, placed after `after`
    (the draft's rows so far)."""
    taken = [i.position for i in after if i.position >= WAITING_FROM]
    start = max(taken, default=WAITING_FROM - 1) + 1
    return [
        notice_row(draft, kind=kind, position=start + n, now=now, params=params, key=key)
        for n, (kind, params, key) in enumerate(messages)
    ]


def person_params(person: Person) -> dict[str, str | None]:
    return {"email": person.email, "name": person.name, "slack_id": person.slack_id}


def person_of(params: Mapping[str, Any]) -> Person:
    return Person(email=params["email"], name=params["name"], slack_id=params.get("slack_id"))


def people_of(params: Iterable[Mapping[str, Any]]) -> list[Person]:
    return [person_of(p) for p in params]
