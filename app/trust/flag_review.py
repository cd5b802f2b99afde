"""Owners decide flags: accept the correction, dismiss, or ask for the source to be updated.

Only an owner of a cited document (its `owner` group or email) or a Trellis admin decides a
flag, and never the person who raised it. Each decision is a compare-and-set on the flag's
status: of two owners clicking at once, one decides and the other is told who did. An
accepted correction becomes a curated answer resting on sources the approver may see, and a
case in the workspace's eval set (app/trust/corrections.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.records import PostedAnswer
from app.db.repositories.feedback import CuratedAnswerRepository, FlagRepository
from app.domain import AccessScope, Citation, FlagStatus, Person
from app.errors import AccessDenied, ApprovalConflict, RuleViolation
from app.knowledge.search import document_passages, get_documents
from app.services import Services
from app.text.phrasing import listed
from app.trust import corrections
from app.trust.feedback import (
    CORRECTION_LIMIT,
    STATUS_WORDS,
    FlagCase,
    get_case,
    is_admin,
    person_name,
    reread_flag,
)
from app.trust.support import supporting_citations

log = structlog.get_logger(__name__)


def check_may_decide(services: Services, case: FlagCase, person: Person) -> None:
    if person.email == case.flagger_email:
        raise AccessDenied("You raised this flag, so one of the document's owners decides on it.")
    if set(case.owners) & person.principals or is_admin(services, person):
        return
    names = services.workspace.directory.name_of
    who = listed([names(o) for o in case.owners]) or "the Trellis admins"
    raise AccessDenied(
        f"Only the owners of the cited documents ({who}) or a Trellis admin can "
        "decide on this flag."
    )


async def _decide(
    services: Services,
    session: AsyncSession,
    case: FlagCase,
    person: Person,
    status: str,
    kind: str,
    payload: dict[str, Any],
) -> None:
    flags = FlagRepository(session)
    if not await flags.change_status(
        case.id,
        expected=[FlagStatus.OPEN],
        status=status,
        now=services.clock(),
        decided_by_email=person.email,
        decided_at=services.clock(),
    ):
        flag = await reread_flag(flags, case.id)
        if flag.status == FlagStatus.WITHDRAWN:
            raise ApprovalConflict(f"{case.flagger_name} withdrew this flag.")
        raise ApprovalConflict(
            f"{person_name(services, flag.decided_by_email)} already "
            f"{STATUS_WORDS.get(flag.status, flag.status).replace('sent back', 'sent it back')} this flag."
        )
    await services.audit.append(
        session,
        kind=kind,
        subject_id=case.audit_id,
        actor_slack_id=person.slack_id,
        actor_email=person.email,
        channel_id=case.channel_id,
        payload={"flag_id": case.id, "answer_id": case.answer_id, **payload},
    )


async def decide_flag(
    services: Services, *, flag_id: str, person: Person, verdict: str
) -> FlagCase:
    """`dismiss`, or `update_source`: the document's owner is asked to fix the source."""
    case = await get_case(services, flag_id)
    check_may_decide(services, case, person)
    status = {"dismiss": FlagStatus.DISMISSED, "update_source": FlagStatus.SOURCE_UPDATE}[verdict]
    async with services.database.session() as session:
        await _decide(
            services,
            session,
            case,
            person,
            status,
            f"answer.flag_{status}",
            {
                "assigned_to": list(source_owners(case))
                if status == FlagStatus.SOURCE_UPDATE
                else []
            },
        )
    return await get_case(services, flag_id)


def source_owners(case: FlagCase) -> tuple[str, ...]:
    """Whom a source update goes to: the owners of the flagged documents."""
    return case.owners


async def accept_correction(
    services: Services, *, flag_id: str, person: Person, text: str, doc_ids: Sequence[str]
) -> tuple[FlagCase, corrections.Curated]:
    """The owner's approved answer becomes a curated answer and an eval case."""
    text = text.strip()[:CORRECTION_LIMIT]
    if not text:
        raise RuleViolation("Write the corrected answer that Trellis should give.")
    doc_ids = list(dict.fromkeys(d.strip() for d in doc_ids if d.strip()))
    if not doc_ids:
        raise RuleViolation(
            "Choose at least one source the corrected answer rests on, so "
            "Trellis only shows it to people who may see that source."
        )
    case = await get_case(services, flag_id)
    check_may_decide(services, case, person)
    citations = await _citations(services, person, text, doc_ids)
    now = services.clock()
    curated_id = str(uuid.uuid4())
    async with services.database.session() as session:
        await _decide(
            services,
            session,
            case,
            person,
            FlagStatus.ACCEPTED,
            "answer.flag_accepted",
            {"curated_id": curated_id, "doc_ids": doc_ids, "correction": text},
        )
        repository = CuratedAnswerRepository(session)
        replaced = await corrections.retire_matching(repository, case.question)
        await repository.add(
            corrections.new_curated(
                curated_id=curated_id,
                flag_id=flag_id,
                question=case.question,
                answer=text,
                citations=citations,
                approver_email=person.email,
                approver_name=person.name,
                now=now,
            )
        )
        await services.audit.append(
            session,
            kind="correction.curated",
            subject_id=case.audit_id,
            actor_slack_id=person.slack_id,
            actor_email=person.email,
            payload={
                "curated_id": curated_id,
                "flag_id": flag_id,
                "question": case.question,
                "doc_ids": doc_ids,
                "replaced": replaced,
            },
        )
    asker = await _asker(services, case)
    try:
        corrections.append_eval_case(
            services.workspace.root,
            corrections.eval_case(
                case_id=f"correction-{curated_id[:8]}",
                question=case.question,
                asker=asker,
                doc_ids=doc_ids,
            ),
        )
    except (OSError, ValueError):  # the correction stands; only the regression case is missing
        log.warning("correction_eval_case_not_written", curated=curated_id, exc_info=True)
    curated = corrections.Curated(
        id=curated_id,
        question=case.question,
        text=text,
        citations=tuple(citations),
        approved_by=person.name,
        approved_on=now,
        similarity=1.0,
    )
    return await get_case(services, flag_id), curated


async def _citations(
    services: Services, person: Person, text: str, doc_ids: Sequence[str]
) -> list[Citation]:
    """The sources as citations quoting what they say of `text`; the approver must be able
    to see every one of them, and they must support every sentence (`support.py`)."""
    scope = AccessScope.for_person(person)
    visible = {d.id for d in await get_documents(services.database, scope=scope, doc_ids=doc_ids)}
    unknown = [d for d in doc_ids if d not in visible]
    if unknown:
        raise RuleViolation(
            f"These sources don't exist or you can't see them: {', '.join(unknown)}. "
            "Use document ids from the answer's sources or the knowledge index."
        )
    passages = await document_passages(services.database, scope=scope, doc_ids=doc_ids)
    return supporting_citations(text, doc_ids, passages)


async def _asker(services: Services, case: FlagCase) -> str:
    async with services.database.session() as session:
        answer = await session.get(PostedAnswer, case.answer_id)
    return answer.asker_email if answer and answer.asker_email else case.flagger_email
