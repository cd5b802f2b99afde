"""An outbox worker in its own process, for the crash test to kill with SIGKILL.

    python -m tests.outbox_child DATABASE_URL

It reads the webhook secret from HOOK_SECRET, prints "ready" once its worker runs, and
works until it is killed.
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

POLICY = OutboxPolicy(
    max_attempts=50,
    base_delay=0.01,
    max_delay=0.05,
    jitter=0.0,
    execute_timeout=1.0,
    lease=1.5,
    poll=0.02,
    concurrency=2,
)


def now() -> datetime:
    return datetime.now(UTC)


async def main(url: str) -> None:
    database = Database(url)
    audit = AuditLog(database, clock=now)
    approvals = Approvals(database, audit, clock=now)
    worker = OutboxWorker(
        database=database,
        approvals=approvals,
        audit=audit,
        connectors=lambda: {"webhook": {"secret_env": "HOOK_SECRET", "timeout": 1.0}},
        env={"HOOK_SECRET": os.environ["HOOK_SECRET"]},
        clock=now,
        policy=POLICY,
    )
    worker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
