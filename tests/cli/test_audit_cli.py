"""`trellis audit verify` over a 10,000-record log: every edited, deleted or reordered
record is named, an untouched log passes, and a recorded head exposes a cut tail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner, Result

from app.cli.main import cli
from app.db.models.records import AuditRecord
from app.db.session import Database
from app.trust.audit import GENESIS_HASH, record_hash
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")

RECORDS = 10_000
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def fill(database: Database, count: int = RECORDS) -> None:
    """A genuine chain, built the way AuditLog.append builds it, inserted in one go."""
    previous = GENESIS_HASH
    records = []
    for seq in range(1, count + 1):
        record = AuditRecord(
            seq=seq,
            id=f"00000000-0000-4000-8000-{seq:012d}",
            kind="question",
            occurred_at=START + timedelta(seconds=seq),
            actor_slack_id=f"U{seq % 50:08d}",
            actor_email=f"person{seq % 50}@northwind.example",
            channel_id="C0SUPPORT1",
            subject_id=f"subject-{seq}",
            payload={"question": f"question {seq} ✓", "status": "answered", "n": seq},
            prev_hash=previous,
        )
        record.hash = record_hash(record)
        previous = record.hash
        records.append(record)
    async with database.session() as session:
        session.add_all(records)


async def verify(database: Database, monkeypatch, *args: str) -> Result:
    monkeypatch.setenv("TRELLIS_DATABASE_URL", database.url)
    return await asyncio.to_thread(CliRunner().invoke, cli, ["audit", "verify", *args])


async def change(database: Database, statement) -> None:
    async with database.session() as session:
        await session.execute(statement)


async def swap(database: Database, a: int, b: int) -> None:
    """Exchange the positions of two records, as someone reordering the log would."""
    await change(database, update(AuditRecord).where(AuditRecord.seq == a).values(seq=-1))
    await change(database, update(AuditRecord).where(AuditRecord.seq == b).values(seq=a))
    await change(database, update(AuditRecord).where(AuditRecord.seq == -1).values(seq=b))


@pytest.fixture
async def log(database: Database) -> Database:
    await fill(database)
    return database


async def test_an_untouched_log_of_ten_thousand_records_passes(log, monkeypatch):
    result = await verify(log, monkeypatch)
    assert result.exit_code == 0, result.output
    assert f"Audit chain intact: {RECORDS} records, head {RECORDS}:" in " ".join(
        result.output.split()
    )


async def test_every_edited_deleted_or_reordered_record_is_named(log, monkeypatch):
    await change(
        log,
        update(AuditRecord)
        .where(AuditRecord.seq == 1234)
        .values(payload={"question": "question 1234 ✓", "status": "no_answer", "n": 1234}),
    )
    await change(
        log,
        update(AuditRecord)
        .where(AuditRecord.seq == 5000)
        .values(actor_email="someone.else@northwind.example"),
    )
    await change(log, delete(AuditRecord).where(AuditRecord.seq == 777))
    await change(log, delete(AuditRecord).where(AuditRecord.seq.in_([8001, 8002])))
    await swap(log, 3000, 3001)
    result = await verify(log, monkeypatch)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "record 1234 (00000000-0000-4000-8000-000000001234) was altered" in output
    assert "record 5000 (00000000-0000-4000-8000-000000005000) was altered" in output
    assert "record 777 is missing" in output
    assert "record 8001 is missing (next is 8003)" in output
    assert "record 3000 (00000000-0000-4000-8000-000000003001) does not follow" in output
    assert "record 3001 (00000000-0000-4000-8000-000000003000) does not follow" in output
    assert "record 1235" not in output and "record 4999 " not in output


async def test_an_edit_with_a_recomputed_hash_still_breaks_the_next_link(log, monkeypatch):
    async with log.session() as session:
        record = await session.get(AuditRecord, 4321)
        record.payload = {"question": "rewritten", "status": "answered", "n": 4321}
        record.hash = record_hash(record)
    result = await verify(log, monkeypatch)
    assert result.exit_code == 1
    assert "record 4322 (00000000-0000-4000-8000-000000004322) does not follow" in " ".join(
        result.output.split()
    )


async def test_a_recorded_head_exposes_a_cut_tail(log, monkeypatch, tmp_path: Path):
    head_file = tmp_path / "audit-head"
    first = await verify(log, monkeypatch, "--head-file", str(head_file))
    assert first.exit_code == 0, first.output
    assert head_file.read_text().startswith(f"{RECORDS}:")
    monkeypatch.setenv("TRELLIS_DATABASE_URL", log.url)
    printed = await asyncio.to_thread(CliRunner().invoke, cli, ["audit", "head"])
    assert printed.stdout.strip() == head_file.read_text().strip()

    await change(log, delete(AuditRecord).where(AuditRecord.seq > RECORDS - 10))
    # What is left still links up: only the recorded head shows the cut.
    assert (await verify(log, monkeypatch)).exit_code == 0
    cut = await verify(log, monkeypatch, "--head-file", str(head_file))
    assert cut.exit_code == 1
    assert (
        f"the chain ends at record {RECORDS - 10}, but record {RECORDS} was recorded"
        in " ".join(cut.output.split())
    )
    assert head_file.read_text().startswith(f"{RECORDS}:")  # a failed check records nothing
    explicit = await verify(log, monkeypatch, "--head", head_file.read_text().strip())
    assert explicit.exit_code == 1


async def test_audit_and_report_take_the_workspace_option_like_every_other_command(
    database: Database, monkeypatch, tmp_path: Path
):
    from app.config.workspace import default_workspace_path

    await fill(database, 5)
    monkeypatch.setenv("TRELLIS_DATABASE_URL", database.url)
    workspace = str(default_workspace_path())
    runner = CliRunner()
    for command in (["audit", "verify"], ["audit", "head"], ["report", "--since", "all"]):
        result = await asyncio.to_thread(runner.invoke, cli, [*command, "--workspace", workspace])
        assert result.exit_code == 0, (command, result.output)
    missing = await asyncio.to_thread(
        runner.invoke, cli, ["report", "--workspace", str(tmp_path / "nowhere")]
    )
    assert missing.exit_code == 2
    assert "nowhere" in " ".join(missing.output.split())


async def test_a_head_recorded_while_the_chain_was_empty_is_checked_like_any_other(
    database: Database, monkeypatch, tmp_path: Path
):
    head_file = tmp_path / "audit-head"
    empty = await verify(database, monkeypatch, "--head-file", str(head_file))
    assert empty.exit_code == 0, empty.output
    assert head_file.read_text().strip() == f"0:{GENESIS_HASH}"
    await fill(database, 3)
    grown = await verify(database, monkeypatch, "--head-file", str(head_file))
    assert grown.exit_code == 0, grown.output
    assert "Audit chain intact: 3 records" in " ".join(grown.output.split())
    forged = await verify(database, monkeypatch, "--head", "0:" + "1" * 64)
    assert forged.exit_code == 1
    assert "record 0 differs from the recorded head" in forged.output
