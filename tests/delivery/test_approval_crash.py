"""kill -9 at each step of approving: every approved action is delivered exactly once.

The approval runs in a child process (tests/delivery/approval_child.py) that is killed with
SIGKILL at one step: just after the Approve click is acknowledged, after the decision and
its outbox rows are committed, while the receiver is handling the call, and after the
receiver answered but before the row and the draft are recorded. A restarted process then
finishes the work. The receiver stores one delivery per Idempotency-Key and counts every
attempt; the draft must end done.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.approvals.drafts import DraftState
from app.db.models.approvals import OutboxAction
from tests.approval_helpers import SOFIA, pending_discount, person, webhook_action
from tests.child_processes import kill, said
from tests.delivery.test_outbox import SECRET, real_approvals
from tests.peers.webhook_receiver import WebhookReceiver
from tests.workflow_helpers import eventually

ROOT = Path(__file__).resolve().parents[2]


async def start_child(url: str, draft_id: str, step: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.delivery.approval_child",
        url,
        draft_id,
        step,
        cwd=ROOT,
        env={**os.environ, "HOOK_SECRET": SECRET},
        stdout=asyncio.subprocess.PIPE,
    )


async def unfinished(database) -> int:
    async with database.session() as session:
        return (
            await session.execute(
                select(func.count()).select_from(OutboxAction).where(OutboxAction.state != "done")
            )
        ).scalar_one()


@pytest.mark.parametrize("step", ["acknowledged", "queued", "connector", "delivered"])
async def test_a_kill_while_approving_still_delivers_each_action_once(database, step):
    async with WebhookReceiver(secret=SECRET) as receiver:
        approvals = real_approvals(database)
        draft = await pending_discount(
            approvals,
            percent=15,
            actions=[
                webhook_action(receiver.hook_url, step="record"),
                webhook_action(receiver.hook_url, step="notify"),
            ],
        )
        first = f"trellis:{draft.id}:0"
        if step == "connector":
            receiver.faults.slow(20, after=True, times=1)  # stored, the reply held back

        child = await start_child(database.url, draft.id, step)
        try:
            if step == "acknowledged":
                await said(child, "clicked")
            elif step == "queued":
                await said(child, "queued")
            elif step == "connector":

                async def called() -> int:
                    return receiver.attempts[first]

                await eventually(called, within=30)
            else:
                await said(child, "delivered")
        finally:
            await kill(child)

        if step == "connector" or step == "delivered":
            assert receiver.attempts[first] == 1
            assert (await approvals.view(draft.id)).state == DraftState.EXECUTING
        if (await approvals.view(draft.id)).waiting:
            # Killed before the decision was committed: the card still asks, and is clicked.
            await approvals.approve(draft_id=draft.id, approver=person(SOFIA))

        restarted = await start_child(database.url, draft.id, "resume")
        try:
            await said(restarted, "ready")

            async def finished() -> bool:
                return await unfinished(database) == 0 and (
                    (await approvals.view(draft.id)).state == DraftState.DONE
                )

            await eventually(finished, within=60, every=0.1)
        finally:
            await kill(restarted)

        assert set(receiver.deliveries) == {first, f"trellis:{draft.id}:1"}
        assert [d.body["params"].get("step") for d in receiver.deliveries.values()] == [
            "record",
            "notify",
        ]
        view = await approvals.view(draft.id)
        assert view.state == DraftState.DONE
        assert [a.state for a in view.outbox] == ["done", "done"]
