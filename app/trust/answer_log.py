"""What a question leaves behind: one audit record for the whole question, and a record
of each answer shown (public, and the asker's fuller private one), written in one
transaction so neither exists without the other. A refused asker leaves an audit record
too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from app.answering.compose import Reply
from app.db.models.records import PostedAnswer
from app.db.repositories.questions import ReceivedQuestionRepository
from app.db.repositories.records import AnswerRepository, AuditRepository
from app.domain import AnswerStatus, Citation, Passage, Person, Usage
from app.errors import QuestionTakenOver
from app.identity import access
from app.services import Services

if TYPE_CHECKING:
    from app.pipeline import Question


@dataclass
class StageTimer:
    """How long each stage of a question took, in ms, for its audit record."""

    stages: dict[str, float] = field(default_factory=dict)
    _start: float = field(default_factory=time.perf_counter)
    _last: float = 0.0

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = round((now - (self._last or self._start)) * 1000, 2)
        self._last = now

    def total(self) -> float:
        return round((time.perf_counter() - self._start) * 1000, 2)


async def record_refusal(
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


async def record_answers(
    services: Services,
    question: Question,
    person: Person,
    audience: access.Audience,
    audit_id: str,
    stages: dict[str, float],
    passages: Sequence[Passage],
    fuller: Sequence[Passage],
    public: Reply,
    private: Reply | None,
    status: AnswerStatus,
    *,
    message_ts: str | None,
) -> tuple[Reply, Reply | None]:
    """The audit record and the answer records, in one transaction; `message_ts` is the
    Slack message that shows the public answer, if it is shown at once. A stored question
    is marked answered in it only while this process holds it (app/answering/intake.py);
    one another process took over raises `QuestionTakenOver`, and nothing is recorded."""
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
    public_id, private_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with services.database.session() as session:
        answers = AnswerRepository(session)
        await answers.add(
            posted_answer(
                public_id, audit_id, question, person, public, private=False, message_ts=message_ts
            )
        )
        if private is not None:
            await answers.add(
                posted_answer(
                    private_id, audit_id, question, person, private, private=True, message_ts=None
                )
            )
        if question.received_id is not None:
            received = ReceivedQuestionRepository(session)
            taker = services.intake.taker
            if not await received.recorded(
                question.received_id, audit_id, taken_by=taker, shown_ts=message_ts
            ):  # its lease ran out and another process took it over: nothing is recorded
                raise QuestionTakenOver(question.received_id)
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
        model=public.model or (private.model if private else None),
    )
    public = replace(public, answer_id=public_id)
    if private is not None:
        private = replace(private, answer_id=private_id)
    return public, private


def posted_answer(
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
        channel_id=question.conversation_id,
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


async def recorded_reply(
    services: Services, *, audit_id: str, channel_id: str, message_ts: str
) -> Reply | None:
    """The public answer recorded for the question `audit_id` to show in `message_ts`, as it
    would have been shown (for a question whose process stopped before showing it)."""
    async with services.database.reading() as session:
        row = await AnswerRepository(session).by_message(channel_id, message_ts)
        record = await AuditRepository(session).get(audit_id) if row is not None else None
    if row is None or row.audit_id != audit_id:
        return None
    scope = ((record.payload if record is not None else {}).get("scope") or {}).get("label", "")
    return Reply(
        AnswerStatus(row.status),
        row.answer,
        tuple(
            Citation(doc_id=c["doc_id"], title=c["title"], quote=c["quote"], url=c.get("url"))
            for c in row.citations
        ),
        row.confidence,
        scope_label=scope,
        answer_id=row.id,
    )
