"""Kill -9 the worker process again and again: every approved action is delivered once.

The worker runs in a child process (tests/outbox_child.py) that is killed with SIGKILL at
random moments, between claiming, calling the receiver and recording, then restarted. The
receiver stores one delivery per Idempotency-Key and counts every attempt.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from sqlalchemy import func, select

from app.approvals.drafts import DraftState
from app.db.models.approvals import OutboxAction
from tests.approval_helpers import SOFIA, pending_discount, person, webhook_action
from tests.delivery.test_outbox import SECRET, real_approvals
from tests.peers.webhook_receiver import WebhookReceiver
from tests.workflow_helpers import eventually

ROOT = Path(__file__).resolve().parents[2]
KILLS = 10


async def start_child(url: str) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.outbox_child",
        url,
        cwd=ROOT,
        env={**os.environ, "HOOK_SECRET": SECRET},
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    async with asyncio.timeout(30):
        assert (await child.stdout.readline()).strip() == b"ready"
    return child


async def kill(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        child.send_signal(signal.SIGKILL)
    await child.wait()


async def open_actions(database) -> int:
    async with database.session() as session:
        return (
            await session.execute(
                select(func.count()).select_from(OutboxAction).where(OutboxAction.state != "done")
            )
        ).scalar_one()


async def test_killing_the_worker_process_repeatedly_delivers_each_action_once(database):
    random.seed(7)
    async with WebhookReceiver(secret=SECRET) as receiver:
        # Slow replies widen the window between the downstream call and its record.
        receiver.faults.slow(0.15, after=True, times=200)
        approvals = real_approvals(database)
        drafts = []
        for _ in range(8):
            draft = await pending_discount(
                approvals,
                percent=15,
                actions=[
                    webhook_action(receiver.hook_url, step="record"),
                    webhook_action(receiver.hook_url, step="notify"),
                ],
            )
            await approvals.approve(draft_id=draft.id, approver=person(SOFIA))
            drafts.append(draft)

        for _ in range(KILLS):
            child = await start_child(database.url)
            await asyncio.sleep(random.uniform(0.05, 0.6))
            await kill(child)

        child = await start_child(database.url)
        try:

            async def all_done() -> bool:
                return await open_actions(database) == 0

            await eventually(all_done, within=60, every=0.1)
        finally:
            await kill(child)

        expected = {f"trellis:{d.id}:{position}" for d in drafts for position in (0, 1)}
        assert set(receiver.deliveries) == expected
        assert len(receiver.deliveries) == 16
        for draft in drafts:
            assert (await approvals.view(draft.id)).state == DraftState.DONE
