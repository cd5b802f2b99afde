"""Carrying out an approved draft: its actions queued in the outbox, then its steps.

    approved ─► executing ─► done
       │           └─► failed ─► executing   (an owner retries)
       └─► done                             (nothing to carry out)

An approval queues the workflow's actions in the same transaction as the decision
(`Execution._queue_actions`); the outbox worker (app/delivery/outbox.py) then moves
the draft along as it delivers them. Only `approved_action` creates a
`workflows.base.ApprovedAction`, and only for a draft whose approved hash is still the
hash of its text.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import notices
from app.approvals.drafts import APPROVED_STATES, DraftState, DraftView, text_hash
from app.approvals.notices import actions_of, notice_row
from app.approvals.outward import outward_text
from app.approvals.store import DraftStore, S
from app.db.models.approvals import Draft, OutboxAction
from app.db.repositories.approvals import DraftRepository, OutboxRepository
from app.delivery.actions import context_for, fill
from app.domain import ActionState, Person
from app.errors import AccessDenied, ApprovalConflict, LostUpdate
from app.trust import tracing
from workflows.base import ApprovedAction


class Execution(DraftStore):
    """The steps of an approved draft, as the outbox worker and the owners take them."""

    async def begin_execution(self, session: AsyncSession, draft_id: str) -> None:
        draft = await self._get(session, draft_id)
        if draft.state in (S.APPROVED, S.FAILED) and not await self._cas(
            session, draft, S.EXECUTING, "draft.executing", None
        ):
            raise LostUpdate()

    async def settle(self, session: AsyncSession, draft_id: str) -> DraftState:
        """done when every action is done, failed when one is dead-lettered."""
        draft = await self._get(session, draft_id)
        items = actions_of(await OutboxRepository(session).for_draft(draft_id))
        state = S(draft.state)
        if state not in (S.APPROVED, S.EXECUTING):
            return state
        if items and all(i.state == ActionState.DONE for i in items):
            target, kind = S.DONE, "draft.done"
        elif any(i.state == ActionState.DEAD for i in items):
            target, kind = S.FAILED, "draft.failed"
        else:
            return state
        references = [i.reference for i in items if i.reference]
        if not await self._cas(
            session, draft, target, kind, None, extra={"references": references}
        ):
            raise LostUpdate()
        return target

    async def settle_finished(self) -> int:
        """Drafts still approved or executing whose actions are all finished (the process
        stopped between an action's outcome and the draft's own step) move to their final
        state; how many did. Actions still due are the outbox worker's: a row a dead worker
        leased is claimed again once its lease runs out."""
        async with self.database.session() as session:
            carrying_out = [d.id for d in await DraftRepository(session).carrying_out()]
        moved = 0
        for draft_id in carrying_out:

            async def change(session: AsyncSession, draft_id: str = draft_id) -> DraftState:
                return await self.settle(session, draft_id)

            moved += await self._retrying(change) in (S.DONE, S.FAILED)
        return moved

    async def retry(self, *, draft_id: str, owner: Person, admins: Collection[str]) -> DraftView:
        """An owner sends a failed draft's dead-lettered actions through the outbox again."""
        if not set(admins) & owner.principals:
            raise AccessDenied("Only the Trellis owners can retry a failed action.")

        async def change(session: AsyncSession) -> DraftView:
            draft = await self._get(session, draft_id)
            if draft.state != S.FAILED:
                raise ApprovalConflict(f"Nothing to retry: this request is {draft.state} now.")
            now = self.clock()
            outbox = OutboxRepository(session)
            for item in actions_of(await outbox.for_draft(draft_id)):
                if item.state == ActionState.DEAD and not await outbox.compare_and_set(
                    item,
                    now=now,
                    state=ActionState.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    lease_owner=None,
                    lease_until=None,
                    reported=False,
                    report_until=None,
                ):
                    raise LostUpdate()
            await self._move(session, draft, S.EXECUTING, "draft.retried", owner)
            return await self._view(session, await self._get(session, draft_id))

        view = await self._retrying(change)
        tracing.hand_off(draft_id)
        self._wake()
        return view

    async def _queue_actions(self, session: AsyncSession, draft: Draft, now: datetime) -> None:
        """The approved draft's actions into the outbox, and for a held answer the post
        itself; a draft with nothing to carry out is done at once."""
        context = context_for(
            inputs=draft.inputs,
            text=outward_text(draft.text),
            requester_email=draft.requester_email,
            requester_name=draft.requester_name,
            title=draft.title,
        )
        outbox = OutboxRepository(session)
        for position, action in enumerate(draft.actions):
            await outbox.add(
                OutboxAction(
                    id=str(uuid.uuid4()),
                    draft_id=draft.id,
                    position=position,
                    connector=action["connector"],
                    params=fill(action.get("settings", {}), context),
                    draft_hash=draft.text_hash,
                    idempotency_key=f"trellis:{draft.id}:{position}",
                    state=ActionState.PENDING,
                    version=1,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        if draft.kind == "answer":
            await outbox.add(
                notice_row(draft, kind=notices.ANSWER, position=len(draft.actions), now=now)
            )
        elif not draft.actions:
            approved = await self._get(session, draft.id)
            await self._move(session, approved, S.DONE, "draft.done", None)


def approved_action(draft: Draft, item: OutboxAction) -> ApprovedAction:
    """The action a connector may carry out, only for a draft approved as it stands."""
    current = text_hash(draft.text)
    if (
        draft.state not in APPROVED_STATES
        or draft.approved_hash != current
        or item.draft_hash != current
    ):
        raise ApprovalConflict(
            "This action was not carried out: the draft is not approved as it stands now.",
            detail=f"draft {draft.id} state={draft.state} approved={draft.approved_hash} "
            f"text={current} action={item.draft_hash}",
        )
    return ApprovedAction(
        action_id=item.id,
        draft_id=draft.id,
        workflow=draft.workflow,
        connector=item.connector,
        params=dict(item.params),
        text=draft.text,
        title=draft.title,
        requester_email=draft.requester_email,
        approved_by=tuple(a["email"] for a in draft.approvals),
        draft_hash=current,
        thread=f"{draft.channel_id}/{draft.thread_ts}" if draft.thread_ts else None,
    )
