"""Week by week: how Trellis did here, from the audit trail and its own tables.

A week is an ISO week, Monday 00:00 UTC to the next. For each of the last weeks: questions
by status, flags raised, Helpful / Not helpful votes, approval decisions and their median
turnaround, answer latency (p50 / p95 of the whole question) and model cost. Beside the
weeks: the eval pass rate of every configuration version (its latest `eval.run`), open
flags and the median time from a flag to its correction, and refusals by reason.

Only numbers leave this module: no question text, no document.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.answering.pricing import cost_of, usage_from
from app.db.repositories.about import AboutRepository, Logged, VersionRow
from app.db.repositories.measurements import MeasurementRepository
from app.db.session import Database
from app.domain import FlagStatus
from app.trust import WEEKS
from app.trust.report import QUESTION_KINDS, percentile

REFUSAL_DAYS = 7
CORRECTED = (FlagStatus.ACCEPTED.value, FlagStatus.SOURCE_UPDATE.value)
DECIDED = ("approved", "rejected", "executing", "done", "failed")
REFUSAL_WORDS = {
    "guest": "guest accounts",
    "external": "external (Slack Connect) users",
    "not_in_directory": "people not in the directory",
    "deactivated": "deactivated accounts",
    "not_found": "accounts Slack does not know",
    "bot": "bots",
}


@dataclass(frozen=True)
class Week:
    start: date
    questions: int = 0
    answered: int = 0
    no_answer: int = 0
    refused: int = 0
    needs_approval: int = 0
    flags: int = 0
    helpful: int = 0
    not_helpful: int = 0
    decided: int = 0
    turnaround_hours: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    cost_usd: float = 0.0

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.questions if self.questions else None

    @property
    def no_answer_rate(self) -> float | None:
        return self.no_answer / self.questions if self.questions else None

    @property
    def flag_rate(self) -> float | None:
        """Flags raised per answer given."""
        return self.flags / self.answered if self.answered else None


@dataclass(frozen=True)
class VersionScore:
    """A configuration version and how its latest eval run went."""

    version: str
    status: str
    seen_at: datetime
    cases: int | None = None
    passed: int | None = None
    status_accuracy: float | None = None
    source_recall: float | None = None
    evaluated_at: datetime | None = None

    @property
    def pass_rate(self) -> float | None:
        if self.passed is None or not self.cases:
            return None
        return self.passed / self.cases


@dataclass(frozen=True)
class Measures:
    since: datetime
    weeks: tuple[Week, ...]
    versions: tuple[VersionScore, ...]
    open_flags: int = 0
    corrected: int = 0
    median_correction_hours: float | None = None
    refusals: int = 0
    """Refused askers over the last `REFUSAL_DAYS` days."""
    refusals_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class _Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    flags: int = 0
    votes: Counter[bool] = field(default_factory=Counter)
    turnaround: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    cost: float = 0.0


def week_start(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


async def measure(database: Database, *, now: datetime, weeks: int = WEEKS) -> Measures:
    first = week_start(now) - timedelta(weeks=weeks - 1)
    since = datetime.combine(first, time(), tzinfo=UTC)
    tallies = {first + timedelta(weeks=i): _Tally() for i in range(weeks)}

    def tally(moment: datetime) -> _Tally | None:
        return tallies.get(week_start(moment))

    async with database.reading() as session:
        async for record in MeasurementRepository(session).records_since(since):
            found = tally(record.occurred_at)
            if found is not None:
                _count(found, record.kind, record.payload or {})
        repo = AboutRepository(session)
        flags = await repo.flags(since=since)
        votes = await repo.votes(since=since)
        decisions = await repo.decisions(since=since)
        open_flags = await repo.open_flags()
        reasons = await repo.refusal_reasons(since=now - timedelta(days=REFUSAL_DAYS))
        runs = await repo.eval_runs()
        versions = await repo.versions()
    for flag in flags:
        if (found := tally(flag.created_at)) is not None:
            found.flags += 1
    for vote in votes:
        if (found := tally(vote.at)) is not None:
            found.votes[vote.helpful] += 1
    for draft in decisions:
        if draft.decided_at and draft.status in DECIDED and (found := tally(draft.decided_at)):
            found.turnaround.append((draft.decided_at - draft.created_at).total_seconds() / 3600)
    corrections = [
        (f.decided_at - f.created_at).total_seconds() / 3600
        for f in flags
        if f.status in CORRECTED and f.decided_at
    ]
    return Measures(
        since=since,
        weeks=tuple(_week(start, t) for start, t in tallies.items()),
        versions=version_scores(versions, runs),
        open_flags=open_flags,
        corrected=len(corrections),
        median_correction_hours=round(statistics.median(corrections), 2) if corrections else None,
        refusals=len(reasons),
        refusals_by_reason=dict(Counter(refusal_kind(r) for r in reasons).most_common()),
    )


def _count(found: _Tally, kind: str, payload: dict[str, Any]) -> None:
    if payload.get("usage"):
        found.cost += cost_of(usage_from(payload["usage"]), payload.get("model")).total
    if kind not in QUESTION_KINDS:
        return
    found.statuses[payload.get("status") or "refused"] += 1
    total = (payload.get("latency_ms") or {}).get("total")
    if isinstance(total, int | float):
        found.latency.append(float(total))


def _week(start: date, found: _Tally) -> Week:
    statuses = found.statuses
    return Week(
        start=start,
        questions=sum(statuses.values()),
        answered=statuses["answered"],
        no_answer=statuses["no_answer"],
        refused=statuses["refused"],
        needs_approval=statuses["needs_approval"],
        flags=found.flags,
        helpful=found.votes[True],
        not_helpful=found.votes[False],
        decided=len(found.turnaround),
        turnaround_hours=(
            round(statistics.median(found.turnaround), 2) if found.turnaround else None
        ),
        latency_p50_ms=percentile(found.latency, 0.5) if found.latency else None,
        latency_p95_ms=percentile(found.latency, 0.95) if found.latency else None,
        cost_usd=round(found.cost, 6),
    )


def refusal_kind(reason: str) -> str:
    """The identity check's verdict at the end of a stored refusal ("U123: guest")."""
    kind = reason.rpartition(": ")[2].strip()
    return REFUSAL_WORDS.get(kind, "other refusals")


