"""Telling document owners: flags, questions nobody could answer, conflicts, dead letters.

Where a notice goes. An owner is a group or an email (a document's `owner`). Its people
are told in the owners channel (trellis.yml `owners_channel`, an id or "#name"), with a
mention, when they are members of it and every member of that channel may see the
documents the notice is about; otherwise each of them (at most `MAX_DIRECT` people) by
direct message, if they may see those documents. When no owner person can be reached,
the notice goes to the owners channel in full when its members may see the documents;
otherwise the admins (trellis.yml `admins`) who may see them are told directly, and only
when none can be does the owners channel get a short pointer without the content, saying
that nobody who may read the documents could be told. Nothing here ever shows a document's
content to someone outside its access list.

Bursts. Questions nobody could answer and conflicts are queued in the database and sent
per route (the owners they go to): at once when that route heard nothing within its
window (`WINDOWS`), otherwise together in one message by `flush_notices`, which the
scheduler runs every minute. A burst of fifty unanswered questions is two messages.

Unanswered questions. Each waits `TRELLIS_OWNER_NOTICE_DELAY_SECONDS` (two minutes by
default) before it may be sent, so the asker, who is told it goes to the topic's owners,
can still press "Don't forward my question": `withdraw_question` marks it withdrawn and
it is never sent (nor listed among the digest's unanswered questions). With trellis.yml
`answers.owner_notice: redacted` the owners hear the route, its owners and the count,
never the words.

This module decides who hears what and where; the notifier (`services.notifier`) posts
each notice, laid out by `handlers/views/owners.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

import structlog

from app.answering.base import NOTE_ASKER_OWNS, NOTE_CONFLICT, note_value
from app.approvals.drafts import ActionView, DraftView
from app.db.base import aware
from app.db.models.feedback import OwnerNotice
from app.db.repositories.feedback import OwnerNoticeRepository
from app.domain import AccessScope, AnswerStatus, Person
from app.errors import AccessDenied
from app.knowledge.search import get_documents
from app.notifications import DeadLetter, Delivery, DocumentsDisagree, UnansweredQuestions
from app.services import Services
from app.slack_api import SlackGateway

if TYPE_CHECKING:
    from app.notifications import OwnersNotice
    from app.pipeline import Outcome

log = structlog.get_logger(__name__)

MAX_DIRECT = 5
NO_ANSWER, CONFLICT = "no_answer", "conflict"
WINDOWS = {NO_ANSWER: timedelta(minutes=15), CONFLICT: timedelta(hours=24)}


class Withdrawal(Enum):
    """What pressing "Don't forward my question" did."""

    WITHDRAWN = "withdrawn"
    ALREADY_SENT = "already_sent"
    NOT_FORWARDED = "not_forwarded"
    """No notice waits for this answer (it was never queued, e.g. outside Slack)."""


# --- Routing ---------------------------------------------------------------------------


async def owners_channel(services: Services) -> str | None:
    reference = services.workspace.config.owners_channel
    if not reference or services.gateway is None:
        return None
    return await services.gateway.channel_id(reference)


async def _slack_id(slack: SlackGateway, person: Person) -> str | None:
    return person.slack_id or await slack.user_id_by_email(person.email)


async def _sees_all(services: Services, scope: AccessScope, doc_ids: Sequence[str]) -> bool:
    if not doc_ids:
        return True
    visible = await get_documents(services.database, scope=scope, doc_ids=doc_ids)
    return len(visible) == len(set(doc_ids))


async def channel_scope(services: Services, channel: str) -> tuple[AccessScope, set[str]]:
    """What every member of `channel` may see, and who they are (nobody without Slack)."""
    if services.slack is None:
        return AccessScope.for_viewers(()), set()
    members = set(await services.slack.members(channel))
    viewers: list[frozenset[str]] = []
    for member in members:
        found = await services.identity.identify(member)
        if found.is_human:
            viewers.append(found.person.principals if found.person else frozenset({"public"}))
    return AccessScope.for_viewers(viewers), members


def owner_people(services: Services, owners: Iterable[str]) -> list[Person]:
    principals = [o for o in owners if o and not o.startswith("#")]
    people = services.workspace.directory.expand(principals)
    return sorted(people, key=lambda p: p.email)


async def plan(
    services: Services, *, owners: Sequence[str], doc_ids: Sequence[str] = ()
) -> list[Delivery]:
    """Where a notice about `doc_ids` for `owners` goes (see the module docstring)."""
    slack = services.gateway
    if slack is None:
        return []
    channel = await owners_channel(services)
    channel_ok = False
    members: set[str] = set()
    if channel:
        scope, members = await channel_scope(services, channel)
        channel_ok = await _sees_all(services, scope, doc_ids)
    mentions: list[str] = []
    direct: list[Delivery] = []
    for person in owner_people(services, owners):
        slack_id = await _slack_id(slack, person)
        if slack_id is None:
            continue
        if channel_ok and slack_id in members:
            mentions.append(slack_id)
        elif len(direct) < MAX_DIRECT and await _sees_all(
            services, AccessScope.for_person(person), doc_ids
        ):
            direct.append(Delivery(slack_id, person=person.email))
    if not direct and not channel_ok:
        # Nobody may be told in full (no owner reachable, and no owners channel that may
        # see the documents): the admins who may see them hear it instead.
        for person in owner_people(services, services.workspace.config.admins)[:MAX_DIRECT]:
            slack_id = await _slack_id(slack, person)
            if slack_id and await _sees_all(services, AccessScope.for_person(person), doc_ids):
                direct.append(Delivery(slack_id, person=person.email))
    deliveries = list(direct)
    if channel and (mentions or not direct):
        deliveries.insert(0, Delivery(channel, tuple(mentions), full=channel_ok))
    return deliveries


async def deliver(
    services: Services, *, owners: Sequence[str], doc_ids: Sequence[str] = (), notice: OwnersNotice
) -> list[dict[str, Any]]:
    """Post a notice where `plan` says; returns [{"channel", "ts", "full"}] of what was
    posted (a channel that may not see the documents is shown only a pointer)."""
    posted: list[dict[str, Any]] = []
    for delivery in await plan(services, owners=owners, doc_ids=doc_ids):
        try:
            where = await services.notifier.tell_owners(delivery, notice)
        except Exception:  # one unreachable owner must not keep the others from hearing
            log.warning("owner_notice_failed", channel=delivery.channel, exc_info=True)
            continue
        if where is not None:
            shown = {"channel": where[0], "ts": where[1], "full": delivery.full}
            posted.append(shown | ({"person": delivery.person} if delivery.person else {}))
    if not posted:
        log.warning("owner_notice_undelivered", owners=list(owners), notice=type(notice).__name__)
    return posted


# --- Questions nobody could answer, and conflicts -------------------------------------


async def after_question(services: Services, *, outcome: Outcome, question: str) -> None:
    """Tell owners what they should hear about a question's `Outcome`; never raises, so
    the person who asked is never affected by it."""
    try:
        if outcome.status == AnswerStatus.NO_ANSWER and NOTE_ASKER_OWNS not in outcome.public.notes:
            asker = outcome.person
            await queue_notice(
                services,
                kind=NO_ANSWER,
                owners=outcome.public.owners,
                payload={
                    "question": question,
                    "audit_id": outcome.audit_id,
                    "answer_id": outcome.public.answer_id,
                    "asker_email": asker.email if asker else None,
                },
                notice_id=outcome.public.answer_id,
            )
        for reply in (r for r in (outcome.public, outcome.private) if r is not None):
            docs = note_value(reply.notes, NOTE_CONFLICT)
            if len(docs) >= 2:
                await notify_conflict(
                    services, doc_ids=docs, question=question, audit_id=outcome.audit_id
                )
                break
    except Exception:
        log.warning("owner_notice_failed", audit_id=outcome.audit_id, exc_info=True)


async def notify_conflict(
    services: Services, *, doc_ids: Sequence[str], question: str, audit_id: str | None = None
) -> None:
    """Both documents' owners hear that current documents disagree."""
    documents = await get_documents(services.database, doc_ids=doc_ids)
    owners = sorted({d.owner for d in documents if d.owner})
    await queue_notice(
        services,
        kind=CONFLICT,
        owners=owners,
        doc_ids=sorted(doc_ids),
        payload={
            "question": question,
            "audit_id": audit_id,
            "documents": [{"id": d.id, "title": d.title} for d in documents],
        },
    )


