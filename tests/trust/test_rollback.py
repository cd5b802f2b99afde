"""A rollback never loses what is in the workspace folder, never puts a refused version
live unasked, and takes only a version named unambiguously.

On a copy of the starter workspace, on SQLite and on PostgreSQL, with the real gate.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.config.snapshots import files_version, snapshot
from app.db.models.records import AuditRecord
from app.db.repositories.versions import VersionRepository
from app.errors import TrellisError
from app.trust import serving
from app.trust.corrections import append_eval_case
from app.trust.rollback import rollback, version_prefix
from tests.trust.test_serving import edit, gate_for, starter_copy, status_of


async def two_live_versions(tmp_path, database):
    """The starter workspace went live, then a change of its name did: (root, first, second)."""
    root = starter_copy(tmp_path)
    first = (await serving.choose(gate_for(database, root), root, by="run")).workspace.version
    edit(root, "trellis.yml", "name: Example Co", "name: Example Co Ltd")
    (root / "evals" / "more.yml").write_text(
        "cases:\n  - id: office-again\n    question: When does the office open?\n"
        "    asker: sam@example.com\n    expect_status: answered\n"
        "    expect_sources: [handbook/office-hours]\n"
    )
    second = await serving.choose(gate_for(database, root), root, by="run")
    assert second.from_folder and second.workspace.version != first
    return root, first, second.workspace.version


async def test_unsaved_edits_stop_a_rollback_and_forced_they_are_kept_first(tmp_path, database):
    root, first, second = await two_live_versions(tmp_path, database)
    edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: 0.6")  # never reloaded
    edited = snapshot(root)

    with pytest.raises(TrellisError) as caught:
        await rollback(gate_for(database, root), root, first[:6])
    message = caught.value.user_message
    assert "never put through the eval gate" in message and "trellis.yml" in message
    assert "--force" in message and "`trellis reload`" in message
    assert snapshot(root) == edited  # nothing was written
    assert await status_of(database, second) == "live"

    done = await rollback(gate_for(database, root), root, first[:6], force=True)
    assert done.version == first and done.status == "live" and done.previous == second
    assert done.kept is not None and done.removed == ("evals/more.yml",)
    assert not (root / "evals" / "more.yml").exists()
    assert await status_of(database, done.kept) == "saved"
    assert await status_of(database, first) == "live"

    # The kept edits come back as they were; the gate, not the rollback, judges them.
    back = await rollback(gate_for(database, root), root, done.kept[:8])
    assert back.status == "saved" and back.previous == first
    assert snapshot(root) == edited
    assert await status_of(database, first) == "live"
    served = await serving.choose(gate_for(database, root), root, by="run")
    assert served.from_folder and served.verdict and served.verdict.outcome == "live"


async def test_a_refused_version_goes_live_only_when_asked_and_says_it_was_refused(
    tmp_path, database
):
    root, _, live = await two_live_versions(tmp_path, database)
    edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: 0.999")
    refused = (await serving.choose(gate_for(database, root), root, by="run")).folder_version
    assert await status_of(database, refused) == "refused"
    await rollback(gate_for(database, root), root, live)  # the folder is the live one again

    with pytest.raises(TrellisError) as caught:
        await rollback(gate_for(database, root), root, refused[:4])
    assert f"Version {refused} was refused by the eval gate" in caught.value.user_message
    assert "status accuracy" in caught.value.user_message
    assert "--allow-refused" in caught.value.user_message
    assert await status_of(database, live) == "live"

    done = await rollback(gate_for(database, root), root, refused[:4], allow_refused=True)
    assert done.status == "live" and "status accuracy" in done.refused
    async with database.session() as session:
        row = await VersionRepository(session).get(refused)
        query = select(AuditRecord).where(AuditRecord.kind == "version.rollback")
        record = (await session.execute(query)).scalars().all()[-1]
    assert row is not None and "though the eval gate had refused it" in row.reason
    assert record.payload["refused"] and record.payload["previous"] == live


async def test_a_version_that_no_longer_loads_is_said_so_without_offering_a_flag(
    tmp_path, database
):
    root, _, live = await two_live_versions(tmp_path, database)
    edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: [")
    verdict, _ = await gate_for(database, root).consider(root, live_version=live)
    broken = verdict.version  # `trellis reload` keeps a folder that does not load, refused
    assert verdict.outcome == "broken" and await status_of(database, broken) == "refused"
    await rollback(gate_for(database, root), root, live, force=True)
    for allow_refused in (False, True):
        with pytest.raises(TrellisError) as caught:
            await rollback(gate_for(database, root), root, broken, allow_refused=allow_refused)
        said = caught.value.user_message
        assert f"Version {broken} no longer loads" in said and "--allow-refused" not in said
    assert await status_of(database, live) == "live"


async def test_a_rollback_to_a_version_without_corrections_keeps_the_owners_corrections(
    tmp_path, database
):
    root, first, second = await two_live_versions(tmp_path, database)
    append_eval_case(
        root,
        {
            "id": "correction-office-hours",
            "question": "What time does the office open?",
            "asker": "sam@example.com",
            "expect_status": "answered",
            "expect_sources": ["handbook/office-hours"],
        },
    )
    corrections = (root / "evals" / "corrections.yml").read_text()
    third = await serving.choose(gate_for(database, root), root, by="run")
    assert third.from_folder and third.workspace.version not in (first, second)

    done = await rollback(gate_for(database, root), root, first)
    assert done.status == "live" and await status_of(database, first) == "live"
    assert (root / "evals" / "corrections.yml").read_text() == corrections
    assert "evals/corrections.yml" not in done.removed and "evals/more.yml" in done.removed
    assert done.kept_corrections == files_version(snapshot(root)) != first

    # The folder with the kept corrections is a change like any other: the gate judges it.
    served = await serving.choose(gate_for(database, root), root, by="run")
    assert served.from_folder and served.workspace.version == done.kept_corrections


async def test_a_rollback_to_a_version_with_its_own_corrections_brings_back_that_copy(
    tmp_path, database
):
    root, _, second = await two_live_versions(tmp_path, database)
    case = {
        "id": "correction-office-hours",
        "question": "What time does the office open?",
        "asker": "sam@example.com",
        "expect_status": "answered",
        "expect_sources": ["handbook/office-hours"],
    }
    append_eval_case(root, case)
    with_one = (root / "evals" / "corrections.yml").read_text()
    third = (await serving.choose(gate_for(database, root), root, by="run")).workspace.version
    append_eval_case(root, {**case, "id": "correction-office-again"})
    await serving.choose(gate_for(database, root), root, by="run")

    done = await rollback(gate_for(database, root), root, third)
    assert done.status == "live" and done.kept_corrections is None
    assert (root / "evals" / "corrections.yml").read_text() == with_one
    assert files_version(snapshot(root)) == third != second


async def test_a_rollback_to_what_is_live_and_in_the_folder_changes_nothing(tmp_path, database):
    root, _, live = await two_live_versions(tmp_path, database)
    done = await rollback(gate_for(database, root), root, live.upper())
    assert done.unchanged and done.version == live


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "name a version"),
        ("   ", "name a version"),
        ("3", "at least 4 characters"),
        ("3f2", "at least 4 characters"),
        ("zzzz", "not a version"),
        ("3f2a%", "not a version"),
    ],
)
def test_a_version_is_named_by_at_least_four_hexadecimal_characters(typed, says):
    with pytest.raises(ValueError, match=says):
        version_prefix(typed)


def test_a_version_prefix_is_read_as_typed():
    assert version_prefix(" 3F2A ") == "3f2a"


async def test_an_ambiguous_prefix_names_each_version_it_could_be(tmp_path, database):
    root = starter_copy(tmp_path)
    files = json.dumps(snapshot(root))
    async with database.session() as session:
        repo = VersionRepository(session)
        now = datetime.now(UTC)
        await repo.save(version="abcd00000001", files=files, status="live", now=now)
        await repo.save(version="abcd00000002", files=files, status="refused", now=now)
    with pytest.raises(TrellisError) as caught:
        await rollback(gate_for(database, root), root, "abcd")
    assert caught.value.user_message == (
        "abcd is the start of 2 versions: abcd00000001 (live), abcd00000002 (refused). "
        "Give more of the one you mean."
    )
