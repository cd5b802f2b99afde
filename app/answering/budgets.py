"""Model routing and daily budgets.

trellis.yml routes each task to a model and caps what a person, and a team, may spend
on models per day (UTC):

    models:  {answer: claude-sonnet-4-6, draft: claude-sonnet-4-6, classify: claude-haiku-4-5}
    budgets: {per_person_daily_usd: 2.0, per_group_daily_usd: {sales: 50}}

Spend is what the audit trail says: every record with a "usage" and a "model" in its
payload is priced with `app.answering.pricing` (cache reads and writes at their own prices) and
charged to the record's actor, and to every budgeted group the actor belongs to now.
Someone over their own budget, or in a team over its budget, gets the offline extractive
answerer instead of the model, and the answer says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import Answerer
from app.answering.pricing import cost_of, usage_from
from app.config.directory import Directory
from app.config.workspace import BudgetsConfig, TrellisConfig
from app.db.repositories.measurements import MeasurementRepository
from app.db.session import DatabaseOrSession, reading_from
from app.domain import Person

if TYPE_CHECKING:
    from app.services import Services

Task = Literal["answer", "draft", "classify"]


def model_for(config: TrellisConfig, task: Task) -> str | None:
    """The model trellis.yml routes `task` to; drafts fall back to the answer model."""
    models = config.models
    if task == "draft":
        return models.draft or models.answer
    if task == "classify":
        return models.classify or models.answer
    return models.answer


def day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Spend:
    """What one person, and each of their budgeted teams, spent since `since`."""

    since: datetime
    person_usd: float = 0.0
    groups_usd: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """Which answerer and model a task uses for one person, and what to tell them."""

    task: Task
    answerer: Answerer
    model: str | None
    note: str | None = None
    over_budget: bool = False


def budgeted_groups(person: Person, budgets: BudgetsConfig) -> list[str]:
    return sorted(g for g in budgets.per_group_daily_usd if g in person.principals)


async def spend_today(
    database_or_session: DatabaseOrSession,
    *,
    person: Person,
    directory: Directory,
    budgets: BudgetsConfig,
    now: datetime,
) -> Spend:
    since = day_start(now)
    groups = budgeted_groups(person, budgets)
    emails = {person.email.lower()}
    for group in groups:
        emails |= {member.email.lower() for member in directory.members(group)}
    async with reading_from(database_or_session) as session:
        rows = await MeasurementRepository(session).usage_by_actor(since=since, emails=emails)
    by_email: dict[str, float] = {}
    for row in rows:
        amount = cost_of(usage_from(row.usage), row.model).total
        by_email[row.email] = by_email.get(row.email, 0.0) + amount
    groups_usd = {
        group: sum(by_email.get(m.email.lower(), 0.0) for m in directory.members(group))
        for group in groups
    }
    return Spend(
        since=since, person_usd=by_email.get(person.email.lower(), 0.0), groups_usd=groups_usd
    )


def over_budget(spend: Spend, budgets: BudgetsConfig, *, team_of: Iterable[str] = ()) -> str | None:
    """Why this person may not use the model today, or None."""
    limit = budgets.per_person_daily_usd
    if limit is not None and spend.person_usd >= limit:
        return f"you have used today's AI budget (USD {limit:.2f} per person)"
    for group in team_of or spend.groups_usd:
        group_limit = budgets.per_group_daily_usd.get(group)
        if group_limit is not None and spend.groups_usd.get(group, 0.0) >= group_limit:
            return f"the {group} team has used today's AI budget (USD {group_limit:.2f})"
    return None


async def route(
    services: Services,
    *,
    person: Person,
    task: Task = "answer",
    session: AsyncSession | None = None,
) -> Route:
    """The answerer and model for `task`; the extractive answerer when over budget.

    `session`: the caller's open read session, if it has one; the spend is read in it."""
    answerer = services.answerer
    model = model_for(services.workspace.config, task)
    if answerer.name == "extractive":
        return Route(task, answerer, None)
    budgets = services.workspace.config.budgets
    if budgets.per_person_daily_usd is None and not budgeted_groups(person, budgets):
        return Route(task, answerer, model)
    spend = await spend_today(
        session or services.database,
        person=person,
        directory=services.workspace.directory,
        budgets=budgets,
        now=services.clock(),
    )
    reason = over_budget(spend, budgets)
    if reason is None:
        return Route(task, answerer, model)
    services.metrics.budget_fallbacks.labels(task=task).inc()
    note = (
        f"The AI model was not used because {reason}, so this answer was composed "
        "directly from the sources. The budget starts again at midnight UTC."
    )
    return Route(task, ExtractiveAnswerer(), None, note=note, over_budget=True)


def next_reset(now: datetime) -> datetime:
    return day_start(now) + timedelta(days=1)
