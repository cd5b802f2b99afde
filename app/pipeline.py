"""The chain, spelled out once.

    Slack user ─► identity ─► allowed data ─► business rules ─► AI output ─► review ─► logs

`answer_question` is the whole path of a question, top to bottom. Each stage lives in its
own module; this file only decides the order and what passes between them. It never sees
a Slack payload: handlers turn those into a `Question` and render the `Outcome`. Workflow
requests have their own chain, `app/approvals/chain.py`.

One question is one unit of work: everything its answers rest on (the thread so far, the
passages, a curated answer, the day's spend) is read in one read-only transaction before
any model is asked, and its audit record and answer records are written in one write
transaction after.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.answering import budgets, gate
from app.answering.citations import verify_citations
from app.approvals import review
from app.db.models.records import PostedAnswer
from app.db.repositories.records import AnswerRepository
from app.domain import AccessScope, AnswerStatus, Citation, Passage, Person, Turn, Usage
from app.errors import IdentityUnknown
from app.identity import access
from app.knowledge.search import get_documents, search
from app.services import Services
from app.slack_api import SlackChannel
from app.trust.corrections import Curated, curated_answer_for


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
    answer_ts: str | None = None
    """The Slack message that will show the answer (the thinking indicator it replaces).
    The answer's record names it in the transaction that stores it, so a reaction on the
    answer always finds it."""


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
        return Outcome(
            audit_id, AnswerStatus.REFUSED, Reply(AnswerStatus.REFUSED, refusal.user_message)
        )
    timer.lap("identity")

    # 2. Allowed data: what everyone who will read the answer may see, and everything the
    #    answers may rest on, read at once (no transaction stays open while a model writes).
    audience = await access.audience_for(
        asker=person,
        channel=question.channel,
        slack=services.slack,
        identity=services.identity,
        private=question.private,
    )
    async with services.database.reading() as session:
        grounds = await _read_grounds(services, session, question, person, audience)
    passages, fuller, history, route = (
        grounds.passages,
        grounds.fuller,
        grounds.history,
        grounds.route,
    )
    timer.lap("retrieval")

    # 3. Business rules, 4. AI output: answer from the allowed passages only, and check it.
    public = await _compose(
        services, question.text, passages, history, audience.scope, route, grounds.curated
    )
    private = None
    if _adds_sources(fuller, passages):
        private = await _compose(
            services,
            question.text,
            fuller,
            grounds.asker_history,
            audience.asker_scope,
            route,
            grounds.asker_curated,
        )
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
            public = await _compose(
                services, question.text, passages, history, audience.scope, route, grounds.curated
            )
            held = _needs_review(services, person, question, public, passages)
    # The asker's fuller private answer follows the same review rules, on sources its
    # reviewers may read too.
    private_held = False
    if (
        private is not None
        and not held
        and _needs_review(services, person, question, private, fuller)
    ):
        reviewers = await review.reviewers_scope(services, person=person)
        readable = [p for p in fuller if reviewers.allows(p.access)]
        private = None
        if _adds_sources(readable, passages):
            private = await _compose(
                services,
                question.text,
                readable,
                history,
                audience.asker_scope,
                route,
                grounds.asker_curated,
            )
            private_held = private.status == AnswerStatus.ANSWERED
            private = private if private_held else None
    status = public.status if not private else AnswerStatus.ANSWERED
    status = AnswerStatus.NEEDS_APPROVAL if held or private_held else status

    # 6. Logs: one audit record for the whole question, written with its answer records
    #    and, when the public answer is shown at once, the Slack message that shows it.
    public, private = await _record(
        services,
        question,
        person,
        audience,
        audit_id,
        timer,
        passages,
        fuller,
        public,
        private,
        status,
        message_ts=None if held else question.answer_ts,
    )
    if private_held:
        notice = await review.hold_answer(
            services,
            person=person,
            slack_user_id=question.slack_user_id,
            channel=question.channel,
            thread_ts=question.thread_ts or question.message_ts,
            private=True,
            question=question.text,
            answer_id=private.answer_id,
            text=private.text,
            citations=private.citations,
            confidence=private.confidence,
            scope_label=private.scope_label,
        )
        private = Reply(AnswerStatus.NEEDS_APPROVAL, notice, scope_label=private.scope_label)
    if held:
        notice = await review.hold_answer(
            services,
            person=person,
            slack_user_id=question.slack_user_id,
            channel=question.channel,
            thread_ts=question.thread_ts or question.message_ts,
            private=question.private,
            question=question.text,
            answer_id=public.answer_id,
            text=public.text,
            citations=public.citations,
            confidence=public.confidence,
            scope_label=public.scope_label,
        )
        return Outcome(
            audit_id, status, Reply(status, notice, scope_label=public.scope_label), None, person
        )
    return Outcome(audit_id, status, public, private, person)


@dataclass(frozen=True)
class _Grounds:
    """What a question's answers may rest on, read in one transaction."""

    history: list[Turn]
    passages: Sequence[Passage]
    fuller: Sequence[Passage]
    """What the asker alone may see, when the audience may see less."""
    route: budgets.Route
    curated: Curated | None
    asker_history: list[Turn]
    asker_curated: Curated | None


