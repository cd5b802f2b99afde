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

Who may decide is checked in app/approvals/deciders.py; reminders, escalation and expiry
are in app/approvals/deadlines.py; the steps after approval (executing, done, failed, an
owner's retry) are in app/approvals/execution.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.answering.citations import cited_after_edit
from app.approvals.asked import outside_channel
from app.approvals.deadlines import Deadlines, Timing
from app.approvals.deciders import refusal, waiting_for
from app.approvals.drafts import Approval, DraftView, covered, requirement_data, text_hash, to_view
from app.approvals.execution import Execution
from app.approvals.outward import must_edit_first
from app.approvals.store import S, T
from app.db.models.approvals import Draft
from app.db.repositories.approvals import DraftRepository
from app.domain import Person, Usage
from app.errors import ApprovalConflict, DraftExpired, LostUpdate, RuleViolation
from app.notifications import Notifier
from app.rules.requirements import ApprovalRequirement
from app.trust import tracing


@dataclass(frozen=True)
class Decision:
    """What a click did: `approved` (final), `recorded` (more approvals needed),
    `rejected`, `edited`."""

    outcome: str
    draft: DraftView


class Approvals(Deadlines, Execution):
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

    async def put_before_approvers(
        self,
        *,
        draft_id: str,
        notifier: Notifier,
        deciders: Collection[Person] = (),
        withheld: Collection[Person] = (),
    ) -> DraftView:
        """drafted -> pending, then the card: it is posted only once a click on it can count.
        Where the card went is recorded after; a draft still without one gets it from the
        scheduler's sweep. Those of `deciders` (who may decide and read its sources) and of
        `withheld` (who may decide but not read them) who are not in the card's channel are
        sent it, or a pointer, by direct message: outbox rows committed with the card's place."""

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
        messages = await outside_channel(notifier, card[0], deciders, withheld)

        async def attach(session: AsyncSession) -> DraftView:
            draft = await self._get(session, draft_id)
            if draft.card_ts is None:
                if not await DraftRepository(session).compare_and_set(
                    draft, now=self.clock(), card_channel=card[0], card_ts=card[1]
                ):
                    raise LostUpdate()
                await self._queue(session, draft, messages)
            return await self._view(session, await self._get(session, draft_id))

        view = await self._retrying(attach)
        if messages:
            self._wake()
        return view

    async def card_gone(self, *, draft_id: str, channel: str, ts: str) -> None:
        """Slack no longer has the draft's card at (`channel`, `ts`): someone deleted it,
        or a sandbox started afresh. It is forgotten, so that while the draft waits the
        scheduler's sweep posts it again, and nothing tries to update it for ever."""

        async def forget(session: AsyncSession) -> None:
            draft = await self._get(session, draft_id)
            if (draft.card_channel, draft.card_ts) != (channel, ts):
                return  # already forgotten, or posted again
            if not await DraftRepository(session).compare_and_set(
                draft, now=self.clock(), card_channel=None, card_ts=None
            ):
                raise LostUpdate()

        await self._retrying(forget)

    async def approve_automatically(self, *, draft_id: str, reason: str) -> DraftView:
        async def change(session: AsyncSession) -> DraftView:
            draft = await self._get(session, draft_id)
            if draft.state != S.DRAFTED:
                raise ApprovalConflict("This request was already decided.")
            await self._approve(session, draft, approvals=[], by=None, reason=reason)
            return await self._view(session, await self._get(session, draft_id))

        with tracing.span("trellis.approval", {"trellis.approval.by": "rule"}) as span:
            view = await self._retrying(change)
            tracing.attributes(span, {"trellis.approval.outcome": "approved"})
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
            if why := must_edit_first(
                text=draft.text,
                original_text=draft.original_text,
                citations=draft.citations,
                actions=draft.actions,
            ):
                raise ApprovalConflict(why)
            me = approver.email.lower()
            current = [a for a in draft.approvals if a.get("hash") == draft.text_hash]
            needs = to_view(draft).needs()
            given = {a["email"] for a in current}
            if me in given:
                raise ApprovalConflict(f"You already approved this. {waiting_for(to_view(draft))}")
            if needs.require == "all" and covered(needs.eligible, given | {me}) <= covered(
                needs.eligible, given
            ):
                raise ApprovalConflict(
                    "Your approval would not count: someone already approved for your group. "
                    f"{waiting_for(to_view(draft))}"
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

        with tracing.span("trellis.approval", {"trellis.approval.by": "person"}) as span:
            decision = self._raise_returned(await self._retrying(change))
            tracing.attributes(span, {"trellis.approval.outcome": decision.outcome})
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

        decision = self._raise_returned(await self._retrying(change))
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
            # The sources shown are those the new text still cites, numbered again.
            edited, citations = cited_after_edit(draft.text, draft.citations, text)
            await self._move(
                session,
                draft,
                S.PENDING,
                "draft.edited",
                editor,
                extra={
                    "before": draft.text,
                    "after": edited,
                    "before_hash": draft.text_hash,
                    "after_hash": text_hash(edited),
                    "citations": [c.get("doc_id") for c in citations],
                },
                text=edited,
                text_hash=text_hash(edited),
                citations=citations,
                approvals=[],
                edited_by=editor.name,
            )
            return Decision("edited", await self._view(session, await self._get(session, draft_id)))

        return self._raise_returned(await self._retrying(change))

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
        extra: dict[str, Any] = {"approved_by": [a["email"] for a in approvals]}
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
        await self._queue_actions(session, draft, now)
        tracing.hand_off(draft.id)  # the outbox continues this trace (app/delivery/outbox.py)

    def _raise_returned(self, result: T | ApprovalConflict) -> T:
        """An expiry is committed first (its notice queued), then reported as the conflict
        it is."""
        if isinstance(result, ApprovalConflict):
            if isinstance(result, DraftExpired) and result.just_now:
                self._wake()
            raise result
        return result

    def _check_decider(
        self, draft: Draft, person: Person, seen_hash: str | None, *, verb: str
    ) -> None:
        view = to_view(draft)
        if refused := refusal(view, person, verb=verb, seen_hash=seen_hash, names=self.names):
            raise refused


def _after(now: datetime, delta: timedelta | None) -> datetime | None:
    return now + delta if delta is not None else None


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
        for k, v in values.items()
    }
