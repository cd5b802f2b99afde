"""Who may decide on a draft, as people of the directory, and which of them may see it.

A card is put before everyone who may decide; those who are not in its channel (the
requester's manager when nobody else could approve, say) get it by direct message
(app/approvals/notices.py). An escalation asks the same of the people it escalates to.
Either way only people who may read every source of the draft are shown the card; the
others are told only where it waits.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import structlog

from app.approvals import notices
from app.approvals.drafts import DraftView
from app.approvals.notices import person_params
from app.domain import AccessScope, Person
from app.knowledge.search import get_documents

if TYPE_CHECKING:
    from app.notifications import Notifier
    from app.services import Services

log = structlog.get_logger(__name__)


def waiting_approvers(services: Services, draft: DraftView) -> list[Person]:
    """Who may still decide: everyone eligible who has not approved yet."""
    given = {a.email for a in draft.current_approvals()}
    emails = sorted({e for group in draft.needs().eligible for e in group} - given)
    directory = services.workspace.directory
    return [p for p in (directory.by_email(e) for e in emails) if p is not None]


async def readers_of_sources(
    services: Services, draft: DraftView, people: list[Person]
) -> list[Person]:
    """Those of `people` who may read every document the draft cites (a cited document
    that is gone from the index counts as unreadable)."""
    cited = {c["doc_id"] for c in draft.citations}
    if not cited:
        return list(people)
    documents = await get_documents(services.database, doc_ids=cited)
    if len(documents) < len(cited):
        return []
    return [p for p in people if all(AccessScope.for_person(p).allows(d.access) for d in documents)]


async def deciders(services: Services, draft: DraftView) -> tuple[list[Person], list[Person]]:
    """Who may decide on `draft` (never its requester): those who may read its sources,
    and those who may not, who are only told where it waits."""
    people = [
        p for p in waiting_approvers(services, draft) if p.email.lower() != draft.requester_email
    ]
    readers = await readers_of_sources(services, draft, people)
    return readers, [p for p in people if p not in readers]


async def outside_channel(
    notifier: Notifier, channel: str, deciders: Collection[Person], withheld: Collection[Person]
) -> list[tuple[str, dict[str, Any], str]]:
    """One direct message for each person who may decide but is not in `channel`."""
    asked = {p.email.lower(): p for p in [*deciders, *withheld]}
    try:
        away = {
            p.email.lower() for p in await notifier.not_in_channel(channel, list(asked.values()))
        }
    except Exception:  # each message asks again before it is sent (app/delivery/notices.py)
        log.warning("channel_members_unknown", channel=channel, exc_info=True)
        away = set(asked)
    readers = {p.email.lower() for p in deciders}
    return [
        (
            notices.DECIDER_CARD if email in readers else notices.DECIDER_POINTER,
            {"person": person_params(person)},
            email,
        )
        for email, person in sorted(asked.items())
        if email in away
    ]