async def _read_grounds(
    services: Services,
    session: AsyncSession,
    question: Question,
    person: Person,
    audience: access.Audience,
) -> _Grounds:
    history = await _thread_history(session, question, audience.scope)
    query = " ".join([*(t.question for t in history[-1:]), question.text])
    # Search also measures how specific each word is, and how well the best passage
    # matches, across everything this audience may see (for confidence).
    passages = await search(
        session,
        query=query,
        scope=audience.scope,
        limit=services.retrieval_limit,
        mode=services.retrieval_mode,
    )
    fuller: Sequence[Passage] = ()
    if audience.narrower_than_asker:
        fuller = await search(
            session,
            query=query,
            scope=audience.asker_scope,
            limit=services.retrieval_limit,
            mode=services.retrieval_mode,
        )
    route = await budgets.route(services, person=person, task="answer", session=session)
    # An owner-approved correction for this question, if the audience may see every source
    # it rests on, is answered before any model is asked.
    curated = await curated_answer_for(session, question=question.text, scope=audience.scope)
    asker_history, asker_curated = [], None
    if _adds_sources(fuller, passages):  # the asker will also get a fuller private answer
        asker_history = await _thread_history(session, question, audience.asker_scope)
        asker_curated = await curated_answer_for(
            session, question=question.text, scope=audience.asker_scope
        )
    return _Grounds(history, passages, fuller, route, curated, asker_history, asker_curated)


async def _compose(
    services: Services,
    text: str,
    passages: Sequence[Passage],
    history: Sequence[Turn],
    scope: AccessScope,
    route: budgets.Route,
    curated: Curated | None,
) -> Reply:
    if curated is not None:
        return Reply(
            AnswerStatus.ANSWERED,
            curated.text,
            curated.citations,
            curated.confidence,
            notes=(curated.note,),
            owners=_owners(passages, services),
            scope_label=scope.label,
            backend="curated",
        )
    owners = _owners(passages, services)
    # The gate: how likely these passages answer the question. Below the threshold no
    # model is asked at all, and the question goes to the owners.
    support = gate.confidence(gate.gate_inputs(text, passages)) if passages else 0.0
    if support <= 0.0 or support < services.min_confidence:
        return Reply(
            AnswerStatus.NO_ANSWER,
            _no_answer(owners, services),
            confidence=support,
            owners=owners,
            scope_label=scope.label,
        )
    model_answer = await route.answerer.answer(
        question=text, passages=passages, history=history, model=route.model
    )
    if route.note:
        model_answer = replace(model_answer, notes=(*model_answer.notes, route.note))
    facts = {
        "backend": model_answer.backend,
        "model": model_answer.model,
        "usage": model_answer.usage,
        "notes": model_answer.notes,
    }
    kept, _rejected = verify_citations(model_answer.citations, passages)
    # The extractive answer is the gate's own reading; a model's answer is only as good as
    # the share of it its citations carry, too.
    confidence = (
        support if model_answer.backend == "extractive" else min(support, model_answer.confidence)
    )
    if not model_answer.text.strip() or not kept or confidence < services.min_confidence:
        return Reply(
            AnswerStatus.NO_ANSWER,
            _no_answer(owners, services),
            confidence=confidence,
            owners=owners,
            scope_label=scope.label,
            **facts,
        )
    return Reply(
        AnswerStatus.ANSWERED,
        model_answer.text,
        tuple(kept),
        round(confidence, 3),
        owners=owners,
        scope_label=scope.label,
        **facts,
    )


def _needs_review(
    services: Services,
    person: Person,
    question: Question,
    reply: Reply,
    passages: Sequence[Passage],
) -> bool:
    return reply.status == AnswerStatus.ANSWERED and review.needs_review(
        services,
        person=person,
        channel=question.channel,
        text=reply.text,
        confidence=reply.confidence,
        citations=reply.citations,
        passages=passages,
    )


