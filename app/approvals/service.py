"""The draft / approval state machine.

    drafted ─► pending ─► approved ─► executing ─► done
       │        │ ▲                      │
       │        └─┘ approval given,      └─► failed ─► executing   (an owner retries)
       │            text edited
       ├─► approved                (nobody needs to approve)
       ├─► rejected, expired       (from drafted or pending)
    approved ─► done               (nothing to carry out: an answer, a draft_only workflow)

Every change is one compare-and-set on the draft row (`UPDATE … WHERE id, state, version`)
plus its audit record, in one transaction. Concurrent clicks therefore produce one
decision: the losers re-read the row and are told who decided. An approval writes the
workflow's actions to the outbox in the same transaction as the decision, and each
approval is bound to the sha256 of the exact text approved.

Only this module creates `workflows.base.ApprovedAction`, and only for a draft whose
approved hash is still the hash of its text.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals.drafts import (
    APPROVED_STATES,
    Approval,
    DraftState,
    DraftView,
    as_utc,
    covered,
    requirement_data,
    requirement_from,
    text_hash,
    to_view,
)
from app.approvals.store import DraftStore, Lost, S, T
from app.db.models.approvals import Draft, OutboxAction
from app.db.repositories.approvals import DraftRepository, OutboxRepository
from app.delivery.actions import context_for, fill
from app.domain import Person, Usage
from app.errors import AccessDenied, ApprovalConflict, RuleViolation
from app.notifications import Notifier
from app.rules.rulebook import ApprovalRequirement
from workflows.base import ApprovedAction


class DraftExpired(ApprovalConflict):
    """Too late to decide. `just_now`: this call is what expired it (tell the requester)."""

    def __init__(self, user_message: str, *, just_now: bool) -> None:
        super().__init__(user_message)
        self.just_now = just_now


@dataclass(frozen=True)
class Timing:
    remind_after: timedelta | None = None
    escalate_after: timedelta | None = None
    expire_after: timedelta | None = None


@dataclass(frozen=True)
class Decision:
    """What a click did: `approved` (final), `recorded` (more approvals needed),
    `rejected`, `edited`."""

    outcome: str
    draft: DraftView


class Approvals(DraftStore):
    """Every transition of a draft, as the people and jobs of Trellis make them."""

    # Creating ----------------------------------------------------------------------------

    async def create(
        self,
        *,
        kind: str,
        workflow: str,
        title: str,
        mode: str,
        requester: Person,
        requester_slack_id: str | None,
        channel_id: str | None,
        thread_ts: str | None,
        inputs: dict[str, Any],
        text: str,
        citations: Sequence[dict[str, Any]],
        confidence: float,
        actions: Sequence[dict[str, Any]],
        requirement: ApprovalRequirement,
        rule: str,
        rule_version: str,
        timing: Timing = Timing(),
        private: bool = False,
        answer_id: str | None = None,
        usage: Usage | None = None,
        model: str | None = None,
    ) -> DraftView:
        now = self.clock()
        draft = Draft(
            id=str(uuid.uuid4()),
            kind=kind,
            workflow=workflow,
            title=title,
            mode=mode,
            state=S.DRAFTED.value,
            version=1,
            requester_email=requester.email.lower(),
            requester_name=requester.name,
            requester_slack_id=requester_slack_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            private=private,
            answer_id=answer_id,
            inputs=_plain(inputs),
            text=text,
            original_text=text,
            text_hash=text_hash(text),
            citations=list(citations),
            confidence=confidence,
            actions=list(actions),
            requirement=requirement_data(requirement, rule=rule),
            approvals=[],
            rule_version=rule_version,
            created_at=now,
            updated_at=now,
            remind_at=_after(now, timing.remind_after),
            escalate_at=_after(now, timing.escalate_after),
            expires_at=_after(now, timing.expire_after),
        )
        async with self.database.session() as session:
            await DraftRepository(session).add(draft)
            facts = {
                "inputs": draft.inputs,
                "text": text,
                "citations": [c.get("doc_id") for c in citations],
                "approvers": list(requirement.approvers),
                "require": requirement.require,
                "actions": [a.get("description") for a in actions],
            }
            if usage is not None and model:
                facts.update(usage=usage.__dict__, model=model)
            await self._record(
                session, draft, "draft.created", requester, to=S.DRAFTED, extra=facts
            )
            return await self._view(session, draft)

    async def put_before_approvers(self, *, draft_id: str, notifier: Notifier) -> DraftView:
        """drafted -> pending, then the card: it is posted only once a click on it can count.
        Where the card went is recorded after; a draft still without one gets it from the
        scheduler's sweep."""

        async def submit(session: AsyncSession) -> DraftView:
            draft = await self._get(session, draft_id)
            if draft.state == S.DRAFTED:
                await self._move(session, draft, S.PENDING, "draft.submitted", None)
                draft = await self._get(session, draft_id)
            return await self._view(session, draft)

        view = await self._retrying(submit)
        if view.state != S.PENDING or view.card_ts:
            return view
        card = await notifier.post_card(view)
        if card is None:
            return view

        async def attach(session: AsyncSession) -> DraftView:
            draft = await self._get(session, draft_id)
            if draft.card_ts is None and not await DraftRepository(session).compare_and_set(
                draft, now=self.clock(), card_channel=card[0], card_ts=card[1]
            ):
                raise Lost()
            return await self._view(session, await self._get(session, draft_id))

        return await self._retrying(attach)

    async def approve_automatically(self, *, draft_id: str, reason: str) -> DraftView:
        async def change(session: AsyncSession) -> DraftView:
            draft = await self._get(session, draft_id)
            if draft.state != S.DRAFTED:
                raise ApprovalConflict("This request was already decided.")
            await self._approve(session, draft, approvals=[], by=None, reason=reason)
            return await self._view(session, await self._get(session, draft_id))

        view = await self._retrying(change)
        self._observe(view, "auto")
        self._wake()
        return view

    # Deciding ----------------------------------------------------------------------------

    async def approve(
        self, *, draft_id: str, approver: Person, seen_hash: str | None = None
    ) -> Decision:
        async def change(session: AsyncSession) -> Decision | ApprovalConflict:
            draft = await self._get(session, draft_id)
            if expired := await self._expire_if_due(session, draft):
                return expired
            self._check_decider(draft, approver, seen_hash, verb="approve")
            me = approver.email.lower()
            current = [a for a in draft.approvals if a.get("hash") == draft.text_hash]
            needs = _requirement(draft)
            given = {a["email"] for a in current}
            if me in given:
                raise ApprovalConflict(f"You already approved this. {_waiting_for(draft)}")
            if needs.require == "all" and covered(needs.eligible, given | {me}) <= covered(
                needs.eligible, given
            ):
                raise ApprovalConflict(
                    "Your approval would not count: someone already approved for your group. "
                    f"{_waiting_for(draft)}"
                )
            mine = Approval(
                me, approver.name, approver.slack_id, self.clock().isoformat(), draft.text_hash
            ).as_dict()
            approvals = [*current, mine]
            if needs.is_satisfied({a["email"] for a in approvals}):
                await self._approve(session, draft, approvals=approvals, by=approver)
                outcome = "approved"
            else:
                await self._move(
                    session, draft, S.PENDING, "draft.approval_given", approver, approvals=approvals
                )
                outcome = "recorded"
            return Decision(outcome, await self._view(session, await self._get(session, draft_id)))

        decision = _raise_returned(await self._retrying(change))
        if decision.outcome == "approved":
            self._observe(decision.draft, "approved")
            self._wake()
        return decision

    async def reject(self, *, draft_id: str, approver: Person, reason: str) -> Decision:
        reason = " ".join((reason or "").split())
        if not reason:
            raise RuleViolation("Say why you reject it: the requester will read the reason.")

        async def change(session: AsyncSession) -> Decision | ApprovalConflict:
            draft = await self._get(session, draft_id)
            if expired := await self._expire_if_due(session, draft):
                return expired
            self._check_decider(draft, approver, None, verb="reject")
            await self._move(
                session,
                draft,
                S.REJECTED,
                "draft.rejected",
                approver,
                extra={"reason": reason},
                reason=reason,
                decided_by_email=approver.email.lower(),
                decided_by_name=approver.name,
                decided_at=self.clock(),
            )
            return Decision(
                "rejected", await self._view(session, await self._get(session, draft_id))
            )

        decision = _raise_returned(await self._retrying(change))
        self._observe(decision.draft, "rejected")
        return decision

    async def edit(
        self, *, draft_id: str, editor: Person, text: str, seen_hash: str | None = None
    ) -> Decision:
        """The text that will execute changes; earlier approvals were for the old text."""
        if not text.strip():
            raise RuleViolation(
                "The draft cannot be empty. Reject it instead if it should not go out."
            )

        async def change(session: AsyncSession) -> Decision | ApprovalConflict:
            draft = await self._get(session, draft_id)
            if expired := await self._expire_if_due(session, draft):
                return expired
            self._check_decider(draft, editor, seen_hash, verb="edit")
            if text == draft.text:
                return Decision("edited", await self._view(session, draft))
            await self._move(
                session,
                draft,
                S.PENDING,
                "draft.edited",
                editor,
                extra={
                    "before": draft.text,
                    "after": text,
                    "before_hash": draft.text_hash,
                    "after_hash": text_hash(text),
                },
                text=text,
                text_hash=text_hash(text),
                approvals=[],
                edited_by=editor.name,
            )
            return Decision("edited", await self._view(session, await self._get(session, draft_id)))

        return _raise_returned(await self._retrying(change))

    def may_decide(self, draft: DraftView, person: Person) -> str | None:
        """Why `person` may not decide on `draft` (None when they may)."""
        try:
            _check_person(draft.requester_email, draft.needs(), person, "decide on")
        except AccessDenied as refusal:
            return refusal.user_message
        return None

    # Time --------------------------------------------------------------------------------

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
        return view

    async def mark_reminded(self, *, draft_id: str) -> DraftView | None:
        async def change(session: AsyncSession) -> DraftView | None:
            draft = await self._get(session, draft_id)
            if draft.state != S.PENDING or draft.reminded_at is not None:
                return None
            await self._move(
                session, draft, S.PENDING, "draft.reminded", None, reminded_at=self.clock()
            )
            return await self._view(session, await self._get(session, draft_id))

        return await self._retrying(change)

    async def escalate(self, *, draft_id: str, to: Collection[Person]) -> DraftView | None:
        """Whoever the draft is escalated to may decide from now on (never the requester)."""

        async def change(session: AsyncSession) -> DraftView | None:
            draft = await self._get(session, draft_id)
            if draft.state != S.PENDING or draft.escalated_at is not None:
                return None
            extra = {p.email.lower() for p in to} - {draft.requester_email}
            requirement = dict(draft.requirement)
            requirement["eligible"] = [sorted(set(g) | extra) for g in requirement["eligible"]]
            await self._move(
                session,
                draft,
                S.PENDING,
                "draft.escalated",
                None,
                extra={"to": sorted(extra)},
                requirement=requirement,
                escalated_at=self.clock(),
                escalated_to=sorted(extra),
            )
            return await self._view(session, await self._get(session, draft_id))

        return await self._retrying(change)

    # Carrying out (called by the outbox worker inside its transactions) ------------------

    async def begin_execution(self, session: AsyncSession, draft_id: str) -> None:
        draft = await self._get(session, draft_id)
        if draft.state in (S.APPROVED, S.FAILED) and not await self._cas(
            session, draft, S.EXECUTING, "draft.executing", None
        ):
            raise Lost()

    async def settle(self, session: AsyncSession, draft_id: str) -> DraftState:
        """done when every action is done, failed when one is dead-lettered."""
        draft = await self._get(session, draft_id)
        items = await OutboxRepository(session).for_draft(draft_id)
        state = S(draft.state)
        if state not in (S.APPROVED, S.EXECUTING):
            return state
        if items and all(i.state == "done" for i in items):
            target, kind = S.DONE, "draft.done"
        elif any(i.state == "dead" for i in items):
            target, kind = S.FAILED, "draft.failed"
        else:
            return state
        references = [i.reference for i in items if i.reference]
        if not await self._cas(
            session, draft, target, kind, None, extra={"references": references}
        ):
            raise Lost()
        return target

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
            for item in await outbox.for_draft(draft_id):
                if item.state == "dead" and not await outbox.compare_and_set(
                    item,
                    now=now,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    lease_owner=None,
                    lease_until=None,
                    reported=False,
                    report_until=None,
                ):
                    raise Lost()
            await self._move(session, draft, S.EXECUTING, "draft.retried", owner)
            return await self._view(session, await self._get(session, draft_id))

        view = await self._retrying(change)
        self._wake()
        return view

    # Internals ---------------------------------------------------------------------------

    async def _approve(
        self,
        session: AsyncSession,
        draft: Draft,
        *,
        approvals: list[dict[str, Any]],
        by: Person | None,
        reason: str | None = None,
    ) -> None:
        now = self.clock()
        extra = {"approved_by": [a["email"] for a in approvals]}
        if reason:
            extra["reason"] = reason
        await self._move(
            session,
            draft,
            S.APPROVED,
            "draft.approved",
            by,
            extra=extra,
            approvals=approvals,
            approved_hash=draft.text_hash,
            decided_by_email=by.email.lower() if by else None,
            decided_by_name=by.name if by else "Trellis (no approval needed)",
            decided_at=now,
        )
        context = context_for(
            inputs=draft.inputs,
            text=draft.text,
            requester_email=draft.requester_email,
            requester_name=draft.requester_name,
            title=draft.title,
        )
        outbox = OutboxRepository(session)
        for position, action in enumerate(draft.actions):
            action_id = str(uuid.uuid4())
            await outbox.add(
                OutboxAction(
                    id=action_id,
                    draft_id=draft.id,
                    position=position,
                    connector=action["connector"],
                    params=fill(action.get("settings", {}), context),
                    draft_hash=draft.text_hash,
                    idempotency_key=f"trellis:{draft.id}:{position}",
                    state="pending",
                    version=1,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        if not draft.actions:
            approved = await self._get(session, draft.id)
            await self._move(session, approved, S.DONE, "draft.done", None)

    async def _expire_if_due(self, session: AsyncSession, draft: Draft) -> DraftExpired | None:
        expires = as_utc(draft.expires_at)
        if draft.state not in (S.DRAFTED, S.PENDING) or expires is None or self.clock() < expires:
            if draft.state == S.EXPIRED:
                return DraftExpired(_expired_message(draft), just_now=False)
            return None
        await self._move(session, draft, S.EXPIRED, "draft.expired", None)
        return DraftExpired(_expired_message(draft), just_now=True)

    def _check_decider(
        self, draft: Draft, person: Person, seen_hash: str | None, *, verb: str
    ) -> None:
        if draft.state != S.PENDING:
            raise ApprovalConflict(_already_decided(draft))
        _check_person(draft.requester_email, _requirement(draft), person, verb)
        if seen_hash and not draft.text_hash.startswith(seen_hash):
            who = draft.edited_by or "an approver"
            raise ApprovalConflict(
                f"The draft changed after this card was shown ({who} edited it). "
                "Read the updated card and decide again."
            )


def approved_action(draft: Draft, item: OutboxAction) -> ApprovedAction:
    """The action a handler may carry out, only for a draft approved as it stands."""
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


def _requirement(draft: Draft) -> ApprovalRequirement:
    return requirement_from(draft.requirement, draft.workflow)


def _check_person(
    requester_email: str, needs: ApprovalRequirement, person: Person, verb: str
) -> None:
    if person.email.lower() == requester_email.lower():
        raise AccessDenied(f"You asked for this, so someone else has to {verb} it.")
    if not needs.may_approve(person.email):
        who = ", ".join(needs.approvers) or "nobody"
        raise AccessDenied(
            f"Only {who} can {verb} this request, and you are not one of them. Nothing was changed."
        )


def _already_decided(draft: Draft) -> str:
    when = as_utc(draft.decided_at)
    at = f" at {when:%Y-%m-%d %H:%M} UTC" if when else ""
    who = draft.decided_by_name or "someone"
    if draft.state in APPROVED_STATES:
        return f"{who} already approved this{at}."
    if draft.state == S.REJECTED:
        return f"{who} already rejected this{at}."
    if draft.state == S.EXPIRED:
        return _expired_message(draft)
    return "This request is not ready for a decision yet."


def _expired_message(draft: Draft) -> str:
    when = as_utc(draft.expires_at)
    at = f" on {when:%Y-%m-%d %H:%M} UTC" if when else ""
    return (
        f"This request expired{at} and can no longer be approved. "
        f"{draft.requester_name or 'The requester'} can start it again."
    )


def _waiting_for(draft: Draft) -> str:
    view = to_view(draft)
    missing = view.missing_principals()
    return f"It is waiting for {', '.join(missing)}." if missing else ""


def _raise_returned(result: T | ApprovalConflict) -> T:
    """An expiry is committed first, then reported as the conflict it is."""
    if isinstance(result, ApprovalConflict):
        raise result
    return result


def _after(now: datetime, delta: timedelta | None) -> datetime | None:
    return now + delta if delta is not None else None


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
        for k, v in values.items()
    }
