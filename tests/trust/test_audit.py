"""The audit trail is a hash chain that shows any edit, deletion or reordering."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, update

from app.db.models.records import AuditRecord
from app.trust.audit import AuditLog


async def _fill(log: AuditLog, count: int) -> None:
    async with log.database.session() as session:
        for i in range(count):
            await log.append(
                session,
                kind="question",
                payload={"n": i, "text": f"q{i} ✓"},
                actor_email="ana@acme.example",
                subject_id=f"s{i}",
            )


async def test_untouched_chain_verifies(database):
    log = AuditLog(database)
    await _fill(log, 25)
    report = await log.verify()
    assert report.ok, report.problems
    assert report.records == 25


async def test_edited_record_is_detected(database):
    log = AuditLog(database)
    await _fill(log, 10)
    async with database.session() as session:
        await session.execute(
            update(AuditRecord)
            .where(AuditRecord.seq == 4)
            .values(payload={"n": 3, "text": "changed"})
        )
    report = await log.verify()
    assert any("record 4" in p and "altered" in p for p in report.problems)


async def test_deleted_record_is_detected(database):
    log = AuditLog(database)
    await _fill(log, 10)
    async with database.session() as session:
        await session.execute(delete(AuditRecord).where(AuditRecord.seq == 6))
    report = await log.verify()
    assert any("record 6 is missing" in p for p in report.problems)


async def test_truncated_tail_is_detected_against_a_recorded_head(database):
    log = AuditLog(database)
    await _fill(log, 10)
    head = await log.verify()
    async with database.session() as session:
        await session.execute(delete(AuditRecord).where(AuditRecord.seq >= 9))
    report = await log.verify(expected_head=(head.head_seq, head.head_hash))
    assert not report.ok
    assert any("ends at record 8" in p for p in report.problems)


async def test_concurrent_appends_form_one_chain(database):
    log = AuditLog(database)

    async def one(i: int) -> None:
        await log.record(kind="question", payload={"i": i})

    await asyncio.gather(*(one(i) for i in range(20)))
    report = await log.verify()
    assert report.ok, report.problems
    assert report.records == 20
