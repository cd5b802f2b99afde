"""Approving a draft in its own process, for the kill -9 tests to stop at one step.

    python -m tests.delivery.approval_child DATABASE_URL DRAFT_ID STEP

STEP is where the process announces itself on stdout and then waits to be killed:

    acknowledged  the Approve click was acknowledged; the decision is being written
    queued        the decision and its outbox rows are committed; no worker runs yet
    connector     the worker calls the receiver (the test kills it while the call is open)
    delivered     the receiver answered; the row is not recorded, the draft not done
    resume        a restarted process: settle what a crash left, then work the outbox

It reads the webhook secret from HOOK_SECRET and approves as Sofia Marino.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime

from app.approvals.service import Approvals
from app.db.session import Database
from app.delivery.outbox import OutboxPolicy, OutboxWorker
from app.trust.audit import AuditLog
from tests.approval_helpers import SOFIA, person

POLICY = OutboxPolicy(
    max_attempts=50,
    base_delay=0.01,
    max_delay=0.05,
    jitter=0.0,
    execute_timeout=30.0,
    lease=1.0,
    poll=0.02,
    concurrency=1,
)


def now() -> datetime:
    return datetime.now(UTC)


def announce(step: str) -> None:
    print(step, flush=True)


async def main(url: str, draft_id: str, step: str) -> None:
    database = Database(url)
    audit = AuditLog(database, clock=now)
    approvals = Approvals(database, audit, clock=now)

    async def checkpoint(reached: str, item_id: str) -> None:
        if step == "delivered" and reached == "executed":
            announce("delivered")
            await asyncio.Event().wait()

    worker = OutboxWorker(
        database=database,
        approvals=approvals,
        audit=audit,
        connectors=lambda: {"webhook": {"secret_env": "HOOK_SECRET", "timeout": 30.0}},
        env={"HOOK_SECRET": os.environ["HOOK_SECRET"]},
        clock=now,
        policy=POLICY,
        checkpoint=checkpoint,
    )
    if step == "resume":
        await approvals.settle_finished()
        worker.start()
        announce("ready")
        await asyncio.Event().wait()
    announce("clicked")  # the click is acknowledged; the kill may land inside the decision
    await approvals.approve(draft_id=draft_id, approver=person(SOFIA))
    if step in ("acknowledged", "queued"):
        announce("queued")
        await asyncio.Event().wait()
    worker.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
