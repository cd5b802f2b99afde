"""What App Home shows: for everyone, what Trellis can do and see for them and what waits on
them; for admins (trellis.yml `admins`), how Trellis is doing this week.

This module gathers the facts; `handlers/views/home.py` lays them out in Block Kit. The same
`Dashboard` feeds the owners' weekly digest (app/trust/digest.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from app.answering.pricing import cost_of, usage_from
from app.approvals.notices import CARDS, DIRECT
from app.db.repositories.dashboard import DashboardRepository, DirectMessage, WaitingDraft
from app.db.repositories.feedback import (
    AnswerFeedbackRepository,
    CuratedAnswerRepository,
    FlagRepository,
)
from app.domain import AccessScope, DocumentStatus, Person
from app.knowledge.search import get_documents
from app.services import Services
from app.trust.feedback import is_admin

DASHBOARD_DAYS = 7
TOP = 5


@dataclass(frozen=True)
class PersonalHome:
    person: Person
    workflows: tuple[tuple[str, str], ...]
    """(slug, title) of the workflows this person may start."""
    documents: int
    by_folder: tuple[tuple[str, int], ...]
    by_owner: tuple[tuple[str, int], ...]
    my_requests: tuple[WaitingDraft, ...] | None
    """None when this build has no approvals."""
    my_approvals: tuple[WaitingDraft, ...] | None
    cards: Mapping[str, tuple[str, str]]
    """Where this person can decide on each of `my_approvals`, by draft id: (channel, ts)
    of the card sent to them by direct message, else of the card in its channel
    (`where_to_decide`)."""
    flags_raised: int
    flags_to_decide: int
    flag_emoji: tuple[str, ...]
    may_flag: bool


@dataclass(frozen=True)
class Dashboard:
    since: datetime
    now: datetime
    questions: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    askers: int = 0
    flags_open: int = 0
    flags_this_week: dict[str, int] = field(default_factory=dict)
    corrections: int = 0
    helpful: int = 0
    not_helpful: int = 0
    approvals_pending: int | None = None
    oldest_pending: timedelta | None = None
    cost_usd: float = 0.0
    budget_usd: float | None = None
    budget_note: str = ""
    failures: dict[str, int] = field(default_factory=dict)
    top_unanswered: tuple[tuple[str, int], ...] = ()
    most_flagged: tuple[tuple[str, int], ...] = ()

    def rate(self, status: str) -> float:
        return self.statuses.get(status, 0) / self.questions if self.questions else 0.0


@dataclass(frozen=True)
class Home:
    personal: PersonalHome
    dashboard: Dashboard | None
    """Only for admins."""


async def home_for(services: Services, person: Person) -> Home:
    personal = await personal_home(services, person)
    board = (
        await dashboard(services, scope=AccessScope.for_person(person))
        if is_admin(services, person)
        else None
    )
    return Home(personal, board)


async def personal_home(services: Services, person: Person) -> PersonalHome:
    workspace = services.workspace
    documents = [
        d
        for d in await get_documents(services.database, scope=AccessScope.for_person(person))
        if d.status != DocumentStatus.DRAFT
    ]
    folders = Counter(_folder(d.path) for d in documents)
    owners = Counter(d.owner or "no owner" for d in documents)
    async with services.database.session() as session:
        dashboard_repo = DashboardRepository(session)
        waiting = await dashboard_repo.waiting_drafts()
        open_flags = await FlagRepository(session).open_flags()
        direct = await dashboard_repo.direct_messages(
            [d.id for d in waiting or ()], kinds=DIRECT, cards=CARDS
        )
    email = person.email.lower()
    mine = approvals = None
    if waiting is not None:
        mine = tuple(d for d in waiting if d.requester_email.lower() == email)
        approvals = tuple(
            d
            for d in waiting
            if d.requester_email.lower() != email
            and any(email in group for group in d.eligible)
            and email not in d.approved_by
        )
    workflows = tuple(
        (slug, workspace.rulebook.workflows[slug].title)
        for slug in workspace.rulebook.startable_by(person)
    )
    return PersonalHome(
        person=person,
        workflows=workflows,
        documents=len(documents),
        by_folder=tuple(sorted(folders.items())),
        by_owner=tuple(owners.most_common()),
        my_requests=mine,
        my_approvals=approvals,
        cards=where_to_decide(approvals or (), direct, email),
        flags_raised=sum(1 for f in open_flags if f.flagger_email == person.email),
        flags_to_decide=sum(
            1
            for f in open_flags
            if set(f.owners or ()) & person.principals and f.flagger_email != person.email
        ),
        flag_emoji=tuple(workspace.config.flags.reactions),
        may_flag=bool(set(workspace.config.flags.flaggers) & person.principals),
    )


def where_to_decide(
    drafts: Sequence[WaitingDraft], direct: Sequence[DirectMessage], email: str
) -> dict[str, tuple[str, str]]:
    """(channel, ts) of the card `email` can act on for each of `drafts`: for someone not
    in its channel, the card sent to them by direct message (none when they were sent
    only a pointer, or the card is not sent yet); for the others, the card in its channel."""
    theirs: dict[str, tuple[str, str] | None] = {}
    for message in (m for m in direct if m.email == email):
        theirs[message.draft_id] = theirs.get(message.draft_id) or message.card
    places = {d.id: theirs.get(d.id, d.card) for d in drafts}
    return {draft_id: place for draft_id, place in places.items() if place is not None}


def _folder(path: str) -> str:
    parts = PurePosixPath(path.replace("\\", "/")).parts
    return parts[0] if len(parts) > 1 else "(top level)"


async def dashboard(
    services: Services,
    *,
    now: datetime | None = None,
    days: int = DASHBOARD_DAYS,
    scope: AccessScope | None = None,
) -> Dashboard:
    """The week in numbers, from the audit trail and Trellis's own tables. With a `scope`,
    the most-flagged documents are only those its readers may see; with trellis.yml
    `answers.owner_notice: redacted`, unanswered questions are counted, never quoted."""
    now = now or services.clock()
    since = now - timedelta(days=days)
    async with services.database.session() as session:
        repo = DashboardRepository(session)
        records = await repo.questions(since=since)
        failures = await repo.failures(since=since)
        unanswered = (
            []
            if services.workspace.config.answers.owner_notice == "redacted"
            else await repo.unanswered(since=since, limit=TOP)
        )
        waiting = await repo.waiting_drafts()
        flags = FlagRepository(session)
        flags_open = (await flags.count_by_status()).get("open", 0)
        flags_week = await flags.count_by_status(since=since)
        flagged = await flags.most_flagged_documents(since=since, limit=TOP)
        corrections = await CuratedAnswerRepository(session).count(since=since)
        votes = await AnswerFeedbackRepository(session).counts(since=since)
    titles = {
        d.id: d.title
        for d in await get_documents(
            services.database, scope=scope, doc_ids=[d for d, _ in flagged]
        )
    }
    statuses = Counter(
        r.payload.get("status", "refused" if r.kind == "question.refused" else "?") for r in records
    )
    askers = {r.actor_email for r in records if r.actor_email}
    cost = sum(
        cost_of(usage_from(r.payload.get("usage")), r.payload.get("model")).total for r in records
    )
    budget, note = _budget(services, askers=len(askers), days=days)
    oldest = None
    if waiting:
        oldest = now - min(d.created_at for d in waiting)
    return Dashboard(
        since=since,
        now=now,
        questions=len(records),
        statuses=dict(statuses),
        askers=len(askers),
        flags_open=flags_open,
        flags_this_week=flags_week,
        corrections=corrections,
        helpful=votes.get(True, 0),
        not_helpful=votes.get(False, 0),
        approvals_pending=None if waiting is None else len(waiting),
        oldest_pending=oldest,
        cost_usd=round(cost, 4),
        budget_usd=budget,
        budget_note=note,
        failures=failures,
        top_unanswered=tuple(unanswered),
        most_flagged=tuple(
            (titles.get(d, d), n) for d, n in flagged if scope is None or d in titles
        ),
    )


def _budget(services: Services, *, askers: int, days: int) -> tuple[float | None, str]:
    budgets = services.workspace.config.budgets
    groups = ", ".join(f"{g} ${v:,.2f}/day" for g, v in sorted(budgets.per_group_daily_usd.items()))
    if budgets.per_person_daily_usd is None:
        return None, (f"team budgets: {groups}" if groups else "no budget set in trellis.yml")
    total = budgets.per_person_daily_usd * askers * days
    note = (
        f"${budgets.per_person_daily_usd:,.2f} per person per day × {askers} "
        f"{'person' if askers == 1 else 'people'} who asked × {days} days"
    )
    return total, note + (f"; team budgets: {groups}" if groups else "")
