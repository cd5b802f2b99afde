"""`trellis report`: what Trellis did over a period, from the audit trail.

Questions by status, answer and no-answer rates, latency per stage (p50 / p95), tokens
and cost per model (input, output, cache writes and cache reads priced separately by
`app.answering.pricing`), the versions that answered, and the questions nobody could answer.
Flags, feedback, approvals and downstream actions are added when their tables exist.
Evaluation runs (`eval.*` records) are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.answering.pricing import Cost, cost_of, usage_from
from app.config.settings import Settings
from app.db.migrate import open_database
from app.db.repositories.measurements import MeasurementRepository
from app.db.session import Database
from app.domain import Usage
from app.text.phrasing import counted

QUESTION_KINDS = ("question", "question.refused")
STATUSES = ("answered", "no_answer", "refused", "needs_approval")
TOP_UNANSWERED = 10
_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_period(text: str) -> timedelta:
    """'30m', '24h', '7d', '2w' as a timedelta."""
    match = _PERIOD.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a period such as 30m, 24h, 7d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (`share` in 0..1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


@dataclass
class ModelSpend:
    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: Cost = field(default_factory=Cost)


@dataclass
class Report:
    since: datetime | None
    until: datetime
    records: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    models: dict[str, ModelSpend] = field(default_factory=dict)
    versions: Counter[str] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)
    flags: dict[str, int] | None = None
    feedback: dict[str, int] | None = None
    approvals: dict[str, int] | None = None
    turnaround_s: list[float] | None = None
    downstream: dict[str, int] | None = None

    @property
    def questions(self) -> int:
        return sum(self.statuses.values())

    def rate(self, status: str) -> float:
        return self.statuses[status] / self.questions if self.questions else 0.0

    @property
    def cost(self) -> Cost:
        total = Cost()
        for spend in self.models.values():
            total += spend.cost
        return total

    @property
    def usage(self) -> Usage:
        total = Usage()
        for spend in self.models.values():
            total += spend.usage
        return total


async def build_report(database: Database, *, since: datetime | None, now: datetime) -> Report:
    report = Report(since=since, until=now)
    async with database.session() as session:
        measurements = MeasurementRepository(session)
        async for record in measurements.records_since(since):
            report.records += 1
            report.kinds[record.kind] += 1
            _count(report, record.kind, record.payload or {})
        await _optional_tables(report, measurements, since)
    return report


def _count(report: Report, kind: str, payload: dict[str, Any]) -> None:
    if payload.get("usage"):
        name = payload.get("model") or "none"
        used = usage_from(payload["usage"])
        spend = report.models.setdefault(name, ModelSpend())
        spend.calls += 1
        spend.usage += used
        spend.cost += cost_of(used, payload.get("model"))
    if kind not in QUESTION_KINDS:
        return
    status = payload.get("status") or ("refused" if kind == "question.refused" else "unknown")
    report.statuses[status] += 1
    if payload.get("version"):
        report.versions[payload["version"]] += 1
    for stage, ms in (payload.get("latency_ms") or {}).items():
        report.latency_ms.setdefault(stage, []).append(float(ms))
    if status == "no_answer" and payload.get("question"):
        report.unanswered[" ".join(str(payload["question"]).split())] += 1


async def _optional_tables(
    report: Report, measurements: MeasurementRepository, since: datetime | None
) -> None:
    flags = await measurements.table_columns("flags")
    if flags and "status" in flags:
        report.flags = await measurements.count_by(
            "flags", "status", since=since, time_column=_time(flags)
        )
    feedback = await measurements.table_columns("answer_feedback")
    if feedback and "helpful" in feedback:
        votes = await measurements.count_by(
            "answer_feedback", "helpful", since=since, time_column=_time(feedback)
        )
        report.feedback = {
            ("helpful" if v in ("True", "1", "true") else "not helpful"): n
            for v, n in votes.items()
        }
    drafts = await measurements.table_columns("drafts")
    if drafts and "state" in drafts:
        report.approvals = await measurements.count_by(
            "drafts", "state", since=since, time_column=_time(drafts)
        )
        if {"created_at", "decided_at"} <= drafts:
            report.turnaround_s = await measurements.durations(
                "drafts", start="created_at", end="decided_at", since=since
            )
    outbox = await measurements.table_columns("outbox")
    if outbox and "state" in outbox:
        report.downstream = await measurements.count_by(
            "outbox", "state", since=since, time_column=_time(outbox)
        )


def _time(columns: set[str]) -> str | None:
    return "created_at" if "created_at" in columns else None


# --- Rendering --------------------------------------------------------------------------


def render(report: Report, console: Console) -> None:
    period = f"since {report.since:%Y-%m-%d %H:%M} UTC" if report.since else "all time"
    console.print(
        f"[bold]Trellis report[/bold], {period} ({counted(report.records, 'audit record')})"
    )
    console.print(_questions(report))
    if report.latency_ms:
        console.print(_latency(report))
    console.print(_spend(report))
    extras = _extras(report)
    if extras.row_count:
        console.print(extras)
    if report.unanswered:
        console.print(_unanswered(report))


def _questions(report: Report) -> Table:
    table = Table(title="Questions", title_justify="left")
    table.add_column("status")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    for status in (*STATUSES, *sorted(set(report.statuses) - set(STATUSES))):
        if report.statuses[status] or status in STATUSES:
            table.add_row(status, str(report.statuses[status]), f"{report.rate(status):.0%}")
    table.add_row("[bold]total[/bold]", f"[bold]{report.questions}[/bold]", "")
    table.caption = (
        f"answer rate {report.rate('answered'):.0%} · no-answer rate {report.rate('no_answer'):.0%}"
    )
    if report.versions:
        table.caption += " · versions " + ", ".join(
            f"{v} ({n})" for v, n in report.versions.most_common()
        )
    return table


def _latency(report: Report) -> Table:
    table = Table(title="Latency per stage (ms)", title_justify="left")
    for column in ("stage", "count", "p50", "p95"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    order = ["identity", "retrieval", "answer", "total"]
    stages = [s for s in order if s in report.latency_ms]
    stages += sorted(set(report.latency_ms) - set(order))
    for stage in stages:
        values = report.latency_ms[stage]
        table.add_row(
            stage,
            str(len(values)),
            f"{percentile(values, 0.5):.1f}",
            f"{percentile(values, 0.95):.1f}",
        )
    return table


def _spend(report: Report) -> Table:
    table = Table(title="Tokens and cost (USD)", title_justify="left")
    for column in ("model", "calls", "input", "output", "cache write", "cache read", "cost"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, spend in sorted(report.models.items()):
        table.add_row(name, str(spend.calls), *_tokens_and_cost(spend.usage, spend.cost))
    table.add_row(
        "[bold]total[/bold]",
        str(sum(s.calls for s in report.models.values())),
        *_tokens_and_cost(report.usage, report.cost),
    )
    cost = report.cost
    table.caption = (
        f"input ${cost.input:.4f} · output ${cost.output:.4f} · cache write "
        f"${cost.cache_write:.4f} · cache read ${cost.cache_read:.4f}"
    )
    return table


def _tokens_and_cost(usage: Usage, cost: Cost) -> list[str]:
    return [
        f"{usage.input_tokens:,}",
        f"{usage.output_tokens:,}",
        f"{usage.cache_write_tokens:,}",
        f"{usage.cache_read_tokens:,}",
        f"${cost.total:.4f}",
    ]


def _extras(report: Report) -> Table:
    table = Table(title="Flags, feedback, approvals, actions", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, counts in (
        ("flags", report.flags),
        ("feedback", report.feedback),
        ("approvals", report.approvals),
        ("downstream actions", report.downstream),
    ):
        for key, count in sorted((counts or {}).items()):
            table.add_row(f"{label}: {key}", str(count))
    if report.turnaround_s:
        values = report.turnaround_s
        table.add_row(
            "approval turnaround p50 / p95",
            f"{_duration(percentile(values, 0.5))} / {_duration(percentile(values, 0.95))}",
        )
    return table


def _unanswered(report: Report) -> Table:
    table = Table(title="Top unanswered questions", title_justify="left")
    table.add_column("asked", justify="right")
    table.add_column("question")
    for question, count in report.unanswered.most_common(TOP_UNANSWERED):
        table.add_row(str(count), escape(question[:120]))
    return table


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


async def report_for(settings: Settings, *, since: timedelta | None) -> Report:
    """`trellis report`: the period up to now, from the configured database."""
    now = datetime.now(UTC)
    async with open_database(settings.database_url) as database:
        return await build_report(database, since=now - since if since else None, now=now)
