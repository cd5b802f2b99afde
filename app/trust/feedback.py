"""Flags, corrections and feedback: people tell Trellis when an answer is wrong or helpful.

Flags. A reaction from `flags.reactions` (trellis.yml) on a posted Trellis answer by someone
in `flags.flaggers` records a flag: one per answer and person, however many flag emoji they
add. Reactions by anyone else, and reactions on other messages, are ignored. The flag goes
to the owners of the cited documents (see app/trust/owners.py), and the flagger is asked what is
wrong: the correct answer, and which source is wrong or missing. The asker's flag on a
reply saying only they are shown the answer is a flag on their private answer (its text,
sources and owners); anyone else is told only the asker can flag it (`answer_flagged`).

Removed reactions. Removing one's last flag emoji withdraws an open flag that has no note
yet: the flagger changed their mind before saying anything. Once they have said what is
wrong, or an owner has decided, removing the emoji changes nothing: the note stands.
Adding a flag emoji again reopens a withdrawn flag.

Decisions. The documents' owners decide what happens to a flag: see app/trust/flag_review.py.

Feedback. Helpful / Not helpful is kept once per person and answer; clicking the other
button changes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.feedback import Flag
from app.db.models.records import PostedAnswer
from app.db.repositories.feedback import AnswerFeedbackRepository, FlagRepository
from app.db.repositories.records import AnswerRepository
from app.domain import AnswerStatus, FlagStatus, Person
from app.errors import AccessDenied, ApprovalConflict, RuleViolation
from app.knowledge.search import get_documents
from app.services import Services

MISSING_SOURCE = "missing"
ASKER_ONLY_FLAG = "Only the person who asked was shown this answer, so only they can flag it."
CORRECTION_LIMIT = 2800

STATUS_WORDS: dict[str, str] = {
    FlagStatus.ACCEPTED: "accepted",
    FlagStatus.DISMISSED: "dismissed",
    FlagStatus.SOURCE_UPDATE: "sent back for a source update",
    FlagStatus.WITHDRAWN: "withdrawn",
}


@dataclass(frozen=True)
class FlagCase:
    """A flag with the answer it is about: what owners and the flagger are shown."""

    id: str
    status: str
    answer_id: str
    audit_id: str
    question: str
    answer: str
    citations: tuple[dict[str, Any], ...]
    channel_id: str
    thread_ts: str | None
    message_ts: str | None
    flagger_email: str
    flagger_name: str
    flagger_slack_id: str | None
    correction: str | None
    wrong_source: str | None
    owners: tuple[str, ...]
    doc_ids: tuple[str, ...]
    notices: tuple[dict[str, Any], ...]
    decided_by: str | None

    def source_title(self, doc_id: str | None) -> str | None:
        if doc_id == MISSING_SOURCE:
            return "a source is missing"
        return next(
            (c.get("title") or doc_id for c in self.citations if c["doc_id"] == doc_id), doc_id
        )


@dataclass(frozen=True)
class FlagRecorded:
    case: FlagCase
    created: bool
    """True for a new (or reopened) flag: owners are told and the flagger is asked why."""


def is_flag_reaction(services: Services, reaction: str) -> bool:
    base = reaction.split("::", 1)[0].strip(":")
    return base in services.workspace.config.flags.reactions


def may_flag(services: Services, person: Person) -> bool:
    return bool(set(services.workspace.config.flags.flaggers) & person.principals)


def is_admin(services: Services, person: Person) -> bool:
    return bool(set(services.workspace.config.admins) & person.principals)


def person_name(services: Services, email: str | None) -> str:
    person = services.workspace.directory.by_email(email)
    return person.name if person else (email or "someone")


def _case(services: Services, flag: Flag, answer: PostedAnswer) -> FlagCase:
    return FlagCase(
        id=flag.id,
        status=flag.status,
        answer_id=answer.id,
        audit_id=answer.audit_id,
        question=answer.question,
        answer=answer.answer,
        citations=tuple(answer.citations or ()),
        channel_id=answer.channel_id,
        thread_ts=answer.thread_ts,
        message_ts=answer.message_ts,
        flagger_email=flag.flagger_email,
        flagger_name=person_name(services, flag.flagger_email),
        flagger_slack_id=flag.flagger_slack_id,
        correction=flag.correction,
        wrong_source=flag.wrong_source,
        owners=tuple(flag.owners or ()),
        doc_ids=tuple(flag.doc_ids or ()),
        notices=tuple(flag.notices or ()),
        decided_by=person_name(services, flag.decided_by_email) if flag.decided_by_email else None,
    )


FLAG_GONE = (
    "I can't find that flag any more. It may have been removed; "
    "flag the answer again if it is still wrong."
)


async def get_case(services: Services, flag_id: str) -> FlagCase:
    async with services.database.session() as session:
        flag = await FlagRepository(session).get(flag_id)
        answer = await session.get(PostedAnswer, flag.answer_id) if flag else None
    if flag is None or answer is None:
        raise RuleViolation(FLAG_GONE)
    return _case(services, flag, answer)


async def reread_flag(flags: FlagRepository, flag_id: str) -> Flag:
    """A flag this transaction has already seen, as stored now (flags are never deleted)."""
    flag = await flags.get(flag_id)
    assert flag is not None, f"flag {flag_id} disappeared"
    return flag


# --- Reactions -------------------------------------------------------------------------


async def flag_answer(
    services: Services, *, channel_id: str, message_ts: str, reactor_slack_id: str, reaction: str
) -> FlagRecorded | None:
    """Record a flag, or None when this reaction is not a flag (see the module docstring)."""
    if not is_flag_reaction(services, reaction):
        return None
    identity = await services.identity.identify(reactor_slack_id)
    person = identity.person
    if person is None or not may_flag(services, person):
        return None
    now = services.clock()
    async with services.database.session() as session:
        answer = await answer_flagged(session, channel_id, message_ts, person)
        if answer is None:
            return None
        doc_ids = list(dict.fromkeys(c["doc_id"] for c in answer.citations or ()))
        owners = await _owners_of(session, doc_ids)
        flags = FlagRepository(session)
        created = await flags.insert_if_absent(
            {
                "id": str(uuid.uuid4()),
                "answer_id": answer.id,
                "audit_id": answer.audit_id,
                "flagger_email": person.email,
                "flagger_slack_id": reactor_slack_id,
                "reactions": [reaction],
                "status": FlagStatus.OPEN,
                "doc_ids": doc_ids,
                "owners": owners,
                "notices": [],
                "created_at": now,
                "updated_at": now,
            }
        )
        flag = await flags.find(answer.id, person.email)
        assert flag is not None, "the flag was inserted, or already there"
        if not created:
            reopened = await flags.change_status(
                flag.id,
                expected=[FlagStatus.WITHDRAWN],
                status=FlagStatus.OPEN,
                now=now,
                notices=[],
                reactions=[reaction],
            )
            if not reopened:
                flag.reactions = sorted({*(flag.reactions or ()), reaction})
                await session.flush()
            created = reopened
            flag = await reread_flag(flags, flag.id)
        if created:
            await services.audit.append(
                session,
                kind="answer.flagged",
                subject_id=answer.audit_id,
                actor_slack_id=reactor_slack_id,
                actor_email=person.email,
                channel_id=channel_id,
                payload={
                    "flag_id": flag.id,
                    "answer_id": answer.id,
                    "reaction": reaction,
                    "doc_ids": doc_ids,
                    "owners": owners,
                },
            )
        return FlagRecorded(_case(services, flag, answer), created)


async def answer_flagged(
    session: AsyncSession, channel_id: str, message_ts: str, person: Person
) -> PostedAnswer | None:
    """The answer a flag emoji on the message `message_ts` is about. A reply telling the
    conversation that only the asker is shown the answer (`compose.for_asker_only`) stands
    for the asker's private answer: their flag is about that answer, its sources and its
    owners. Nobody else saw that answer: their flag on the reply is refused (AccessDenied)."""
    answers = AnswerRepository(session)
    shown = await answers.by_message(channel_id, message_ts)
    if shown is None or shown.private:
        return None
    if shown.status != AnswerStatus.NO_ANSWER:
        return shown
    private = await answers.answered_privately(shown.audit_id)
    if private is None:
        return shown
    if (shown.asker_email or "").lower() != person.email.lower():
        raise AccessDenied(ASKER_ONLY_FLAG)
    return private


async def _owners_of(session: AsyncSession, doc_ids: Sequence[str]) -> list[str]:
    documents = await get_documents(session, doc_ids=doc_ids)
    return list(dict.fromkeys(d.owner for d in documents if d.owner))


async def unflag_answer(
    services: Services, *, channel_id: str, message_ts: str, reactor_slack_id: str, reaction: str
) -> FlagCase | None:
    """A removed flag emoji; returns the flag when this withdrew it."""
    if not is_flag_reaction(services, reaction):
        return None
    identity = await services.identity.identify(reactor_slack_id)
    if identity.person is None:
        return None
    async with services.database.session() as session:
        try:
            answer = await answer_flagged(session, channel_id, message_ts, identity.person)
        except AccessDenied:  # nothing was flagged
            return None
        if answer is None:
            return None
        flags = FlagRepository(session)
        flag = await flags.find(answer.id, identity.person.email)
        if flag is None:
            return None
        remaining = [r for r in flag.reactions or () if r != reaction]
        flag.reactions = remaining
        await session.flush()
        if remaining or flag.status != FlagStatus.OPEN or flag.correction:
            return None
        if not await flags.change_status(
            flag.id, expected=[FlagStatus.OPEN], status=FlagStatus.WITHDRAWN, now=services.clock()
        ):
            return None
        await services.audit.append(
            session,
            kind="answer.flag_withdrawn",
            subject_id=answer.audit_id,
            actor_slack_id=reactor_slack_id,
            actor_email=identity.person.email,
            channel_id=channel_id,
            payload={"flag_id": flag.id, "answer_id": answer.id},
        )
        return _case(services, await reread_flag(flags, flag.id), answer)


async def remember_notices(
    services: Services, *, flag_id: str, notices: Sequence[dict[str, Any]]
) -> None:
    async with services.database.session() as session:
        flag = await FlagRepository(session).get(flag_id)
        if flag is not None:
            flag.notices = [*(flag.notices or ()), *notices]


# --- What the flagger says -------------------------------------------------------------


async def explain_flag(
    services: Services, *, flag_id: str, person: Person, correction: str, wrong_source: str | None
) -> FlagCase:
    correction = correction.strip()[:CORRECTION_LIMIT]
    if not correction:
        raise RuleViolation("Please write what the correct answer is.")
    async with services.database.session() as session:
        flags = FlagRepository(session)
        flag = await flags.get(flag_id)
        if flag is None or flag.flagger_email != person.email:
            raise AccessDenied(
                "Only the person who flagged this answer can say what is wrong with it."
            )
        answer = await session.get(PostedAnswer, flag.answer_id)
        if answer is None:
            raise RuleViolation(FLAG_GONE)
        if (
            wrong_source
            and wrong_source != MISSING_SOURCE
            and wrong_source not in (flag.doc_ids or ())
        ):
            raise RuleViolation("Pick one of the answer's sources, or “a source is missing”.")
        changed = await flags.change_status(
            flag_id,
            expected=[FlagStatus.OPEN, FlagStatus.WITHDRAWN],
            status=FlagStatus.OPEN,
            now=services.clock(),
            correction=correction,
            wrong_source=wrong_source,
        )
        if not changed:
            flag = await reread_flag(flags, flag_id)
            raise ApprovalConflict(
                f"This flag was already {STATUS_WORDS.get(flag.status, flag.status)} by "
                f"{person_name(services, flag.decided_by_email)}, so your note was not added."
            )
        await services.audit.append(
            session,
            kind="answer.flag_explained",
            subject_id=answer.audit_id,
            actor_slack_id=flag.flagger_slack_id,
            actor_email=person.email,
            channel_id=answer.channel_id,
            payload={"flag_id": flag_id, "correction": correction, "wrong_source": wrong_source},
        )
        return _case(services, await reread_flag(flags, flag_id), answer)


# --- Helpful / Not helpful -------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackRecorded:
    helpful: bool
    previous: bool | None
    """The person's earlier verdict on this answer, None the first time."""

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous != self.helpful


async def record_feedback(
    services: Services, *, answer_id: str, person: Person, helpful: bool
) -> FeedbackRecorded:
    async with services.database.session() as session:
        answer = await session.get(PostedAnswer, answer_id)
        if answer is None:
            raise RuleViolation(
                "I can't find that answer any more, so I couldn't record your feedback."
            )
        previous = await AnswerFeedbackRepository(session).record(
            feedback_id=str(uuid.uuid4()),
            answer_id=answer_id,
            person_email=person.email,
            helpful=helpful,
            now=services.clock(),
        )
        if previous != helpful:
            await services.audit.append(
                session,
                kind="answer.feedback",
                subject_id=answer.audit_id,
                actor_slack_id=person.slack_id,
                actor_email=person.email,
                channel_id=answer.channel_id,
                payload={
                    "answer_id": answer_id,
                    "helpful": helpful,
                    "previous": previous,
                    "status": answer.status,
                },
            )
    return FeedbackRecorded(helpful, previous)
