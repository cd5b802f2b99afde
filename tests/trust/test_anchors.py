"""Audit anchors: the chain's head posted to the owners channel by the scheduled job, and
`trellis audit verify` checking against the latest one, from Slack or from the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner, Result

from app.cli.main import cli
from app.db.models.records import AuditRecord
from app.db.session import Database
from app.delivery.retry import OutboxPolicy
from app.trust import anchors
from app.trust.audit import record_hash
from tests.harness import RunningTrellis, running_trellis
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")


async def fill(trellis: RunningTrellis, count: int = 6) -> None:
    for n in range(count):
        await trellis.services.audit.record(kind="question", payload={"question": f"q{n}"})


async def verify(
    trellis: RunningTrellis, monkeypatch: pytest.MonkeyPatch, *args: str, slack: bool = True
) -> Result:
    monkeypatch.setenv("TRELLIS_DATABASE_URL", trellis.services.database.url)
    monkeypatch.setenv("TRELLIS_WORKSPACE", str(trellis.workspace.root))
    if slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", trellis.sandbox.bot_token)
        monkeypatch.setenv("TRELLIS_SLACK_API_URL", trellis.sandbox.api_url)
    else:
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return await asyncio.to_thread(CliRunner().invoke, cli, ["audit", "verify", *args])


def said(result: Result) -> str:
    return " ".join(result.output.split())


async def edit_and_recompute(database: Database, seq: int) -> None:
    """Change one record and recompute every later hash, as a careful forger would."""
    async with database.session() as session:
        records = (
            (await session.execute(select(AuditRecord).order_by(AuditRecord.seq))).scalars().all()
        )
        previous = None
        for record in records:
            if record.seq == seq:
                record.payload = {"question": "something else entirely"}
            if previous is not None:
                record.prev_hash = previous
            if record.seq >= seq:
                record.hash = record_hash(record)
            previous = record.hash


async def truncate(database: Database, *, above: int) -> None:
    async with database.session() as session:
        await session.execute(delete(AuditRecord).where(AuditRecord.seq > above))


def anchor_messages(trellis: RunningTrellis) -> list[str]:
    channel = trellis.channel("trellis-owners")
    return [
        m.text
        for m in trellis.sandbox.messages(channel)
        if m.user == trellis.bot and m.text.startswith("Audit anchor ")
    ]


async def test_the_job_posts_the_head_to_the_owners_channel_and_records_it(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        await fill(trellis)
        head = await trellis.services.audit.verify()
        anchor = await anchors.publish_anchor(trellis.services)
        assert anchor is not None
        assert anchor_messages(trellis) == [f"Audit anchor {head.head_seq}:{head.head_hash}"]
        recorded = await anchors.recorded_anchor(trellis.services.database)
        assert recorded is not None
        assert (recorded.seq, recorded.hash) == (head.head_seq, head.head_hash)
        assert (recorded.channel, recorded.ts) == (trellis.channel("trellis-owners"), anchor.ts)
        # Not due again until the interval has passed.
        assert await anchors.publish_anchor(trellis.services) is None
        later = trellis.services.clock() + timedelta(hours=25)
        await trellis.services.audit.record(kind="question", payload={"question": "one more"})
        assert await anchors.publish_anchor(trellis.services, now=later) is not None
        assert len(anchor_messages(trellis)) == 2


async def test_the_scheduler_runs_the_anchor_job(tmp_path):
    async with running_trellis(tmp_path, background=OutboxPolicy()) as trellis:
        assert trellis.background is not None
        job = trellis.background.scheduler.get_job(anchors.ANCHOR_JOB)
        assert job is not None
        assert job.trigger.interval == timedelta(hours=1)


async def test_verify_checks_against_the_anchor_in_slack_and_catches_an_edit_and_recompute(
    tmp_path, monkeypatch
):
    async with running_trellis(tmp_path) as trellis:
        await fill(trellis)
        anchor = await anchors.publish_anchor(trellis.services)
        assert anchor is not None
        result = await verify(trellis, monkeypatch)
        assert result.exit_code == 0, result.output
        assert f"Checked against the anchor {anchor.seq}:{anchor.hash} posted in Slack" in said(
            result
        )

        await edit_and_recompute(trellis.services.database, seq=2)
        # The chain alone still links up: what the README used to call detected is not.
        unanchored = await verify(trellis, monkeypatch, "--no-anchor")
        assert unanchored.exit_code == 0, unanchored.output
        result = await verify(trellis, monkeypatch)
        assert result.exit_code == 1, result.output
        assert f"record {anchor.seq} differs from the recorded head" in said(result)


async def test_verify_against_the_anchor_in_slack_catches_a_cut_tail(tmp_path, monkeypatch):
    async with running_trellis(tmp_path) as trellis:
        await fill(trellis)
        anchor = await anchors.publish_anchor(trellis.services)
        assert anchor is not None
        # Cut below the anchor, the anchor's own record included: the database forgets it,
        # Slack does not.
        await truncate(trellis.services.database, above=anchor.seq - 2)
        assert (await verify(trellis, monkeypatch, "--no-anchor")).exit_code == 0
        result = await verify(trellis, monkeypatch)
        assert result.exit_code == 1, result.output
        assert f"but record {anchor.seq} was recorded as the head" in said(result)


async def test_only_the_bots_own_anchor_messages_count(tmp_path, monkeypatch):
    async with running_trellis(tmp_path) as trellis:
        await fill(trellis)
        anchor = await anchors.publish_anchor(trellis.services)
        assert anchor is not None
        await trellis.sandbox.post_message(
            trellis.user("rosa.delgado@northwind.example"),
            trellis.channel("trellis-owners"),
            f"Audit anchor 1:{'f' * 64}",
        )
        result = await verify(trellis, monkeypatch)
        assert result.exit_code == 0, result.output
        assert f"anchor {anchor.seq}:{anchor.hash} posted in Slack" in said(result)


async def test_without_slack_verify_uses_the_recorded_anchor(tmp_path, monkeypatch):
    async with running_trellis(tmp_path) as trellis:
        await fill(trellis)
        anchor = await anchors.publish_anchor(trellis.services)
        assert anchor is not None
        result = await verify(trellis, monkeypatch, slack=False)
        assert result.exit_code == 0, result.output
        assert (
            f"Checked against the anchor {anchor.seq}:{anchor.hash} recorded in the database"
            in (said(result))
        )
        await edit_and_recompute(trellis.services.database, seq=3)
        result = await verify(trellis, monkeypatch, slack=False)
        assert result.exit_code == 1, result.output
        assert f"record {anchor.seq} differs from the recorded head" in said(result)