async def queue_notice(
    services: Services,
    *,
    kind: str,
    owners: Sequence[str],
    payload: dict[str, Any],
    doc_ids: Sequence[str] = (),
    notice_id: str | None = None,
) -> None:
    """`notice_id`: an unanswered question's answer id, which its asker's button carries."""
    if services.gateway is None:
        return  # nobody to tell outside Slack (the CLI, eval runs)
    route = f"{kind}:{','.join(sorted(doc_ids) if kind == CONFLICT else sorted(set(owners)))}"
    async with services.database.session() as session:
        repository = OwnerNoticeRepository(session)
        await repository.add(
            OwnerNotice(
                id=notice_id or str(uuid.uuid4()),
                kind=kind,
                route=route,
                created_at=services.clock(),
                payload={**payload, "owners": list(owners), "doc_ids": list(doc_ids)},
            )
        )
    if _delay(services, kind) <= timedelta(0):
        await _send_if_due(services, route, now=services.clock())


def _delay(services: Services, kind: str) -> timedelta:
    """How long a notice of `kind` waits before it may be sent."""
    if kind != NO_ANSWER:
        return timedelta(0)
    return timedelta(seconds=services.settings.owner_notice_delay_seconds)


async def withdraw_question(services: Services, *, answer_id: str, person: Person) -> Withdrawal:
    """The asker's "Don't forward my question": the unanswered question's notice is marked
    withdrawn unless it was already sent. Only the asker may withdraw it (AccessDenied)."""
    async with services.database.session(urgent=True) as session:
        repository = OwnerNoticeRepository(session)
        notice = await repository.get(answer_id)
        if notice is None or notice.kind != NO_ANSWER:
            return Withdrawal.NOT_FORWARDED
        if notice.payload.get("asker_email") != person.email:
            raise AccessDenied("Only the person who asked can stop their question being forwarded.")
        if notice.withdrawn_at is not None:
            return Withdrawal.WITHDRAWN
        if await repository.withdraw(answer_id, now=services.clock()):
            log.info("owner_notice_withdrawn", notice=answer_id, route=notice.route)
            return Withdrawal.WITHDRAWN
    return Withdrawal.ALREADY_SENT