def version_scores(rows: list[VersionRow], runs: list[Logged]) -> tuple[VersionScore, ...]:
    """Each version seen, oldest first, with its latest eval run on its own eval set (a
    version only ever evaluated, never loaded, is listed as `evaluated`)."""
    own_cases = {row.version: (row.eval_scores or {}).get("cases_hash") for row in rows}
    latest: dict[str, Logged] = {}
    for run in runs:
        version = run.payload.get("version") or run.subject_id
        if version and on_its_own_cases(run, own_cases.get(str(version))):
            latest[str(version)] = run
    found: dict[str, VersionScore] = {}
    for row in rows:
        found[row.version] = _scored(
            row.version, row.status, row.created_at, latest, row.eval_scores
        )
    for version, run in latest.items():
        if version not in found:
            found[version] = _scored(version, "evaluated", run.at, latest, None)
    return tuple(sorted(found.values(), key=lambda v: v.seen_at))


def on_its_own_cases(run: Logged, cases_hash: str | None) -> bool:
    """Whether an eval run measured its version on that version's own eval set. The gate
    also measures the live version on a candidate's cases (a "baseline" run, recorded when
    the candidate goes live): that run scores the next version's set, not this one's."""
    if run.payload.get("purpose") != "baseline":
        return True
    scores = run.payload.get("scores") or {}
    return cases_hash is not None and scores.get("cases_hash") == cases_hash


def _scored(
    version: str,
    status: str,
    seen_at: datetime,
    latest: dict[str, Logged],
    stored: dict[str, Any] | None,
) -> VersionScore:
    run = latest.get(version)
    scores = (run.payload.get("scores") if run else None) or stored or {}
    cases = scores.get("cases")
    passed = None
    if run is not None and isinstance(cases, int):
        passed = max(0, cases - len(run.payload.get("failed_cases") or ()))
    return VersionScore(
        version=version,
        status=status,
        seen_at=seen_at,
        cases=cases if isinstance(cases, int) else None,
        passed=passed,
        status_accuracy=scores.get("status_accuracy"),
        source_recall=scores.get("source_recall"),
        evaluated_at=run.at if run else None,
    )
