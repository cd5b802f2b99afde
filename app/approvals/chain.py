"""The workflow chain, spelled out once.

    Slack user ─► identity ─► may start ─► input ─► allowed data ─► draft ─► approval rule
               ─► card (or approved at once) ─► outbox ─► downstream system

`start_workflow` is the whole path of a workflow request, top to bottom, as
`app/pipeline.py` is for a question. Each stage lives in its own module; this file only
decides the order and what passes between them. It never sees a Slack payload: handlers
turn those into a `WorkflowRequest` and render the `WorkflowOutcome`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from app.approvals import asked, drafting, read_first
from app.approvals.deadlines import Timing
from app.approvals.drafts import DraftView
from app.delivery.actions import plan
from app.domain import Person, WorkflowStatus
from app.errors import AccessDenied, IdentityUnknown, InvalidInput, RuleViolation, SlackUnavailable
from app.rules.schema import Workflow
from app.services import Services
from app.slack_api import error_code
from app.slack_people import SlackChannel
from app.text.phrasing import who_may
from app.trust import tracing

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WorkflowRequest:
    workflow: str
    inputs: Mapping[str, Any]
    channel: SlackChannel
    slack_user_id: str | None = None
    person: Person | None = None
    thread_ts: str | None = None
    """The message whose thread the requester hears back in."""
    heard_in: str | None = None
    """The conversation of that thread, when not `channel` (the requester's direct
    messages with Trellis, for a request whose progress is private)."""


@dataclass(frozen=True)
class WorkflowOutcome:
    status: WorkflowStatus
    message: str
    draft: DraftView | None = None
    problems: Mapping[str, str] = field(default_factory=dict)
    person: Person | None = None


@dataclass(frozen=True)
class Admission:
    """A request that passed identity and the workflow's rules, or the outcome that stops it."""

    outcome: WorkflowOutcome | None
    person: Person | None = None
    workflow: Workflow | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


async def admit_workflow(services: Services, request: WorkflowRequest) -> Admission:
    """Stages 1 and 2 alone: quick enough to check a form before a modal closes."""
    rulebook = services.workspace.rulebook

    # 1. Identity: who is asking. Unknown people are refused.
    try:
        person = request.person or await services.identity.resolve(request.slack_user_id or "")
    except IdentityUnknown as refusal:
        return Admission(WorkflowOutcome(WorkflowStatus.REFUSED, refusal.user_message))

    # 2. Business rules: may this person start it, and does the input fit?
    try:
        workflow = rulebook.workflow(request.workflow)
        if not rulebook.may_start(request.workflow, person):
            raise AccessDenied(
                f"Only {who_may(workflow.started_by, services.workspace.directory.name_of)}"
                f" can start {workflow.title}. Ask one of them, or an admin."
            )
        inputs = rulebook.validate_input(request.workflow, request.inputs)
    except InvalidInput as bad:
        return Admission(
            WorkflowOutcome(
                WorkflowStatus.INVALID, bad.user_message, problems=bad.problems, person=person
            ),
            person,
        )
    except (AccessDenied, RuleViolation) as refusal:
        return Admission(
            WorkflowOutcome(WorkflowStatus.REFUSED, refusal.user_message, person=person), person
        )
    return Admission(None, person, workflow, inputs)


async def start_workflow(services: Services, request: WorkflowRequest) -> WorkflowOutcome:
    """The chain below, as one span of the request's trace (app/trust/tracing.py)."""
    with tracing.span(
        "trellis.workflow",
        {"trellis.workflow": request.workflow},
        private={"slack.user.id": request.slack_user_id},
    ) as span:
        outcome = await _start_workflow(services, request)
        tracing.attributes(
            span,
            {
                "trellis.workflow.status": outcome.status.value,
                "trellis.draft_id": outcome.draft.id if outcome.draft else None,
            },
        )
        return outcome


