"""`trellis report` adds up exactly what the audit trail holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from app.answering.pricing import cost_of, usage_from
from app.cli.main import cli
from app.cli.operations import offline_services
from app.config.settings import Settings
from app.config.workspace import default_workspace_path, load_workspace
from app.db.models.records import AuditRecord
from app.domain import Usage
from app.knowledge.ingest import ingest
from app.pipeline import Question, answer_question
from app.slack_people import SlackChannel
from app.trust.audit import AuditLog
from app.trust.report import build_report, parse_period, percentile
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")

DM = SlackChannel(id="D0REPORT1", name="", is_im=True)
ASKED = [
    ("sam.ortiz@northwind.example", "When is Trail Day in 2026?"),
    (
        "liam.carter@northwind.example",
        "What is the base salary range for a Senior Software Engineer?",
    ),
    ("rosa.delgado@northwind.example", "Who won the company chili cook-off?"),
    ("rosa.delgado@northwind.example", "Who won the company chili cook-off?"),
    ("gina@contractor.example", "How many PTO days do I get?"),
]


async def ask_all(database) -> None:
    workspace = load_workspace(default_workspace_path())
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    services = offline_services(Settings(database_url=database.url), workspace, database)
    for email, question in ASKED:
        person = workspace.directory.by_email(email)
        await answer_question(
            services,
            Question(
                text=question,
                channel=DM,
                person=person,
                slack_user_id=person.slack_id if person else f"cli:{email}",
            ),
        )


async def test_report_totals_match_the_audit_records(database):
    await ask_all(database)
    log = AuditLog(database)
    claude = Usage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=5000, cache_write_tokens=800
    )
    await log.record(
        kind="question",
        actor_email="sam.ortiz@northwind.example",
        payload={
            "question": "Modelled",
            "status": "answered",
            "model": "claude-sonnet-4-6",
            "usage": claude.__dict__,
            "latency_ms": {"answer": 900.0, "total": 950.0},
        },
    )
    await log.record(
        kind="eval.run", payload={"usage": claude.__dict__, "model": "claude-opus-4-6"}
    )
    log.clock = lambda: datetime.now(UTC) - timedelta(days=30)
    await log.record(kind="question", payload={"question": "Long ago", "status": "no_answer"})

    now = datetime.now(UTC)
    report = await build_report(database, since=now - timedelta(days=7), now=now)

    async with database.session() as session:
        records = (await session.execute(select(AuditRecord))).scalars().all()
    recent = [
        r
        for r in records
        if not r.kind.startswith("eval.") and r.payload.get("question") != "Long ago"
    ]
    questions = [r for r in recent if r.kind in ("question", "question.refused")]
    assert report.records == len(recent)
    assert report.questions == len(questions) == len(ASKED) + 1
    for status in ("answered", "no_answer", "refused"):
        assert report.statuses[status] == sum(r.payload["status"] == status for r in questions)
    assert report.statuses["refused"] == 1
    assert report.unanswered["Who won the company chili cook-off?"] == 2
    totals = [r.payload["latency_ms"]["total"] for r in questions if r.payload.get("latency_ms")]
    assert sorted(report.latency_ms["total"]) == sorted(totals)
    assert report.usage == claude
    spend = report.models["claude-sonnet-4-6"]
    assert spend.calls == 1 and spend.cost == cost_of(claude, "claude-sonnet-4-6")
    assert report.cost.cache_read == 5000 * 0.30 / 1_000_000
    assert report.cost.total == sum(
        cost_of(usage_from(r.payload.get("usage")), r.payload.get("model")).total for r in recent
    )
    versions = {r.payload["version"] for r in questions if r.payload.get("version")}
    assert set(report.versions) == versions


async def test_the_report_works_without_the_optional_tables(database):
    await ask_all(database)
    now = datetime.now(UTC)
    assert (await build_report(database, since=None, now=now)).flags is not None
    async with database.session() as session:
        await session.execute(text("DROP TABLE flags"))
    report = await build_report(database, since=None, now=now)
    assert report.flags is None
    assert report.questions == len(ASKED)


def test_periods_and_percentiles():
    assert parse_period("7d") == timedelta(days=7)
    assert parse_period("24h") == timedelta(hours=24)
    assert parse_period("2w") == timedelta(weeks=2)
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([], 0.5) == 0


async def test_trellis_report_prints_the_tables(sqlite_database, monkeypatch):
    await ask_all(sqlite_database)
    monkeypatch.setenv("TRELLIS_DATABASE_URL", sqlite_database.url)
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, cli, ["report", "--since", "7d"])
    assert result.exit_code == 0, result.output
    for heading in (
        "Questions",
        "Latency per stage",
        "Tokens and cost",
        "Top unanswered questions",
    ):
        assert heading in result.output
    assert "chili cook-off" in result.output
    wrong = await asyncio.to_thread(runner.invoke, cli, ["report", "--since", "soon"])
    assert wrong.exit_code == 2 and "not a period" in wrong.output
