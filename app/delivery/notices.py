"""Delivering the outbox rows that are messages to people (app/approvals/notices.py).

The worker (app/delivery/outbox.py) hands such a row here instead of to a connector: the
approved answer is posted by the `Notifier` only while the draft is approved as it stands,
an expiry notice only for a draft that did expire, and a reminder or an escalation message
only while the draft still waits. The row's lease and compare-and-set keep two workers
from posting the same message at once; and since Slack takes no idempotency key, each
message carries the row's as its `Once` (app/slack_once.py), so a post Slack carried out
before the row could be recorded (a 5xx, a process killed) is found instead of repeated.
"""

from __future__ import annotations

from app.approvals import notices
from app.approvals.drafts import DraftState, as_utc, to_view
from app.approvals.execution import approved_action
from app.approvals.notices import people_of, person_of
from app.db.models.approvals import Draft, OutboxAction
from app.errors import ApprovalConflict, ConnectorConfigError
from app.notifications import Notifier, Once
from workflows.base import ActionResult


async def tell(notifier: Notifier, draft: Draft, item: OutboxAction) -> ActionResult:
    if item.connector == notices.ANSWER:
        approved_action(draft, item)  # refuses a draft no longer approved as it stands
        ts = await notifier.post_answer(to_view(draft))
        return ActionResult(reference=ts or "", summary="answer posted")
    if item.connector == notices.EXPIRED:
        if draft.state != DraftState.EXPIRED:
            raise ApprovalConflict(
                "This notice was not sent: the request did not expire.",
                detail=f"draft {draft.id} state={draft.state}",
            )
        await notifier.decided(to_view(draft))
        return ActionResult(reference="", summary="requester told")
    if notices.is_waiting_message(item):
        return await _while_waiting(notifier, draft, item)
    raise ConnectorConfigError(f"There is no notice called {item.connector!r}.")


async def _while_waiting(notifier: Notifier, draft: Draft, item: OutboxAction) -> ActionResult:
    """A reminder or an escalation message, unless the draft was decided meanwhile."""
    if draft.state != DraftState.PENDING:
        return ActionResult(reference="", summary=f"not sent: the request is {draft.state} now")
    view, params = to_view(draft), item.params
    once = Once(f"notice:{item.id}", as_utc(item.created_at))
    if item.connector == notices.REMINDER:
        await notifier.remind(
            view, people_of(params["to"]), nobody_new=bool(params.get("nobody_new")), once=once
        )
    elif item.connector == notices.ESCALATION:
        await notifier.escalation_said(
            view, people_of(params["to"]), withheld=people_of(params["withheld"]), once=once
        )
    elif item.connector == notices.ASKED_INSTEAD:
        await notifier.asked_instead(view, params["unlisted"], once=once)
    else:
        person, card = person_of(params["person"]), item.connector in notices.CARDS
        if item.connector in (notices.DECIDER_CARD, notices.DECIDER_POINTER):
            sent = await notifier.asked_to_decide(view, person, card=card, once=once)
            if sent is None:
                return ActionResult(reference="", summary="not sent: in the card's channel")
        else:
            sent = await notifier.escalated_to(view, person, card=card, once=once)
        # Where a card went, so that it shows the decision too (handlers/notifier.py).
        if card and sent is not None:
            return ActionResult(
                reference=" ".join(sent), summary=notices.DESCRIPTIONS[item.connector]
            )
    return ActionResult(reference="", summary=notices.DESCRIPTIONS[item.connector])