async def _start_workflow(services: Services, request: WorkflowRequest) -> WorkflowOutcome:
    rulebook = services.workspace.rulebook

    # 1. Identity, 2. business rules: who asks, may they, and does the input fit.
    with tracing.span("trellis.admission"):
        admission = await admit_workflow(services, request)
    if admission.outcome is not None:
        return admission.outcome
    person, workflow, inputs = admission.person, admission.workflow, admission.inputs
    assert person is not None and workflow is not None, "admit_workflow sets both on admission"

    # 3. Allowed data: only documents the requester may see.
    with tracing.span("trellis.retrieval") as span:
        passages = await drafting.allowed_passages(
            services, workflow=workflow, inputs=inputs, person=person
        )
        tracing.attributes(span, {"trellis.retrieval.passages": len(passages)})

    # 4. AI output: the draft, and what approving it will do.
    with tracing.span("trellis.draft") as span:
        draft = await drafting.compose(
            services, workflow=workflow, inputs=inputs, person=person, passages=passages
        )
        tracing.attributes(
            span,
            {"trellis.draft.citations": len(draft.citations), "trellis.draft.model": draft.model},
        )
    try:
        actions = (
            []
            if workflow.mode == "draft_only"
            else plan(
                workflow,
                inputs=inputs,
                text=draft.text,
                requester_email=person.email,
                requester_name=person.name,
            )
        )
        # 5. Approval rule: who must approve (nobody, one person, several).
        needs = rulebook.approval_for(
            request.workflow,
            requester=person,
            channel=request.channel,
            input=inputs,
            draft=draft.facts,
        )
        # Nothing goes out unread unless a model wrote it from documents.
        needs = read_first.who_reads(
            services,
            slug=request.workflow,
            workflow=workflow,
            needs=needs,
            draft=draft,
            requester=person,
        )
    except RuleViolation as refusal:
        return WorkflowOutcome(WorkflowStatus.REFUSED, refusal.user_message, person=person)
    view = await services.approvals.create(
        kind="workflow",
        workflow=request.workflow,
        title=workflow.title,
        mode=workflow.mode,
        requester=person,
        requester_slack_id=request.slack_user_id or person.slack_id,
        channel_id=request.heard_in or request.channel.id,
        thread_ts=request.thread_ts,
        inputs=inputs,
        text=draft.text,
        citations=[c.as_dict() for c in draft.citations],
        confidence=draft.confidence,
        actions=[a.as_dict() for a in actions],
        requirement=needs,
        rule=drafting.rule_for(workflow, needs),
        rule_version=services.workspace.version,
        timing=Timing(workflow.remind_after, workflow.escalate_after, workflow.expire_after),
        usage=draft.usage,
        model=draft.model,
    )

    # 6. Approved at once when nobody needs to approve; otherwise a card for the approvers.
    if needs.auto or (workflow.mode == "act" and not read_first.held(needs)):
        reason = "mode act" if workflow.mode == "act" else drafting.rule_for(workflow, needs)
        view = await services.approvals.approve_automatically(draft_id=view.id, reason=reason)
        # 7. The outbox carries the actions out; the worker was woken by the approval.
        return WorkflowOutcome(
            WorkflowStatus.APPROVED,
            f"{workflow.title} needs no approval ({reason}); Trellis is carrying it out now.",
            view,
            person=person,
        )
    try:
        readers, withheld = await asked.deciders(services, view)
        view = await services.approvals.put_before_approvers(
            draft_id=view.id, notifier=services.notifier, deciders=readers, withheld=withheld
        )
    except Exception as exc:  # saved; the scheduler posts the card once it can
        log.warning("approval_card_not_posted", draft=view.id, error=repr(exc))
        return WorkflowOutcome(WorkflowStatus.WAITING, card_not_posted(exc), view, person=person)
    if view.card_ts is None:
        return WorkflowOutcome(
            WorkflowStatus.WAITING,
            "Your request is saved and waits for approval; "
            "there is no approvals channel to post it in, so ask an approver "
            "to look at their Trellis home.",
            view,
            person=person,
        )
    return WorkflowOutcome(
        WorkflowStatus.PENDING,
        f"{workflow.title} is waiting for approval by "
        f"{drafting.approvers_text(needs, services.workspace.directory.name_of)}."
        + (f" {read_first.HELD}" if read_first.held(needs) else ""),
        view,
        person=person,
    )


def card_not_posted(error: Exception) -> str:
    """What the requester is told when the approval card could not be posted: in their
    words, not Slack's, and whether waiting will do or someone must act."""
    if isinstance(error, SlackUnavailable):
        return (
            "Your request is saved, but Slack could not be reached to post its approval "
            "card. Trellis posts it as soon as Slack answers again."
        )
    if code := error_code(error):
        return (
            f"Your request is saved, but Slack refused to post its approval card ({code}); "
            "Trellis may not be in the approvals channel. Please ask a Trellis admin to add "
            "Trellis to that channel or to check rules.yml; the card is posted once it can be."
        )
    return (
        "Your request is saved, but its approval card could not be posted yet. Trellis "
        "tries again within a minute; if the card does not appear, tell a Trellis admin."
    )
