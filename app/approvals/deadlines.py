"""Time passing on a draft that waits for a decision: the reminder, the escalation, the expiry.

A workflow's `remind_after`, `escalate_after` and `expire_after` (rules.yml) become the
draft's `Timing`; the scheduler (app/delivery/scheduler.py) takes each step once it is due.
A decision that comes too late finds the draft expired: it is expired then and there
(`DraftExpired.just_now`), so nobody decides on a request whose time is up. The
requester's notice is an outbox row written with the expiry (app/approvals/notices.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import notices
from app.approvals.deciders import expired_message
from app.approvals.drafts import DraftView, as_utc, to_view
from app.approvals.notices import notice_row, person_params
from app.approvals.store import DraftStore, S
from app.db.models.approvals import Draft
from app.db.repositories.approvals import OutboxRepository
from app.domain import Person
from app.errors import DraftExpired


@dataclass(frozen=True)
class Timing:
    remind_after: timedelta | None = None
    escalate_after: timedelta | None = None
    expire_after: timedelta | None = None


class Deadlines(DraftStore):
    """The scheduler's steps on a waiting draft, and the expiry a late decision finds."""

    async def expire(self, *, draft_id: str) -> DraftView | None:
        """Expire the draft if its time is up; the view when it did."""

        async def change(session: AsyncSession) -> DraftView | None:
            draft = await self._get(session, draft_id)
            if draft.state not in (S.DRAFTED, S.PENDING):
                return None
            if await self._expire_if_due(session, draft) is None:
                return None
            return await self._view(session, await self._get(session, draft_id))

        view = await self._retrying(change)
        if view is not None:
            self._observe(view, "expired")
            self._wake()
        return view

    async def mark_reminded(
        self, *, draft_id: str, people: Collection[Person] = ()
    ) -> DraftView | None:
        """The draft is reminded, once; the reminder naming `people` (who may still
        decide) goes out through the outbox, committed with this step."""

        async def change(session: AsyncSession) -> DraftView | None:
            draft = await self._get(session, draft_id)
            if draft.state != S.PENDING or draft.reminded_at is not None:
                return None
            await self._move(
                session, draft, S.PENDING, "draft.reminded", None, reminded_at=self.clock()
            )
            reminder = (notices.REMINDER, {"to": [person_params(p) for p in people]}, "")
            await self._queue(session, draft, [reminder])
            return await self._view(session, await self._get(session, draft_id))

        return await self._retrying(change)

    async def escalate(
        self,
        *,
        draft_id: str,
        to: Collection[Person],
        withheld: Collection[Person] = (),
        unlisted: Collection[str] = (),
        reminded: Collection[Person] = (),
    ) -> DraftView | None:
        """Whoever the draft is escalated to may decide from now on (never the requester).
        `withheld`: those it was due to who may not read its sources; they are only told
        where it waits. `unlisted`: managers it was due to who are not in the directory;
        the audit record says so, and that the approvals channel was asked instead.
        `reminded`: with nobody new to escalate to (everyone it was due to may already
        approve), the approvers reminded again instead. The messages saying so go out
        through the outbox, committed with this step."""

        async def change(session: AsyncSession) -> DraftView | None:
            draft = await self._get(session, draft_id)
            if draft.state != S.PENDING or draft.escalated_at is not None:
                return None
            extra = {p.email.lower() for p in to} - {draft.requester_email}
            requirement = dict(draft.requirement)
            requirement["eligible"] = [sorted(set(g) | extra) for g in requirement["eligible"]]
            told: dict[str, object] = {"to": sorted(extra)}
            if unlisted:
                told |= {"not_in_directory": sorted(unlisted), "instead": "approvals channel"}
            elif reminded and not extra:
                told |= {"nobody_new": True, "reminded": sorted(p.email for p in reminded)}
            await self._move(
                session,
                draft,
                S.PENDING,
                "draft.escalated",
                None,
                extra=told,
                requirement=requirement,
                escalated_at=self.clock(),
                escalated_to=sorted(extra),
            )
            messages = escalation_messages(to, withheld, unlisted)
            if reminded and not messages:
                again = {"to": [person_params(p) for p in reminded], "nobody_new": True}
                messages.append((notices.REMINDER, again, ""))
            await self._queue(session, draft, messages)
            return await self._view(session, await self._get(session, draft_id))

        return await self._retrying(change)

    async def _queue(
        self, session: AsyncSession, draft: Draft, messages: list[tuple[str, dict[str, Any], str]]
    ) -> None:
        outbox = OutboxRepository(session)
        rows = notices.waiting_rows(
            draft, messages, after=await outbox.for_draft(draft.id), now=self.clock()
        )
        for row in rows:
            await outbox.add(row)

    async def _expire_if_due(self, session: AsyncSession, draft: Draft) -> DraftExpired | None:
        expires = as_utc(draft.expires_at)
        if draft.state not in (S.DRAFTED, S.PENDING) or expires is None or self.clock() < expires:
            if draft.state == S.EXPIRED:
                return DraftExpired(expired_message(to_view(draft)), just_now=False)
            return None
        await self._move(session, draft, S.EXPIRED, "draft.expired", None)
        # The requester's notice goes out through the outbox, committed with the expiry.
        await OutboxRepository(session).add(
            notice_row(draft, kind=notices.EXPIRED, position=len(draft.actions), now=self.clock())
        )
        return DraftExpired(expired_message(to_view(draft)), just_now=True)


def escalation_messages(
    to: Collection[Person], withheld: Collection[Person], unlisted: Collection[str]
) -> list[tuple[str, dict[str, Any], str]]:
    """What an escalation says, one message each: in the approvals channel when managers
    it was due to are not in the directory; in the card's thread; to each person directly."""
    messages: list[tuple[str, dict[str, Any], str]] = []
    if unlisted:
        messages.append((notices.ASKED_INSTEAD, {"unlisted": sorted(unlisted)}, ""))
    if to or withheld:
        said = {
            "to": [person_params(p) for p in to],
            "withheld": [person_params(p) for p in withheld],
        }
        messages.append((notices.ESCALATION, said, ""))
    for kind, people in ((notices.ESCALATED_CARD, to), (notices.ESCALATED_POINTER, withheld)):
        each = {p.email.lower(): p for p in people}
        messages += [(kind, {"person": person_params(p)}, email) for email, p in each.items()]
    return messages
