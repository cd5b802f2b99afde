"""Delivering the outbox rows that are messages to people (app/approvals/notices.py).

The worker (app/delivery/outbox.py) hands such a row here instead of to a connector: the
approved answer is posted by the `Notifier` only while the draft is approved as it stands,
and an expiry notice only for a draft that did expire. Slack takes no idempotency key, so
the row's lease and compare-and-set keep two workers from posting the same message; a
process killed after Slack accepted a post and before the row was recorded posts it again.
"""

from __future__ import annotations

from app.approvals import notices
from app.approvals.drafts import DraftState, to_view
from app.approvals.execution import approved_action
from app.db.models.approvals import Draft, OutboxAction
from app.errors import ApprovalConflict, ConnectorConfigError
from app.notifications import Notifier
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
    raise ConnectorConfigError(f"There is no notice called {item.connector!r}.")