async def flush_notices(services: Services, *, now: datetime | None = None) -> int:
    """Send every queued batch whose window has passed; returns how many messages went."""
    now = now or services.clock()
    async with services.database.session() as session:
        routes = await OwnerNoticeRepository(session).routes_waiting()
    sent = 0
    for route in routes:
        sent += await _send_if_due(services, route, now=now)
    return sent


async def _send_if_due(services: Services, route: str, *, now: datetime) -> int:
    kind = route.split(":", 1)[0]
    claim = str(uuid.uuid4())
    async with services.database.session() as session:
        repository = OwnerNoticeRepository(session)
        last = await repository.last_sent(route)
        if last is not None and aware(last) > now - WINDOWS.get(kind, WINDOWS[NO_ANSWER]):
            return 0
        delay = _delay(services, kind)
        created_by = now - delay if delay > timedelta(0) else None
        notices = await repository.claim(route, claim_id=claim, now=now, created_by=created_by)
    if not notices:
        return 0
    owners = tuple(sorted({o for n in notices for o in n.payload.get("owners", ())}))
    doc_ids = sorted({d for n in notices for d in n.payload.get("doc_ids", ())})
    redacted = services.workspace.config.answers.owner_notice == "redacted"
    posted = await deliver(
        services,
        owners=owners,
        doc_ids=doc_ids,
        # Routed by principal; shown by name.
        notice=_batch(
            kind,
            notices,
            tuple(services.workspace.directory.name_of(o) for o in owners),
            redacted=redacted,
        ),
    )
    if not posted:
        async with services.database.session() as session:
            await OwnerNoticeRepository(session).release(claim)
        return 0
    return 1


def _batch(
    kind: str, notices: Sequence[OwnerNotice], owners: tuple[str, ...], *, redacted: bool = False
) -> UnansweredQuestions | DocumentsDisagree:
    questions = tuple(dict.fromkeys(n.payload.get("question", "") for n in notices))
    if kind == CONFLICT:
        documents = notices[-1].payload.get("documents", [])
        return DocumentsDisagree(
            documents=tuple((d["id"], d["title"]) for d in documents),
            questions=() if redacted else questions,
            owners=owners,
        )
    return UnansweredQuestions(
        questions=() if redacted else questions, owners=owners, count=len(questions)
    )


# --- Dead letters ----------------------------------------------------------------------


async def notify_dead_letter(
    services: Services,
    *,
    summary: str,
    error: str,
    owners: Sequence[str] = (),
    requester_email: str | None = None,
    reference: str | None = None,
    retry_draft: str | None = None,
) -> list[dict[str, Any]]:
    """An approved action failed for good: tell the owners (channel or the given owners).

    `retry_draft`: the draft whose failed actions they may retry from the notice. Returns
    [{"channel", "ts"}] of the notices, so the caller can update them later."""
    requester = services.workspace.directory.by_email(requester_email)
    notice = DeadLetter(
        summary=summary,
        error=error,
        requester=requester.name if requester else None,
        reference=reference,
        retry_draft=retry_draft,
    )
    return await deliver(services, owners=owners, notice=notice)


async def action_dead(
    services: Services, draft: DraftView, action: ActionView
) -> list[dict[str, Any]]:
    """One of `draft`'s approved actions failed for good: the owners hear it, with a Retry."""
    return await notify_dead_letter(
        services,
        summary=f"{draft.title} from {draft.requester_name}: "
        f"{action.description} (after {action.attempts} attempts)",
        error=action.last_error or "unknown error",
        requester_email=draft.requester_email,
        reference=action.idempotency_key,
        retry_draft=draft.id,
    )
