"""The draft / approval state machine on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from app.approvals import notices
from app.approvals.drafts import DraftState, text_hash
from app.approvals.execution import approved_action
from app.db.models.approvals import Draft, OutboxAction
from app.db.models.records import AuditRecord
from app.errors import AccessDenied, ApprovalConflict, RuleViolation
from tests.approval_helpers import (
    DANIEL,
    ELENA,
    LIAM,
    MAYA,
    PRIYA,
    ROSA,
    SOFIA,
    Clock,
    approvals_for,
    demo,
    discount_draft,
    pending_discount,
    person,
    webhook_action,
)

HOOK = "http://127.0.0.1:9/hooks/discounts"


async def audit_kinds(database, draft_id: str) -> list[str]:
    async with database.session() as session:
        rows = await session.execute(
            select(AuditRecord.kind)
            .where(AuditRecord.subject_id == draft_id)
            .order_by(AuditRecord.seq)
        )
        return list(rows.scalars())


async def outbox_rows(database, draft_id: str) -> list[OutboxAction]:
    async with database.session() as session:
        rows = await session.execute(select(OutboxAction).where(OutboxAction.draft_id == draft_id))
        return list(rows.scalars())


async def test_small_discount_is_approved_automatically_with_its_actions_queued(database):
    approvals = approvals_for(database)
    draft = await discount_draft(approvals, percent=5, actions=[webhook_action(HOOK)])
    assert draft.needs().auto

    approved = await approvals.approve_automatically(
        draft_id=draft.id, reason="input.percent <= 10.0"
    )

    assert approved.state == DraftState.APPROVED
    assert approved.decided_by_email is None
    [row] = await outbox_rows(database, draft.id)
    assert row.state == "pending" and row.params == {"url": HOOK}
    assert row.draft_hash == text_hash(draft.text)
    assert await audit_kinds(database, draft.id) == ["draft.created", "draft.approved"]


async def test_one_sales_manager_approves_a_mid_discount(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=15, actions=[webhook_action(HOOK)])

    decision = await approvals.approve(
        draft_id=draft.id, approver=person(SOFIA), seen_hash=draft.short_hash
    )

    assert decision.outcome == "approved"
    assert decision.draft.state == DraftState.APPROVED
    assert decision.draft.decided_by_name == "Sofia Marino"
    assert len(await outbox_rows(database, draft.id)) == 1
    async with database.session() as session:
        record = (
            await session.execute(
                select(AuditRecord).where(
                    AuditRecord.subject_id == draft.id, AuditRecord.kind == "draft.approved"
                )
            )
        ).scalar_one()
    assert record.actor_email == SOFIA
    assert record.payload["draft_hash"] == draft.text_hash
    assert record.payload["rule"] == "input.percent <= 25.0"
    assert record.payload["rule_version"] == demo().version
    assert record.payload["from"] == "pending" and record.payload["to"] == "approved"


async def test_a_large_discount_needs_two_different_people(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=30, actions=[webhook_action(HOOK)])
    assert draft.needs().require == "all"

    first = await approvals.approve(draft_id=draft.id, approver=person(DANIEL))
    assert first.outcome == "recorded" and first.draft.state == DraftState.PENDING
    assert first.draft.missing_principals() == ["finance"]
    assert await outbox_rows(database, draft.id) == []
    with pytest.raises(ApprovalConflict, match="already approved"):
        await approvals.approve(draft_id=draft.id, approver=person(DANIEL))

    second = await approvals.approve(draft_id=draft.id, approver=person(ELENA))
    assert second.outcome == "approved"
    assert [a.email for a in second.draft.approvals] == [DANIEL, ELENA]
    assert len(await outbox_rows(database, draft.id)) == 1
    assert (await audit_kinds(database, draft.id)).count("draft.approved") == 1


async def test_requester_cannot_approve_their_own_request(database):
    approvals = approvals_for(database)
    # Sofia is a sales manager: her own 15% request needs her manager instead.
    draft = await pending_discount(approvals, percent=15, requester=SOFIA)

    with pytest.raises(AccessDenied, match="someone else"):
        await approvals.approve(draft_id=draft.id, approver=person(SOFIA))

    assert (await approvals.view(draft.id)).state == DraftState.PENDING
    decision = await approvals.approve(draft_id=draft.id, approver=person(DANIEL))
    assert decision.outcome == "approved"


async def test_someone_the_rule_does_not_name_cannot_approve(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=15)
    with pytest.raises(AccessDenied, match="Only sales-managers"):
        await approvals.approve(draft_id=draft.id, approver=person(PRIYA))
    with pytest.raises(AccessDenied):
        await approvals.reject(draft_id=draft.id, approver=person(ROSA), reason="no")
    assert (await approvals.view(draft.id)).state == DraftState.PENDING


async def test_an_edit_changes_what_executes_and_the_audit_keeps_both_versions(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=30, actions=[webhook_action(HOOK)])
    await approvals.approve(draft_id=draft.id, approver=person(DANIEL))

    edited = await approvals.edit(
        draft_id=draft.id,
        editor=person(ELENA),
        text="Alpine Co.: 30% only with net 30 terms.",
        seen_hash=draft.short_hash,
    )
    view = edited.draft
    assert view.text == "Alpine Co.: 30% only with net 30 terms."
    assert view.original_text == draft.text
    assert view.current_approvals() == ()  # Daniel approved the old text
    with pytest.raises(ApprovalConflict, match="changed after this card"):
        await approvals.approve(
            draft_id=draft.id, approver=person(DANIEL), seen_hash=draft.short_hash
        )

    await approvals.approve(draft_id=draft.id, approver=person(DANIEL), seen_hash=view.short_hash)
    final = await approvals.approve(draft_id=draft.id, approver=person(ELENA))
    assert final.outcome == "approved"
    [row] = await outbox_rows(database, draft.id)
    assert row.draft_hash == text_hash("Alpine Co.: 30% only with net 30 terms.")
    async with database.session() as session:
        record = (
            await session.execute(
                select(AuditRecord).where(
                    AuditRecord.subject_id == draft.id, AuditRecord.kind == "draft.edited"
                )
            )
        ).scalar_one()
        stored = await session.get(Draft, draft.id)
        action = approved_action(stored, row)
    assert record.payload["before"] == draft.text
    assert record.payload["after"] == "Alpine Co.: 30% only with net 30 terms."
    assert action.text == "Alpine Co.: 30% only with net 30 terms."
    assert action.approved_by == (DANIEL, ELENA)


async def test_text_changed_after_approval_is_not_executed(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=15, actions=[webhook_action(HOOK)])
    await approvals.approve(draft_id=draft.id, approver=person(SOFIA))
    async with database.session() as session:
        await session.execute(update(Draft).where(Draft.id == draft.id).values(text="50% off!"))
    async with database.session() as session:
        stored = await session.get(Draft, draft.id)
        [row] = (await session.execute(select(OutboxAction))).scalars().all()
        with pytest.raises(ApprovalConflict) as refused:
            approved_action(stored, row)
    assert "not approved as it stands" in refused.value.user_message


async def test_reject_needs_a_reason_and_records_it(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=15)
    with pytest.raises(RuleViolation, match="Say why"):
        await approvals.reject(draft_id=draft.id, approver=person(SOFIA), reason="  ")

    decision = await approvals.reject(
        draft_id=draft.id, approver=person(SOFIA), reason="Margin too thin this quarter"
    )
    assert decision.draft.state == DraftState.REJECTED
    assert decision.draft.reason == "Margin too thin this quarter"
    with pytest.raises(ApprovalConflict, match="Sofia Marino already rejected"):
        await approvals.approve(draft_id=draft.id, approver=person(SOFIA))


async def test_an_expired_draft_cannot_be_approved(database):
    clock = Clock()
    approvals = approvals_for(database, clock)
    draft = await pending_discount(approvals, percent=15, actions=[webhook_action(HOOK)])
    clock.advance(days=2, seconds=1)

    with pytest.raises(ApprovalConflict, match="expired"):
        await approvals.approve(draft_id=draft.id, approver=person(SOFIA))

    view = await approvals.view(draft.id)
    assert view.state == DraftState.EXPIRED
    # Nothing of the workflow is queued, only the requester's notice of the expiry.
    assert [r.connector for r in await outbox_rows(database, draft.id)] == [notices.EXPIRED]
    assert (await audit_kinds(database, draft.id))[-1] == "draft.expired"
    with pytest.raises(ApprovalConflict, match="expired"):
        await approvals.approve(draft_id=draft.id, approver=person(SOFIA))


async def test_twenty_simultaneous_clicks_give_one_decision(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=15, actions=[webhook_action(HOOK)])

    results = await asyncio.gather(
        *(approvals.approve(draft_id=draft.id, approver=person(SOFIA)) for _ in range(20)),
        return_exceptions=True,
    )

    decisions = [r for r in results if not isinstance(r, Exception)]
    refusals = [r for r in results if isinstance(r, Exception)]
    assert len(decisions) == 1 and decisions[0].outcome == "approved"
    assert len(refusals) == 19
    assert all(isinstance(r, ApprovalConflict) for r in refusals)
    assert all("Sofia Marino already approved" in r.user_message for r in refusals)
    assert len(await outbox_rows(database, draft.id)) == 1
    assert (await audit_kinds(database, draft.id)).count("draft.approved") == 1


async def test_two_approvers_at_once_on_a_two_person_tier_both_count(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=30, actions=[webhook_action(HOOK)])
    results = await asyncio.gather(
        approvals.approve(draft_id=draft.id, approver=person(DANIEL)),
        approvals.approve(draft_id=draft.id, approver=person(ELENA)),
    )
    assert sorted(r.outcome for r in results) == ["approved", "recorded"]
    assert len(await outbox_rows(database, draft.id)) == 1


async def test_escalation_lets_the_approvers_manager_decide(database):
    approvals = approvals_for(database)
    draft = await pending_discount(approvals, percent=15)
    with pytest.raises(AccessDenied):
        await approvals.approve(draft_id=draft.id, approver=person(MAYA))
    escalated = await approvals.escalate(draft_id=draft.id, to=[person(MAYA), person(LIAM)])
    assert escalated.escalated_to == (MAYA,)  # never the requester
    assert await approvals.escalate(draft_id=draft.id, to=[person(MAYA)]) is None
    decision = await approvals.approve(draft_id=draft.id, approver=person(MAYA))
    assert decision.outcome == "approved"
