"""The golden set runs through the real pipeline, scores it, and catches leaks."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.answering.backends.extractive import ExtractiveAnswerer
from app.cli.main import cli
from app.config.settings import Settings
from app.config.workspace import EvalCase, default_workspace_path, load_workspace
from app.db.models.records import AuditRecord, PostedAnswer
from app.db.session import Database
from app.domain import Citation, ModelAnswer, Passage, Turn
from app.knowledge.ingest import ingest
from app.sandbox.company import SandboxDirectory
from app.trust import evals
from app.trust.corrections import new_curated
from app.trust.evals import run_evals
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")

LIAM = "liam.carter@northwind.example"
ROSA = "rosa.delgado@northwind.example"
SALARY_SENTENCE = (
    "New hires are offered between the minimum and the midpoint of the band; "
    "offers above the midpoint need approval from the CEO."
)


class LeakyAnswerer:
    """Answers like the extractive backend, then repeats a confidential sentence uncited."""

    name = "leaky"

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        answer = await ExtractiveAnswerer().answer(question=question, passages=passages)
        return dataclasses.replace(answer, text=f"{answer.text} {SALARY_SENTENCE}")


def trail_day_case(**expected) -> EvalCase:
    return EvalCase(
        id="trail-day",
        question="When is Trail Day in 2026?",
        asker=LIAM,
        expect_status="answered",
        expect_sources=["company-holidays-2026"],
        **expected,
    )


def demo_copy(tmp_path: Path, *, config_tail: str = "") -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    if config_tail:
        (root / "trellis.yml").write_text((root / "trellis.yml").read_text() + config_tail)
    return root


async def test_the_golden_set_is_asked_by_each_asker_and_scored_from_the_results():
    workspace = load_workspace(default_workspace_path())
    directory = SandboxDirectory.for_workspace(workspace)
    report = await run_evals(Settings(), workspace, directory=directory)
    results = {r.case_id: r for r in report.results}
    assert list(results) == [case.id for case in workspace.evals]
    assert results["unknown-asker-refused"].status == "refused"
    for denied in (
        "hr-salary-band-denied",
        "eng-sev1-acknowledge-denied",
        "drafts-visible-to-nobody",
    ):
        assert results[denied].status == "no_answer" and results[denied].cited == ()
    assert "hr-pto-2023" not in results["hr-pto-current-policy"].cited
    assert report.scores.leaks == 0
    assert report.scores.cases == len(workspace.evals)
    expected_accuracy = sum(r.status_ok for r in report.results) / len(report.results)
    assert report.scores.status_accuracy == round(expected_accuracy, 4)
    hits = sum(len(set(r.cited) & set(r.expected_sources)) for r in report.results)
    expected = sum(len(r.expected_sources) for r in report.results)
    assert report.scores.source_recall == round(hits / expected, 4)


async def test_restricted_text_in_an_answer_is_a_leak_even_without_a_citation():
    workspace = load_workspace(default_workspace_path())
    case = trail_day_case()
    directory = SandboxDirectory.for_workspace(workspace)
    report = await run_evals(
        Settings(), workspace, directory=directory, answerer=LeakyAnswerer(), cases=[case]
    )
    assert report.results[0].leaked == ("hr-salary-bands-2026",)
    assert not report.passed
    assert any("may not see" in reason for reason in report.shortfalls())
    clean = await run_evals(Settings(), workspace, directory=directory, cases=[case])
    assert clean.results[0].leaked == ()


async def test_an_answer_citing_the_right_document_but_not_stating_the_fact_fails():
    workspace = load_workspace(default_workspace_path())
    directory = SandboxDirectory.for_workspace(workspace)

    def case(facts: list[str]) -> EvalCase:
        return EvalCase(
            id="discount-approver",
            question="Who has to approve a discount of more than 25%?",
            asker=LIAM,
            channel="C0SALES01",
            expect_status="answered",
            expect_sources=["sales-discount-guidelines"],
            expect_facts=facts,
        )

    right = await run_evals(
        Settings(),
        workspace,
        directory=directory,
        cases=[case(["VP of Sales", "finance  controller"])],  # case and spacing aside
    )
    assert right.results[0].passed and right.scores.fact_recall == 1.0
    wrong = await run_evals(
        Settings(),
        workspace,
        directory=directory,
        cases=[case(["VP of Sales", "One sales manager"])],  # the row for 10-25 %
    )
    result = wrong.results[0]
    assert result.status_ok and result.sources_ok and not result.passed
    assert result.missing_facts == ("One sales manager",) and wrong.scores.fact_recall == 0.5
    assert any("fact recall 50%" in reason for reason in wrong.shortfalls())


async def test_an_eval_run_starts_from_productions_index(tmp_path, monkeypatch, database):
    root = demo_copy(tmp_path)
    workspace = load_workspace(root)
    production = database  # on SQLite and on PostgreSQL; the eval's own is SQLite
    await ingest(production, workspace.knowledge_dir, workspace_root=workspace.root)
    changed = root / "knowledge" / "company" / "holidays-2026.md"
    changed.write_text(
        changed.read_text().replace("Trail Day: Friday, October 9", "Trail Day: Friday, October 16")
    )
    scratch_ingests = []
    real_ingest = evals.ingest

    async def ingest_seen(*args, **kwargs):
        scratch_ingests.append(await real_ingest(*args, **kwargs))
        return scratch_ingests[-1]

    monkeypatch.setattr(evals, "ingest", ingest_seen)
    case = trail_day_case(expect_facts=["October 16"])  # the folder's, not production's index
    directory = SandboxDirectory.for_workspace(workspace)
    report = await run_evals(
        Settings(), workspace, directory=directory, cases=[case], production=production
    )
    assert report.results[0].passed, report.results[0]
    [scratch] = scratch_ingests  # only the changed document was read and embedded again
    assert (scratch.added, scratch.updated) == (0, 1) and scratch.unchanged > 20


def _cli_env(monkeypatch, tmp_path: Path, root: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'production.db'}"
    monkeypatch.setenv("TRELLIS_DATABASE_URL", url)
    monkeypatch.setenv("TRELLIS_WORKSPACE", str(root))
    return url


def test_trellis_eval_exits_non_zero_below_the_thresholds(tmp_path, monkeypatch):
    root = demo_copy(
        tmp_path, config_tail="evals: {min_status_accuracy: 0.0, min_source_recall: 0.0}\n"
    )
    _cli_env(monkeypatch, tmp_path, root)
    passing = CliRunner().invoke(cli, ["eval"])
    assert passing.exit_code == 0, passing.output
    assert "status accuracy" in passing.output and "passed" in passing.output
    text = (root / "trellis.yml").read_text().replace("min_confidence: 0.5", "min_confidence: 0.99")
    (root / "trellis.yml").write_text(
        text.replace("min_status_accuracy: 0.0", "min_status_accuracy: 0.9")
    )
    failing = CliRunner().invoke(cli, ["eval", "--json"])
    assert failing.exit_code == 1
    result = json.loads(failing.stdout)
    assert result["passed"] is False
    assert result["scores"]["status_accuracy"] < 0.9
    assert any("status accuracy" in reason for reason in result["shortfalls"])
    missed = [case for case in result["cases"] if not case["status_ok"]]
    assert missed and all(case["status"] == "no_answer" for case in missed)


async def test_an_eval_run_leaves_only_an_eval_record_in_production(tmp_path, monkeypatch):
    root = demo_copy(tmp_path)
    url = _cli_env(monkeypatch, tmp_path, root)
    await asyncio.to_thread(CliRunner().invoke, cli, ["eval"])
    database = Database(url)
    try:
        async with database.session() as session:
            kinds = (await session.execute(select(AuditRecord.kind))).scalars().all()
            answers = (await session.execute(select(PostedAnswer))).scalars().all()
    finally:
        await database.dispose()
    assert kinds == ["eval.run"]
    assert answers == []


async def test_accepted_corrections_in_production_are_part_of_the_eval_run(sqlite_database):
    workspace = load_workspace(default_workspace_path())
    case = EvalCase(
        id="chili",
        question="Who won the company chili cook-off?",
        asker=ROSA,
        expect_status="answered",
        expect_sources=["company-handbook"],
    )
    async with sqlite_database.session() as session:
        session.add(
            new_curated(
                curated_id="c-1",
                flag_id=None,
                question=case.question,
                answer="The support team won the 2026 chili cook-off.",
                citations=[
                    Citation(
                        doc_id="company-handbook",
                        title="Employee Handbook",
                        quote="Northwind Outfitters",
                    )
                ],
                approver_email="grace.adeyemi@northwind.example",
                approver_name="Grace Adeyemi",
                now=datetime.now(UTC),
            )
        )
    directory = SandboxDirectory.for_workspace(workspace)
    without = await run_evals(Settings(), workspace, directory=directory, cases=[case])
    assert without.results[0].status == "no_answer"
    carried = await run_evals(
        Settings(), workspace, directory=directory, cases=[case], production=sqlite_database
    )
    assert carried.results[0].status == "answered"
    assert carried.results[0].cited == ("company-handbook",)
