"""What a command that answers serves: the folder's files once the eval gate let them go
live, otherwise the live version from its stored files, otherwise nothing at all.

Each test works on a copy of the starter workspace `trellis init` writes (its own eval
set), on SQLite and on PostgreSQL, with the real gate, evaluation and audit trail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli.operations import offline_directory
from app.cli.workspaces import STARTER
from app.config.settings import Settings
from app.db.models.records import AuditRecord
from app.db.repositories.versions import VersionRepository
from app.db.session import Database
from app.errors import WorkspaceError
from app.trust import serving
from app.trust.versions import Gate


def starter_copy(tmp_path: Path) -> Path:
    root = tmp_path / "acme"
    shutil.copytree(STARTER, root)
    return root


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new))


def gate_for(database: Database, root: Path) -> Gate:
    settings = Settings(database_url=database.url, workspace=root, anthropic_api_key=None)
    return serving.gate(settings, database, directory_for=offline_directory)


async def records(database: Database, kind: str) -> list[AuditRecord]:
    async with database.session() as session:
        query = select(AuditRecord).where(AuditRecord.kind == kind).order_by(AuditRecord.seq)
        return list((await session.execute(query)).scalars())


async def status_of(database: Database, version: str) -> str | None:
    async with database.session() as session:
        row = await VersionRepository(session).get(version)
    return row.status if row else None


async def test_new_files_pass_the_gate_before_they_are_served(tmp_path, database):
    root = starter_copy(tmp_path)
    served = await serving.choose(gate_for(database, root), root, by="run")
    assert served.from_folder and served.verdict is not None
    assert served.verdict.outcome == "live" and served.verdict.report is not None
    assert served.verdict.report.scores.cases == 5
    assert await status_of(database, served.workspace.version) == "live"
    (record,) = await records(database, "version.live")
    assert record.payload["by"] == "run" and record.payload["untested"] is False
    assert served.notes() == [
        f"Version {served.workspace.version} passed the eval gate and is live."
    ]

    again = await serving.choose(gate_for(database, root), root, by="ask")
    assert again.from_folder and again.verdict is None and again.notes() == []
    assert len(await records(database, "eval.run")) == 1  # not evaluated a second time


async def test_refused_files_are_not_served_the_live_version_answers_from_its_stored_files(
    tmp_path, database
):
    root = starter_copy(tmp_path)
    live = (await serving.choose(gate_for(database, root), root, by="run")).workspace.version
    edit(root, "trellis.yml", "name: Example Co", "name: Refused Co")
    edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: 0.999")

    served = await serving.choose(gate_for(database, root), root, by="run")
    assert not served.from_folder
    assert served.workspace.version == live != served.folder_version
    assert served.workspace.config.name == "Example Co"
    assert served.workspace.config.answers.min_confidence == 0.5
    # Knowledge and sandbox.yml are not part of a version: they come from the folder.
    assert served.workspace.root == root.resolve()
    assert served.workspace.knowledge_dir == root.resolve() / "knowledge"
    assert served.workspace.sandbox is not None and served.workspace.sandbox["channels"]
    assert await status_of(database, served.folder_version) == "refused"
    assert await status_of(database, live) == "live"
    (note,) = served.notes()
    assert f"holds version {served.folder_version}, which did not go live" in note
    assert "status accuracy" in note and f"Serving version {live}" in note
    assert f"`trellis rollback {live}`" in note and "`trellis reload`" in note
    (refused,) = await records(database, "version.refused")
    assert refused.payload["by"] == "run" and refused.payload["previous"] == live

    evaluated = len(await records(database, "eval.run"))
    again = await serving.choose(gate_for(database, root), root, by="ask")
    assert again.workspace.version == live and again.verdict and again.verdict.repeated
    assert len(await records(database, "eval.run")) == evaluated
    assert len(await records(database, "version.refused")) == 1


async def test_nothing_is_served_when_no_version_ever_went_live(tmp_path, database):
    root = starter_copy(tmp_path)
    edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: 0.999")
    with pytest.raises(serving.NothingLive) as caught:
        await serving.choose(gate_for(database, root), root, by="run")
    message = caught.value.user_message
    assert str(root) in message and "did not pass the eval gate" in message
    assert "no earlier version ever went live" in message and "`trellis eval`" in message
    async with database.session() as session:
        assert await VersionRepository(session).live() is None

    # An operator trying the folder out is answered from it, told it may not go live
    tried = await serving.choose(gate_for(database, root), root, by="ask", trial=True)
    assert tried.from_folder and tried.trial and tried.verdict is not None
    (note,) = [n for n in tried.notes() if "did not pass the eval gate" in n]
    assert "no version is live yet" in note and "`trellis run` will not answer" in note
    async with database.session() as session:
        assert await VersionRepository(session).live() is None  # nothing went live


async def test_a_folder_that_does_not_load_stops_with_file_and_line(tmp_path, database):
    root = starter_copy(tmp_path)
    await serving.choose(gate_for(database, root), root, by="run")
    (root / "rules.yml").write_text((root / "rules.yml").read_text() + "\n  oops: [\n")
    with pytest.raises(WorkspaceError) as caught:
        await serving.choose(gate_for(database, root), root, by="run")
    assert caught.value.file == "rules.yml" and caught.value.line


async def test_a_read_only_report_describes_the_live_version_without_evaluating(tmp_path, database):
    root = starter_copy(tmp_path)
    live = (await serving.choose(gate_for(database, root), root, by="run")).workspace.version
    edit(root, "trellis.yml", "name: Example Co", "name: Not Judged Yet")
    served = await serving.choose(gate_for(database, root), root, by="about", evaluate=False)
    assert served.workspace.version == live and served.workspace.config.name == "Example Co"
    (note,) = served.notes()
    assert "has not been through the eval gate" in note and "`trellis reload`" in note
    async with database.session() as session:
        runs = await session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.kind == "eval.run")
        )
    assert runs == 1


async def test_a_version_without_eval_cases_goes_live_only_while_nothing_live_had_any(
    tmp_path, database
):
    root = starter_copy(tmp_path)
    cases = (root / "evals" / "starter.yml").read_text()
    (root / "evals" / "starter.yml").unlink()
    untested = await serving.choose(gate_for(database, root), root, by="run")
    assert untested.from_folder and untested.verdict and untested.verdict.untested
    assert "has no eval cases: the eval gate tests nothing" in untested.notes()[-1]
    (record,) = await records(database, "version.live")
    assert record.payload["untested"] is True

    (root / "evals" / "starter.yml").write_text(cases)
    tested = await serving.choose(gate_for(database, root), root, by="run")
    assert tested.from_folder and tested.verdict and not tested.verdict.untested

    # Emptying evals/ again is not a way past the gate.
    edit(root, "trellis.yml", "name: Example Co", "name: Untested Co")
    (root / "evals" / "starter.yml").unlink()
    dropped = await serving.choose(gate_for(database, root), root, by="run")
    assert dropped.workspace.version == tested.workspace.version
    assert dropped.verdict and dropped.verdict.outcome == "refused"
    assert "it has no eval cases" in dropped.verdict.reason
    assert "the live version was tested on 5" in dropped.verdict.reason
