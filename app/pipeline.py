"""The chain, spelled out once.

    Slack user ─► identity ─► allowed data ─► business rules ─► AI output ─► review ─► logs

`answer_question` is the whole path of a question, top to bottom. Each stage lives in its
own module; this file only decides the order and what passes between them. It never sees
a Slack payload: handlers turn those into a `Question` and render the `Outcome`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.answering import budgets, gate
from app.answering.citations import verify_citations
from app.approvals import drafting, review
from app.approvals.drafts import DraftView
from app.approvals.service import Timing
from app.db.models.records import PostedAnswer
from app.db.repositories.records import AnswerRepository
from app.delivery.actions import plan
from app.domain import (
    AccessScope,
    AnswerStatus,
    Citation,
    Passage,
    Person,
    Turn,
    Usage,
)
from app.errors import AccessDenied, IdentityUnknown, RuleViolation
from app.identity import access
from app.knowledge.search import get_documents, search
from app.rules.rulebook import InvalidInput, Workflow
from app.services import Services
from app.slack_api import SlackChannel
from app.trust import feedback


@dataclass(frozen=True)
class Question:
    text: str
    channel: SlackChannel
    slack_user_id: str | None = None
    person: Person | None = None
    """Set when the asker is already known (the CLI's --as); otherwise resolved from Slack."""
    thread_ts: str | None = None
    message_ts: str | None = None
    private: bool = False
    """Only the asker will see the answer, so their own scope applies."""


@dataclass(frozen=True)
class Reply:
    """One answer as a reader will see it."""

    status: AnswerStatus
    text: str
    citations: tuple[Citation, ...] = ()
    confidence: float = 0.0
    notes: tuple[str, ...] = ()
    scope_label: str = ""
    owners: tuple[str, ...] = ()
    answer_id: str | None = None
    backend: str | None = None
    model: str | None = None
    usage: Usage = Usage()


@dataclass(frozen=True)
class Outcome:
    audit_id: str
    status: AnswerStatus
    public: Reply
    private: Reply | None = None
    person: Person | None = None


@dataclass
class _Timer:
    stages: dict[str, float] = field(default_factory=dict)
    _start: float = field(default_factory=time.perf_counter)
    _last: float = 0.0

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = round((now - (self._last or self._start)) * 1000, 2)
        self._last = now

    def total(self) -> float:
        return round((time.perf_counter() - self._start) * 1000, 2)


async def answer_question(services: Services, question: Question) -> Outcome:
    timer = _Timer()
    audit_id = str(uuid.uuid4())

    # 1. Identity: who is asking. Unknown people are refused, and the refusal is audited.
    try:
        person = question.person or await services.identity.resolve(question.slack_user_id or "")
    except IdentityUnknown as refusal:
        await _audit_refusal(services, question, audit_id, str(refusal))
        services.metrics.questions.labels(status=AnswerStatus.REFUSED.value).inc()
        return Outcome(audit_id, AnswerStatus.REFUSED,
                       Reply(AnswerStatus.REFUSED, refusal.user_message))
    timer.lap("identity")

    # 2. Allowed data: what everyone who will read the answer may see.
    audience = await access.audience_for(asker=person, channel=question.channel,
                                         slack=services.slack, identity=services.identity,
                                         private=question.private)
    history = await _thread_history(services, question, audience.scope)
    query = " ".join([*(t.question for t in history[-1:]), question.text])
    # Search also measures how specific each word is, and how well the best passage
    # matches, across everything this audience may see (for confidence).
    passages = await search(services.database, query=query, scope=audience.scope,
                            limit=services.retrieval_limit, mode=services.retrieval_mode)
    fuller: Sequence[Passage] = ()
    if audience.narrower_than_asker:
        fuller = await search(services.database, query=query, scope=audience.asker_scope,
                              limit=services.retrieval_limit, mode=services.retrieval_mode)
    timer.lap("retrieval")

    # 3. Business rules, 4. AI output: answer from the allowed passages only, and check it.
    route = await budgets.route(services, person=person, task="answer")
    public = await _compose(services, question.text, passages, history, audience.scope, route)
    private = None
    if _adds_sources(fuller, passages):
        asker_history = await _thread_history(services, question, audience.asker_scope)
        private = await _compose(services, question.text, fuller, asker_history, audience.asker_scope,
                                 route)
        if private.status != AnswerStatus.ANSWERED:
            private = None
    timer.lap("answer")

    # 5. Review: an answer the rules mark as sensitive waits for a reviewer, and rests only
    #    on sources the reviewers may read too (otherwise it is answered from fewer).
    held = _needs_review(services, person, question, public, passages)
    if held:
        reviewers = await review.reviewers_scope(services, person=person)
        readable = [p for p in passages if reviewers.allows(p.access)]
        if len(readable) < len(passages):
            passages = readable
            public = await _compose(services, question.text, passages, history, audience.scope,
                                    route)
            held = _needs_review(services, person, question, public, passages)
    # The asker's fuller private answer follows the same review rules, on sources its
    # reviewers may read too.
    private_held = False
    if private is not None and not held and _needs_review(services, person, question, private,
                                                          fuller):
        reviewers = await review.reviewers_scope(services, person=person)
        readable = [p for p in fuller if reviewers.allows(p.access)]
        private = None
        if _adds_sources(readable, passages):
            private = await _compose(services, question.text, readable, history,
                                     audience.asker_scope, route)
            private_held = private.status == AnswerStatus.ANSWERED
            private = private if private_held else None
    status = public.status if not private else AnswerStatus.ANSWERED
    status = AnswerStatus.NEEDS_APPROVAL if held or private_held else status

    # 6. Logs: one audit record for the whole question.
    public, private = await _record(services, question, person, audience, audit_id, timer,
                                    passages, fuller, public, private, status)
    if private_held:
        notice = await review.hold_answer(
            services, person=person, slack_user_id=question.slack_user_id,
            channel=question.channel, thread_ts=question.thread_ts or question.message_ts,
            private=True, question=question.text, answer_id=private.answer_id,
            text=private.text, citations=private.citations, confidence=private.confidence,
            scope_label=private.scope_label)
        private = Reply(AnswerStatus.NEEDS_APPROVAL, notice, scope_label=private.scope_label)
    if held:
        notice = await review.hold_answer(
            services, person=person, slack_user_id=question.slack_user_id,
            channel=question.channel, thread_ts=question.thread_ts or question.message_ts,
            private=question.private, question=question.text, answer_id=public.answer_id,
            text=public.text, citations=public.citations, confidence=public.confidence,
            scope_label=public.scope_label)
        return Outcome(audit_id, status, Reply(status, notice, scope_label=public.scope_label),
                       None, person)
    return Outcome(audit_id, status, public, private, person)


async def _compose(services: Services, text: str, passages: Sequence[Passage],
                   history: Sequence[Turn], scope: AccessScope, route: budgets.Route) -> Reply:
    # Before the model: an owner-approved correction for this question, if the audience may
    # see every source it rests on.
    curated = await feedback.curated_answer_for(services.database, question=text, scope=scope)
    if curated is not None:
        return Reply(AnswerStatus.ANSWERED, curated.text, curated.citations,
                     curated.confidence, notes=(curated.note,),
                     owners=_owners(passages, services), scope_label=scope.label,
                     backend="curated")
    owners = _owners(passages, services)
    # The gate: how likely these passages answer the question. Below the threshold no
    # model is asked at all, and the question goes to the owners.
    support = gate.confidence(gate.gate_inputs(text, passages)) if passages else 0.0
    if support <= 0.0 or support < services.min_confidence:
        return Reply(AnswerStatus.NO_ANSWER, services.no_answer_message(owners),
                     confidence=support, owners=owners, scope_label=scope.label)
    model_answer = await route.answerer.answer(
        question=text, passages=passages, history=history, model=route.model)
    if route.note:
        model_answer = replace(model_answer, notes=(*model_answer.notes, route.note))
    facts = {"backend": model_answer.backend, "model": model_answer.model,
             "usage": model_answer.usage, "notes": model_answer.notes}
    kept, _rejected = verify_citations(model_answer.citations, passages)
    # The extractive answer is the gate's own reading; a model's answer is only as good as
    # the share of it its citations carry, too.
    confidence = support if model_answer.backend == "extractive" else min(
        support, model_answer.confidence)
    if not model_answer.text.strip() or not kept or confidence < services.min_confidence:
        return Reply(AnswerStatus.NO_ANSWER, services.no_answer_message(owners),
                     confidence=confidence, owners=owners, scope_label=scope.label, **facts)
    return Reply(AnswerStatus.ANSWERED, model_answer.text, tuple(kept),
                 round(confidence, 3), owners=owners, scope_label=scope.label, **facts)


def _needs_review(services: Services, person: Person, question: Question, reply: Reply,
                  passages: Sequence[Passage]) -> bool:
    return reply.status == AnswerStatus.ANSWERED and review.needs_review(
        services, person=person, channel=question.channel, text=reply.text,
        confidence=reply.confidence, citations=reply.citations, passages=passages)


def _adds_sources(fuller: Sequence[Passage], passages: Sequence[Passage]) -> bool:
    return bool({p.doc_id for p in fuller} - {p.doc_id for p in passages})


def _owners(passages: Sequence[Passage], services: Services) -> tuple[str, ...]:
    owners = [p.owner for p in passages if p.owner]
    return tuple(dict.fromkeys(owners))[:3] or services.default_owners


async def _thread_history(services: Services, question: Question,
                          scope: AccessScope) -> list[Turn]:
    """Earlier answers in the thread that were posted for all to read (not private, not
    held for review) and rest only on documents `scope` may see."""
    if not question.thread_ts:
        return []
    async with services.database.session() as session:
        earlier = [a for a in await AnswerRepository(session).in_thread(
            question.channel.id, question.thread_ts) if not a.private and a.message_ts]
        cited = {c["doc_id"] for a in earlier for c in a.citations or ()}
        visible = {d.id for d in await get_documents(session, scope=scope, doc_ids=cited)}
    return [Turn(a.question, a.answer) for a in earlier
            if {c["doc_id"] for c in a.citations or ()} <= visible][-5:]


async def _audit_refusal(services: Services, question: Question, audit_id: str, reason: str) -> None:
    await services.audit.record(
        kind="question.refused", record_id=audit_id, subject_id=audit_id,
        actor_slack_id=question.slack_user_id, channel_id=question.channel.id,
        payload={"question": question.text, "reason": reason, "status": "refused",
                 "version": services.workspace.version})


async def _record(services: Services, question: Question, person: Person, audience: access.Audience,
                  audit_id: str, timer: _Timer, passages: Sequence[Passage],
                  fuller: Sequence[Passage], public: Reply, private: Reply | None,
                  status: AnswerStatus) -> tuple[Reply, Reply | None]:
    stages = dict(timer.stages, total=timer.total())
    usage = public.usage + (private.usage if private else Usage())
    payload = {
        "question": question.text,
        "person": {"email": person.email, "name": person.name, "groups": sorted(person.groups)},
        "channel": {"id": audience.channel.id, "label": audience.channel.label,
                    "readers": audience.readers, "outsiders": audience.outsiders},
        "scope": {"label": audience.scope.label, "viewers": audience.scope.describe()},
        "retrieved": [{"doc_id": p.doc_id, "chunk_id": p.chunk_id, "score": round(p.score, 4)}
                      for p in passages],
        "cited": [c.doc_id for c in public.citations],
        "status": status.value,
        "public_status": public.status.value,
        "confidence": round(public.confidence, 4),
        "notes": list(public.notes),
        "backend": public.backend or (private.backend if private else None),
        "model": public.model or (private.model if private else None),
        "usage": usage.__dict__,
        "latency_ms": stages,
        "version": services.workspace.version,
    }
    if private is not None:
        payload["private"] = {
            "scope": audience.asker_scope.describe(),
            "retrieved": [p.doc_id for p in fuller],
            "cited": [c.doc_id for c in private.citations],
            "confidence": round(private.confidence, 4),
        }
    public_id, private_id = str(uuid.uuid4()), str(uuid.uuid4()) if private else None
    async with services.database.session() as session:
        answers = AnswerRepository(session)
        await answers.add(_posted(public_id, audit_id, question, person, public, private=False))
        if private is not None:
            await answers.add(_posted(private_id, audit_id, question, person, private, private=True))
        await services.audit.append(
            session, kind="question", record_id=audit_id, subject_id=audit_id,
            actor_slack_id=question.slack_user_id or person.slack_id, actor_email=person.email,
            channel_id=audience.channel.id, payload=payload)
    services.metrics.observe_question(status=status.value, stages_ms=stages,
                                      confidence=public.confidence, usage=usage,
                                      model=payload["model"])
    public = Reply(**{**public.__dict__, "answer_id": public_id})
    if private is not None:
        private = Reply(**{**private.__dict__, "answer_id": private_id})
    return public, private


def _posted(answer_id: str, audit_id: str, question: Question, person: Person, reply: Reply,
            *, private: bool) -> PostedAnswer:
    return PostedAnswer(
        id=answer_id, audit_id=audit_id, channel_id=question.channel.id,
        thread_ts=question.thread_ts or question.message_ts, asker_slack_id=question.slack_user_id,
        asker_email=person.email, question=question.text, answer=reply.text,
        status=reply.status.value, confidence=reply.confidence,
        citations=[c.as_dict() for c in reply.citations], private=private)


# --- Workflows ---------------------------------------------------------------------------
#
#   Slack user ─► identity ─► may start ─► input ─► allowed data ─► draft ─► approval rule
#              ─► card (or approved at once) ─► outbox ─► downstream system


@dataclass(frozen=True)
class WorkflowRequest:
    workflow: str
    inputs: Mapping[str, Any]
    channel: SlackChannel
    slack_user_id: str | None = None
    person: Person | None = None
    thread_ts: str | None = None
    """The message whose thread the requester hears back in."""


@dataclass(frozen=True)
class WorkflowOutcome:
    """`status`: refused, invalid, pending (a card awaits approvers), approved (no approval
    needed; the outbox carries it out), waiting (saved, but no card could be posted yet)."""

    status: str
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
    inputs: Mapping[str, Any] = field(default_factory=dict)


async def admit_workflow(services: Services, request: WorkflowRequest) -> Admission:
    """Stages 1 and 2 alone: quick enough to check a form before a modal closes."""
    rulebook = services.workspace.rulebook

    # 1. Identity: who is asking. Unknown people are refused.
    try:
        person = request.person or await services.identity.resolve(request.slack_user_id or "")
    except IdentityUnknown as refusal:
        return Admission(WorkflowOutcome("refused", refusal.user_message))

    # 2. Business rules: may this person start it, and does the input fit?
    try:
        workflow = rulebook.workflow(request.workflow)
        if not rulebook.may_start(request.workflow, person):
            raise AccessDenied(f"Only {', '.join(workflow.started_by)} can start "
                               f"{workflow.title}. Ask one of them, or an admin.")
        inputs = rulebook.validate_input(request.workflow, request.inputs)
    except InvalidInput as bad:
        return Admission(WorkflowOutcome("invalid", bad.user_message, problems=bad.problems,
                                         person=person), person)
    except (AccessDenied, RuleViolation) as refusal:
        return Admission(WorkflowOutcome("refused", refusal.user_message, person=person), person)
    return Admission(None, person, workflow, inputs)


async def start_workflow(services: Services, request: WorkflowRequest) -> WorkflowOutcome:
    rulebook = services.workspace.rulebook

    # 1. Identity, 2. business rules: who asks, may they, and does the input fit.
    admission = await admit_workflow(services, request)
    if admission.outcome is not None:
        return admission.outcome
    person, workflow, inputs = admission.person, admission.workflow, admission.inputs

    # 3. Allowed data: only documents the requester may see.
    passages = await drafting.allowed_passages(services, workflow=workflow, inputs=inputs,
                                               person=person)

    # 4. AI output: the draft, and what approving it will do.
    draft = await drafting.compose(services, workflow=workflow, inputs=inputs, person=person,
                                   passages=passages)
    try:
        actions = [] if workflow.mode == "draft_only" else plan(
            workflow, inputs=inputs, text=draft.text, requester_email=person.email,
            requester_name=person.name)
        # 5. Approval rule: who must approve (nobody, one person, several).
        needs = rulebook.approval_for(request.workflow, requester=person,
                                      channel=request.channel, input=inputs, draft=draft.facts)
    except RuleViolation as refusal:
        return WorkflowOutcome("refused", refusal.user_message, person=person)
    view = await services.approvals.create(
        kind="workflow", workflow=request.workflow, title=workflow.title, mode=workflow.mode,
        requester=person, requester_slack_id=request.slack_user_id or person.slack_id,
        channel_id=request.channel.id, thread_ts=request.thread_ts, inputs=inputs,
        text=draft.text, citations=[c.as_dict() for c in draft.citations],
        confidence=draft.confidence, actions=[a.as_dict() for a in actions], requirement=needs,
        rule=drafting.rule_for(workflow, needs), rule_version=services.workspace.version,
        timing=Timing(workflow.remind_after, workflow.escalate_after, workflow.expire_after),
        usage=draft.usage, model=draft.model)

    # 6. Approved at once when nobody needs to approve; otherwise a card for the approvers.
    if needs.auto or workflow.mode == "act":
        reason = "mode act" if workflow.mode == "act" else drafting.rule_for(workflow, needs)
        view = await services.approvals.approve_automatically(draft_id=view.id, reason=reason)
        # 7. The outbox carries the actions out; the worker was woken by the approval.
        return WorkflowOutcome("approved", f"{workflow.title} needs no approval ({reason}); "
                               "Trellis is carrying it out now.", view, person=person)
    try:
        view = await services.approvals.put_before_approvers(draft_id=view.id,
                                                             notifier=services.notifier)
    except Exception as exc:  # saved; the scheduler posts the card when Slack is back
        return WorkflowOutcome("waiting", "Your request is saved, but its approval card could "
                               f"not be posted yet ({exc}). Trellis will post it shortly.",
                               view, person=person)
    if view.card_ts is None:
        return WorkflowOutcome("waiting", "Your request is saved and waits for approval; "
                               "there is no approvals channel to post it in, so ask an approver "
                               "to look at their Trellis home.", view, person=person)
    return WorkflowOutcome("pending", f"{workflow.title} is waiting for approval by "
                           f"{drafting.approvers_text(needs)}.", view, person=person)