def _adds_sources(fuller: Sequence[Passage], passages: Sequence[Passage]) -> bool:
    return bool({p.doc_id for p in fuller} - {p.doc_id for p in passages})


def _owners(passages: Sequence[Passage], services: Services) -> tuple[str, ...]:
    owners = [p.owner for p in passages if p.owner]
    return tuple(dict.fromkeys(owners))[:3] or services.workspace.config.default_owners


def _no_answer(owners: tuple[str, ...], services: Services) -> str:
    who = ", ".join(owners) if owners else services.workspace.config.admins_hint
    return (
        "I couldn't find a well-supported answer in the documents available here, "
        "and I'd rather say so than guess. "
        f"The people who own this topic are: {who}. They can help, or add the missing document."
    )


async def _thread_history(
    session: AsyncSession, question: Question, scope: AccessScope
) -> list[Turn]:
    """Earlier answers in the thread that were posted for all to read (not private, not
    held for review) and rest only on documents `scope` may see."""
    if not question.thread_ts:
        return []
    earlier = [
        a
        for a in await AnswerRepository(session).in_thread(question.channel.id, question.thread_ts)
        if not a.private and a.message_ts
    ]
    cited = {c["doc_id"] for a in earlier for c in a.citations or ()}
    visible = {d.id for d in await get_documents(session, scope=scope, doc_ids=cited)}
    return [
        Turn(a.question, a.answer)
        for a in earlier
        if {c["doc_id"] for c in a.citations or ()} <= visible
    ][-5:]


async def _audit_refusal(
    services: Services, question: Question, audit_id: str, reason: str
) -> None:
    await services.audit.record(
        kind="question.refused",
        record_id=audit_id,
        subject_id=audit_id,
        actor_slack_id=question.slack_user_id,
        channel_id=question.channel.id,
        payload={
            "question": question.text,
            "reason": reason,
            "status": "refused",
            "version": services.workspace.version,
        },
    )


async def _record(
    services: Services,
    question: Question,
    person: Person,
    audience: access.Audience,
    audit_id: str,
    timer: _Timer,
    passages: Sequence[Passage],
    fuller: Sequence[Passage],
    public: Reply,
    private: Reply | None,
    status: AnswerStatus,
    *,
    message_ts: str | None,
) -> tuple[Reply, Reply | None]:
    """The audit record and the answer records, in one transaction; `message_ts` is the
    Slack message that shows the public answer, if it is shown at once."""
    stages = dict(timer.stages, total=timer.total())
    usage = public.usage + (private.usage if private else Usage())
    payload = {
        "question": question.text,
        "person": {"email": person.email, "name": person.name, "groups": sorted(person.groups)},
        "channel": {
            "id": audience.channel.id,
            "label": audience.channel.label,
            "readers": audience.readers,
            "outsiders": audience.outsiders,
        },
        "scope": {"label": audience.scope.label, "viewers": audience.scope.describe()},
        "retrieved": [
            {"doc_id": p.doc_id, "chunk_id": p.chunk_id, "score": round(p.score, 4)}
            for p in passages
        ],
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
        await answers.add(
            _posted(
                public_id, audit_id, question, person, public, private=False, message_ts=message_ts
            )
        )
        if private is not None:
            await answers.add(
                _posted(
                    private_id, audit_id, question, person, private, private=True, message_ts=None
                )
            )
        await services.audit.append(
            session,
            kind="question",
            record_id=audit_id,
            subject_id=audit_id,
            actor_slack_id=question.slack_user_id or person.slack_id,
            actor_email=person.email,
            channel_id=audience.channel.id,
            payload=payload,
        )
    services.metrics.observe_question(
        status=status.value,
        stages_ms=stages,
        confidence=public.confidence,
        usage=usage,
        model=payload["model"],
    )
    public = Reply(**{**public.__dict__, "answer_id": public_id})
    if private is not None:
        private = Reply(**{**private.__dict__, "answer_id": private_id})
    return public, private


def _posted(
    answer_id: str,
    audit_id: str,
    question: Question,
    person: Person,
    reply: Reply,
    *,
    private: bool,
    message_ts: str | None,
) -> PostedAnswer:
    return PostedAnswer(
        id=answer_id,
        audit_id=audit_id,
        channel_id=question.channel.id,
        thread_ts=question.thread_ts or question.message_ts or message_ts,
        message_ts=message_ts,
        asker_slack_id=question.slack_user_id,
        asker_email=person.email,
        question=question.text,
        answer=reply.text,
        status=reply.status.value,
        confidence=reply.confidence,
        citations=[c.as_dict() for c in reply.citations],
        private=private,
    )
