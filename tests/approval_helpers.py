"""Drafts made straight through app/approvals/service.py, for tests below the Slack layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.approvals.deadlines import Timing
from app.approvals.drafts import DraftView
from app.approvals.service import Approvals
from app.config.workspace import Workspace, default_workspace_path, load_workspace
from app.db.session import Database
from app.delivery.actions import PlannedAction
from app.domain import Person
from app.rules.requirements import ApprovalRequirement
from app.trust.audit import AuditLog

LIAM = "liam.carter@northwind.example"  # sales rep
PRIYA = "priya.nair@northwind.example"  # sales rep
SOFIA = "sofia.marino@northwind.example"  # sales manager
DANIEL = "daniel.okafor@northwind.example"  # VP sales
ELENA = "elena.petrova@northwind.example"  # finance
MAYA = "maya.lindqvist@northwind.example"  # CEO
SAM = "sam.ortiz@northwind.example"  # support agent
ROSA = "rosa.delgado@northwind.example"  # support lead, Trellis admin

_demo: Workspace | None = None


def demo() -> Workspace:
    global _demo
    if _demo is None:
        _demo = load_workspace(default_workspace_path())
    return _demo


def person(email: str) -> Person:
    found = demo().directory.by_email(email)
    assert found is not None, email
    return found


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def approvals_for(database: Database, clock: Clock | None = None) -> Approvals:
    clock = clock or Clock()
    return Approvals(database, AuditLog(database, clock=clock), clock=clock)


def webhook_action(url: str, **extra: Any) -> dict[str, Any]:
    return PlannedAction(
        "webhook", {"url": url, **extra}, {"url": url, **extra}, "notify the CRM"
    ).as_dict()


async def discount_draft(
    approvals: Approvals,
    *,
    percent: float,
    requester: str = LIAM,
    actions: list[dict[str, Any]] | None = None,
    text: str = "Alpine Co. asks for a discount on the spring order.",
    expire_after: timedelta | None = timedelta(days=2),
    needs: ApprovalRequirement | None = None,
) -> DraftView:
    """A discount request at `percent`, with the demo's approval tiers unless `needs` says
    who must approve instead."""
    workspace = demo()
    asker = person(requester)
    inputs = {"customer": "Alpine Co.", "percent": percent, "reason": "Volume commitment"}
    needs = needs or workspace.rulebook.approval_for(
        "discount_request", requester=asker, input=inputs
    )
    tier = needs.tier if needs.tier is not None else -1
    spec = workspace.rules.workflows["discount_request"].approval[tier]
    rule = spec.when.source if spec.when else "otherwise"
    return await approvals.create(
        kind="workflow",
        workflow="discount_request",
        title="Discount request",
        mode="act_after_approval",
        requester=asker,
        requester_slack_id=None,
        channel_id="C0SALES01",
        thread_ts="1.000",
        inputs=inputs,
        text=text,
        citations=[],
        confidence=0.8,
        actions=actions or [],
        requirement=needs,
        rule=rule,
        rule_version=workspace.version,
        timing=Timing(expire_after=expire_after),
    )


async def pending_discount(approvals: Approvals, **kwargs: Any) -> DraftView:
    draft = await discount_draft(approvals, **kwargs)
    return await approvals.put_before_approvers(draft_id=draft.id, notifier=FixedCard())


class FixedCard:
    """Posts every card at the same made-up place."""

    async def post_card(self, draft: DraftView) -> tuple[str, str]:
        return "C0DEALS01", "2.000"
