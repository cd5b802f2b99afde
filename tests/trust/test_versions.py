"""Versioning with an eval gate: a change goes live only when the golden set says it may.

The real app runs against the sandbox on a copy of the demo workspace; changes are
written into that copy's files, exactly as an operator would make them.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli.versions import rollback_from_cli
from app.config.settings import Settings
from app.config.snapshots import files_version, snapshot
from app.config.workspace import default_workspace_path, load_workspace, workspace_version
from app.db.models.records import AuditRecord
from app.db.models.versions import ConfigVersion
from app.db.repositories.knowledge import KnowledgeRepository
from app.db.repositories.versions import VersionRepository
from app.domain import VersionStatus
from app.knowledge.sync import reindexing
from app.trust import reload as reloading
from tests.harness import RunningTrellis, blocks_text, running_trellis
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"
OWNERS = "trellis-owners"
HOLIDAYS = "company-holidays-2026"


def demo_copy(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    return root


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


async def started(trellis: RunningTrellis) -> str:
    """The version the app answers with is the live one (as a start whose gate let the
    folder's files go live leaves it; its scores are measured when a change needs them)."""
    workspace = trellis.services.workspace
    async with trellis.services.database.session() as session:
        await VersionRepository(session).save(
            version=workspace.version,
            files=json.dumps(snapshot(workspace.root), sort_keys=True),
            status=VersionStatus.LIVE,
            now=datetime.now(UTC),
        )
    return workspace.version


async def owners_message(trellis: RunningTrellis, words: str, within: float = 30):
    return await trellis.sandbox.wait_for_message(
        trellis.channel(OWNERS), lambda m: words in (m.text or ""), within
    )


async def still_answers(trellis: RunningTrellis) -> str:
    ts = await trellis.ask(SAM, "support", QUESTION)
    return blocks_text((await trellis.answer_in_thread("support", ts)).blocks)


async def rows(trellis: RunningTrellis) -> dict[str, ConfigVersion]:
    async with trellis.services.database.session() as session:
        found = (await session.execute(select(ConfigVersion))).scalars().all()
    return {row.version: row for row in found}


async def audit_kinds(trellis: RunningTrellis, kind: str) -> list[AuditRecord]:
    async with trellis.services.database.session() as session:
        query = select(AuditRecord).where(AuditRecord.kind == kind).order_by(AuditRecord.seq)
        return list((await session.execute(query)).scalars())


def test_a_snapshot_has_the_same_version_as_the_folder(tmp_path):
    root = demo_copy(tmp_path)
    (root / "prompts" / "answer.md").write_bytes(b"Line one\r\nLine two\r\n")
    assert files_version(snapshot(root)) == workspace_version(root) == load_workspace(root).version
    assert "prompts/answer.md" in snapshot(root) and "knowledge/hr/pto-2025.md" not in snapshot(
        root
    )


async def test_a_change_that_breaks_answers_is_refused_and_the_live_version_keeps_answering(
    tmp_path,
):
    root = demo_copy(tmp_path)
    async with running_trellis(tmp_path, workspace=root) as trellis:
        live = await started(trellis)
        edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: 0.99")
        verdict = await reloading.reload(trellis.services)
        assert verdict.outcome == "refused"
        assert "status accuracy" in verdict.reason and "below the minimum" in verdict.reason
        notice = await owners_message(trellis, "did not go live")
        assert verdict.version in notice.text and live in notice.text
        assert "Failing eval cases" in notice.text
        assert trellis.services.workspace.version == live
        assert "[1]" in await still_answers(trellis)
        record = (await audit_kinds(trellis, "question"))[-1]
        assert record.payload["version"] == live
        saved = await rows(trellis)
        assert saved[verdict.version].status == "refused"
        assert saved[verdict.version].eval_scores["status_accuracy"] < 0.8
        assert saved[live].status == "live"
        # Asked again, the same refused version is not evaluated or announced again.
        again = await reloading.reload(trellis.services)
        assert again.outcome == "refused" and again.repeated
        assert len(await audit_kinds(trellis, "version.refused")) == 1


async def test_scoring_below_the_live_version_is_refused_even_above_the_thresholds(tmp_path):
    root = demo_copy(tmp_path)
    async with running_trellis(tmp_path, workspace=root) as trellis:
        live = await started(trellis)
        edit(
            root,
            "trellis.yml",
            "min_confidence: 0.5",
            "min_confidence: 0.99\nevals: {min_status_accuracy: 0.1, min_source_recall: 0.0, "
            "min_fact_recall: 0.0}",
        )
        verdict = await reloading.reload(trellis.services)
        assert verdict.outcome == "refused"
        assert "below the live version's" in verdict.reason
        assert "below the minimum" not in verdict.reason
        assert verdict.baseline is not None and verdict.baseline.status_accuracy > 0.8
        assert trellis.services.workspace.version == live
        # The live version's own scores were measured on the way and kept.
        assert (await rows(trellis))[live].eval_scores["cases"] == len(trellis.workspace.evals)


async def test_a_broken_file_keeps_the_last_good_version_and_names_file_and_line(tmp_path):
    root = demo_copy(tmp_path)
    async with running_trellis(tmp_path, workspace=root) as trellis:
        live = await started(trellis)
        edit(
            root,
            "rules.yml",
            "    mode: act_after_approval\n",
            "    mode: act_after_approval\n      oops: [\n",
        )
        verdict = await reloading.reload(trellis.services)
        assert verdict.outcome == "broken"
        assert "rules.yml:" in verdict.reason
        notice = await owners_message(trellis, "could not be loaded")
        assert "rules.yml:" in notice.text and live in notice.text
        assert trellis.services.workspace.version == live
        assert "[1]" in await still_answers(trellis)


async def test_a_good_change_goes_live_and_answers_record_the_new_version(tmp_path):
    root = demo_copy(tmp_path)
    async with running_trellis(tmp_path, workspace=root) as trellis:
        live = await started(trellis)
        edit(root, "trellis.yml", "name: Northwind Outfitters", "name: Northwind Outfitters Ltd")
        verdict = await reloading.reload(trellis.services)
        assert verdict.outcome == "live", verdict.reason
        assert trellis.services.workspace.version == verdict.version != live
        assert trellis.services.workspace.config.name == "Northwind Outfitters Ltd"
        await owners_message(trellis, f"now answers with version `{verdict.version}`")
        await still_answers(trellis)
        assert (await audit_kinds(trellis, "question"))[-1].payload["version"] == verdict.version
        statuses = {v: r.status for v, r in (await rows(trellis)).items()}
        assert statuses == {live: "retired", verdict.version: "live"}
        metrics = trellis.services.metrics.exposition().decode()
        assert f'trellis_config_version{{version="{verdict.version}"}} 1.0' in metrics


async def test_rollback_restores_the_files_and_the_running_app_follows(tmp_path):
    root = demo_copy(tmp_path)
    original = snapshot(root)
    async with running_trellis(tmp_path, workspace=root) as trellis:
        first = await started(trellis)
        edit(root, "prompts/answer.md", "Be brief and concrete", "Be brief, concrete and kind")
        changed = await reloading.reload(trellis.services)
        assert changed.outcome == "live"
        settings = Settings(database_url=trellis.services.database.url, workspace=root)
        row = await rollback_from_cli(settings, first[:6])
        assert row.version == first and row.status == "live"
        assert snapshot(root) == original
        switched = await reloading.reload(trellis.services)
        assert switched.outcome == "live" and switched.repeated  # no second evaluation
        assert trellis.services.workspace.version == first
        assert len(await audit_kinds(trellis, "version.rollback")) == 1


async def test_the_watcher_reloads_when_a_workspace_file_changes(tmp_path):
    root = demo_copy(tmp_path)
    async with running_trellis(tmp_path, workspace=root) as trellis:
        live = await started(trellis)
        stop = asyncio.Event()
        watcher = asyncio.create_task(reloading.watch(trellis.services, stop=stop, interval_s=0.1))
        try:
            (root / "trellis.yml").write_text((root / "trellis.yml").read_text() + "\nflags: [\n")
            notice = await owners_message(trellis, "could not be loaded")
            assert "trellis.yml:" in notice.text
            assert trellis.services.workspace.version == live
        finally:
            stop.set()
            await watcher


async def fingerprint(trellis: RunningTrellis, doc_id: str) -> str:
    async with trellis.services.database.session() as session:
        return (await KnowledgeRepository(session).fingerprints())[doc_id].content_hash


async def reindexed(trellis: RunningTrellis, doc_id: str, before: str, within: float) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await fingerprint(trellis, doc_id) != before:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_document_changed_under_a_running_trellis_is_answered_from_its_new_text(tmp_path):
    root = demo_copy(tmp_path)
    async with running_trellis(tmp_path, workspace=root) as trellis:
        live = await started(trellis)
        assert "October 9" in await still_answers(trellis)
        before = await fingerprint(trellis, HOLIDAYS)
        stop = asyncio.Event()
        watcher = asyncio.create_task(reloading.watch(trellis.services, stop=stop, interval_s=0.1))
        try:
            edit(root, "knowledge/company/holidays-2026.md", "October 9, 2026", "October 16, 2026")
            assert await reindexed(trellis, HOLIDAYS, before, within=30)  # no command run
            answer = await still_answers(trellis)
            assert "October 16" in answer and "October 9" not in answer
            assert trellis.services.workspace.version == live  # knowledge is not a version
        finally:
            stop.set()
            await watcher


async def test_one_process_reindexes_at_a_time_and_the_watcher_waits_its_turn(tmp_path):
    root = demo_copy(tmp_path)
    async with running_trellis(tmp_path, workspace=root) as trellis:
        await started(trellis)
        before = await fingerprint(trellis, HOLIDAYS)
        database = trellis.services.database
        stop = asyncio.Event()
        async with reindexing(database, holder="another-replica", wait=False) as held:
            assert held
            watcher = asyncio.create_task(
                reloading.watch(trellis.services, stop=stop, interval_s=0.1)
            )
            try:
                edit(root, "knowledge/company/holidays-2026.md", "October 9", "October 16")
                assert not await reindexed(trellis, HOLIDAYS, before, within=2)
            except BaseException:
                stop.set()
                await watcher
                raise
        try:  # the other replica is done: the watcher takes its turn at its next look
            assert await reindexed(trellis, HOLIDAYS, before, within=30)
        finally:
            stop.set()
            await watcher


def test_versions_lists_scores_and_reload_refuses_from_the_command_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from app.cli.main import cli

    root = demo_copy(tmp_path)
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TRELLIS_WORKSPACE", str(root))
    runner = CliRunner()
    first = runner.invoke(cli, ["reload"])
    assert first.exit_code == 0, first.output
    live = load_workspace(root).version
    assert f"Version {live} is live" in first.output
    edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: 0.99")
    refused = runner.invoke(cli, ["reload"])
    assert refused.exit_code == 1
    assert "did not go live" in refused.output
    listed = runner.invoke(cli, ["versions"])
    assert listed.exit_code == 0
    assert live in listed.output and "live" in listed.output and "refused" in listed.output
    rolled = runner.invoke(cli, ["rollback", live])
    assert rolled.exit_code == 0, rolled.output
    assert load_workspace(root).version == live
    missing = runner.invoke(cli, ["rollback", "ffffffffffff"])
    assert missing.exit_code == 1 and "There is no version" in missing.output
    assert json.loads(json.dumps(snapshot(root)))  # the restored folder reads back cleanly
