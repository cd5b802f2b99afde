"""Telling people how an outbox row ended: the requester, the card and, for a dead
letter, the owners. Each finished row is reported once: a report lease keeps two workers
from telling at the same time, and a report that failed is tried again by
`report_unreported` (app/delivery/outbox.py runs it after each round of work).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from app.approvals.drafts import ActionView, DraftView, to_view
from app.approvals.notices import DIRECT, is_notice, is_waiting_message, person_of
from app.db.base import aware
from app.db.models.approvals import OutboxAction
from app.db.repositories.approvals import DraftRepository, OutboxRepository
from app.db.session import Database
from app.delivery.retry import OutboxPolicy
from app.domain import ActionState, Person
from app.notifications import Notifier

log = structlog.get_logger(__name__)


class OutboxReports:
    database: Database
    clock: Callable[[], datetime]
    policy: OutboxPolicy
    notifier: Callable[[], Notifier]
    owners_told: Callable[[DraftView, ActionView], Awaitable[object]] | None

    async def _report(self, item_id: str) -> None:
        """Tell people about a finished row, once; a failed report is tried again later."""
        now = self.clock()
        async with self.database.session() as session:
            outbox = OutboxRepository(session)
            item = await outbox.get(item_id)
            if (
                item is None
                or item.reported
                or item.state not in (ActionState.DONE, ActionState.DEAD)
            ):
                return
            report_until = item.report_until and aware(item.report_until)
            if report_until and report_until > now:
                return
            if not await outbox.compare_and_set(
                item, now=now, report_until=now + timedelta(seconds=self.policy.report_lease)
            ):
                return
            draft = await DraftRepository(session).get(item.draft_id)
            assert draft is not None, "an outbox row always belongs to a draft (foreign key)"
            view = to_view(draft, await outbox.for_draft(item.draft_id))
            waiting, missed = is_waiting_message(item), _missed(item)
        try:
            if waiting:
                # The message itself was the news; one that failed for good to reach a
                # person is said in the card's thread, where an approver can still act.
                if missed is not None:
                    await self.notifier().not_told(view, missed)
            elif (action := _action(view, item_id)).state == ActionState.DONE and is_notice(
                action.connector
            ):
                await self.notifier().refresh_card(view)  # the message itself was the news
            else:
                if action.state == ActionState.DEAD and self.owners_told is not None:
                    await self.owners_told(view, action)
                await self.notifier().action_finished(view, action)
        except Exception:
            log.exception("outbox_report_failed", action=item_id)
            return
        async with self.database.session() as session:
            outbox = OutboxRepository(session)
            item = await outbox.get(item_id)
            if item is not None and not item.reported:
                await outbox.compare_and_set(item, now=self.clock(), reported=True)

    async def report_unreported(self) -> int:
        async with self.database.session() as session:
            waiting = [i.id for i in await OutboxRepository(session).unreported(now=self.clock())]
        for item_id in waiting:
            await self._report(item_id)
        return len(waiting)


def _action(view: DraftView, item_id: str) -> ActionView:
    return next(a for a in view.outbox if a.id == item_id)


def _missed(item: OutboxAction) -> Person | None:
    """The person a direct message that failed for good was for."""
    if item.state == ActionState.DEAD and item.connector in DIRECT:
        return person_of(item.params["person"])
    return None
