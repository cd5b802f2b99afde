"""The outbox worker against a real webhook receiver, on SQLite and PostgreSQL.

The receiver checks the HMAC signature and counts deliveries per Idempotency-Key, so
"exactly once" means one stored delivery per approved action, however often it was tried.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.approvals.drafts import DraftState
from app.approvals.service import Approvals
from app.db.models.approvals import OutboxAction
from app.db.models.records import AuditRecord
from app.delivery.outbox import STEPS, OutboxWorker
from app.delivery.retry import OutboxPolicy
from app.errors import AccessDenied
from app.trust.audit import AuditLog
from tests.approval_helpers import ROSA, SAM, SOFIA, pending_discount, person, webhook_action
from tests.peers.webhook_receiver import WebhookReceiver
from tests.workflow_helpers import eventually

SECRET = "whsec-test"
FAST = OutboxPolicy(
    max_attempts=4,
    base_delay=0.01,
    max_delay=0.05,
    jitter=0.0,
    execute_timeout=2.0,
    lease=0.4,
    poll=0.02,
    concurrency=1,
)


def now() -> datetime:
    return datetime.now(UTC)


class Crash(Exception):
    """Stands for the process dying at a step boundary."""


class RecordingNotifier:
    def __init__(self) -> None:
        self.finished: list[tuple[str, str]] = []

    async def action_finished(self, draft, action) -> None:
        self.finished.append((action.state, action.last_error or action.summary or ""))


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(secret=SECRET) as peer:
        yield peer


def make_worker(
    database,
    approvals: Approvals,
    *,
    policy: OutboxPolicy = FAST,
    notifier: RecordingNotifier | None = None,
    env: dict | None = None,
    timeout: float = 0.5,
    **kwargs,
) -> OutboxWorker:
    recorder = notifier or RecordingNotifier()
    return OutboxWorker(
        database=database,
        approvals=approvals,
        audit=approvals.audit,
        connectors=lambda: {"webhook": {"secret_env": "HOOK_SECRET", "timeout": timeout}},
        env={"HOOK_SECRET": SECRET} if env is None else env,
        notifier=lambda: recorder,
        clock=now,
        policy=policy,
        **kwargs,
    )


def real_approvals(database) -> Approvals:
    return Approvals(database, AuditLog(database, clock=now), clock=now)


async def approved(approvals: Approvals, receiver: WebhookReceiver, count: int = 1):
    drafts = []
    for _ in range(count):
        draft = await pending_discount(
            approvals, percent=15, actions=[webhook_action(receiver.hook_url)]
        )
        await approvals.approve(draft_id=draft.id, approver=person(SOFIA))
        drafts.append(draft)
    return drafts


async def drain(worker: OutboxWorker, seconds: float = 5.0) -> None:
    """Run the worker until nothing is due or waiting for a retry."""
    async with asyncio.timeout(seconds):
        while True:
            await worker.run_once()
            await worker.report_unreported()
            async with worker.database.session() as session:
                open_rows = (
                    (
                        await session.execute(
                            select(OutboxAction).where(
                                OutboxAction.state.in_(("pending", "running"))
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
            if not open_rows:
                return
            await asyncio.sleep(0.02)


async def audit_kinds(database, kind: str) -> list[AuditRecord]:
    async with database.session() as session:
        return list(
            (await session.execute(select(AuditRecord).where(AuditRecord.kind == kind))).scalars()
        )


async def test_an_approved_action_is_delivered_once_and_reported(database, receiver):
    approvals = real_approvals(database)
    [draft] = await approved(approvals, receiver)
    notifier = RecordingNotifier()
    worker = make_worker(database, approvals, notifier=notifier)

    await drain(worker)

    assert len(receiver.deliveries) == 1
    delivery = next(iter(receiver.deliveries.values()))
    assert delivery.key == f"trellis:{draft.id}:0"
    assert delivery.body["approvers"] == [SOFIA]
    assert delivery.body["draft_hash"] == draft.text_hash
    view = await approvals.view(draft.id)
    assert view.state == DraftState.DONE
    assert view.outbox[0].reference == "dlv_1"
    assert notifier.finished == [("done", "Sent to 127.0.0.1 (delivery dlv_1)")]
    [done] = await audit_kinds(database, "action.done")
    assert done.payload["reference"] == "dlv_1"
    assert [r.payload["to"] for r in await audit_kinds(database, "draft.done")] == ["done"]


@pytest.mark.parametrize("fault", ["status500", "throttle", "timeout", "reset"])
async def test_downstream_faults_are_retried_with_the_same_key_until_done(
    database, receiver, fault
):
    if fault == "status500":
        receiver.faults.status(500, times=2)
    elif fault == "throttle":
        receiver.faults.throttle("1", times=1)
    elif fault == "timeout":
        receiver.faults.slow(1.0, after=True, times=1)  # delivered, but the reply is too late
    else:
        receiver.faults.reset(times=2)
    approvals = real_approvals(database)
    [draft] = await approved(approvals, receiver)
    worker = make_worker(database, approvals)
    started = now()

    await drain(worker)

    key = f"trellis:{draft.id}:0"
    assert list(receiver.deliveries) == [key]
    assert receiver.attempts[key] >= (1 if fault in ("status500", "throttle", "reset") else 2)
    assert (await approvals.view(draft.id)).state == DraftState.DONE
    retries = await audit_kinds(database, "action.retry_scheduled")
    assert retries and all(r.payload["idempotency_key"] == key for r in retries)
    if fault == "throttle":
        assert retries[0].payload["retry_after"] == 1.0
        assert (now() - started).total_seconds() >= 1.0


async def test_a_failure_that_persists_is_dead_lettered_visibly_and_an_owner_can_retry(
    database, receiver
):
    receiver.faults.status(503, times=4)
    approvals = real_approvals(database)
    [draft] = await approved(approvals, receiver)
    notifier = RecordingNotifier()
    worker = make_worker(database, approvals, notifier=notifier)

    await drain(worker)

    view = await approvals.view(draft.id)
    assert view.state == DraftState.FAILED
    assert view.outbox[0].state == "dead" and view.outbox[0].attempts == 4
    assert notifier.finished == [("dead", "The webhook at 127.0.0.1 is having trouble (HTTP 503).")]
    assert len(await audit_kinds(database, "action.dead_lettered")) == 1
    assert receiver.deliveries == {}

    with pytest.raises(AccessDenied):
        await approvals.retry(draft_id=draft.id, owner=person(SAM), admins=["trellis-admins"])
    retried = await approvals.retry(
        draft_id=draft.id, owner=person(ROSA), admins=["trellis-admins"]
    )
    assert retried.state == DraftState.EXECUTING
    await drain(worker)
    assert (await approvals.view(draft.id)).state == DraftState.DONE
    assert len(receiver.deliveries) == 1
    assert [state for state, _ in notifier.finished] == ["dead", "done"]


async def test_a_refusal_is_not_retried(database, receiver):
    receiver.faults.status(422, times=1)
    approvals = real_approvals(database)
    [draft] = await approved(approvals, receiver)
    worker = make_worker(database, approvals)
    await drain(worker)
    view = await approvals.view(draft.id)
    assert view.state == DraftState.FAILED
    assert view.outbox[0].attempts == 1
    assert "rejected the request (HTTP 422)" in view.outbox[0].last_error


async def test_a_missing_secret_dead_letters_with_what_to_set(database, receiver):
    approvals = real_approvals(database)
    [draft] = await approved(approvals, receiver)
    worker = make_worker(database, approvals, env={})
    await drain(worker)
    view = await approvals.view(draft.id)
    assert view.state == DraftState.FAILED
    assert "HOOK_SECRET is not set" in view.outbox[0].last_error


@pytest.mark.parametrize("step", STEPS)
async def test_a_worker_crashing_at_any_step_still_delivers_exactly_once(database, receiver, step):
    approvals = real_approvals(database)
    drafts = await approved(approvals, receiver, count=3)
    crashes: list[str] = []

    async def crash_once_per_action(at: str, item_id: str) -> None:
        if at == step and item_id not in crashes:
            crashes.append(item_id)
            raise Crash(at)

    doomed = make_worker(database, approvals, checkpoint=crash_once_per_action)
    for _ in drafts:
        with pytest.raises(Crash):
            await doomed.run_once()
    assert len(crashes) == 3

    survivor = make_worker(database, approvals)
    await asyncio.sleep(FAST.lease + 0.05)  # the dead worker's leases run out
    await drain(survivor)

    assert sorted(receiver.deliveries) == sorted(f"trellis:{d.id}:0" for d in drafts)
    for draft in drafts:
        assert (await approvals.view(draft.id)).state == DraftState.DONE
    assert len(await audit_kinds(database, "action.done")) == 3


async def test_a_cancelled_worker_task_is_taken_over_after_its_lease(database, receiver):
    receiver.faults.slow(0.3, after=False, times=1)
    approvals = real_approvals(database)
    [draft] = await approved(approvals, receiver)
    worker = make_worker(database, approvals)
    task = asyncio.create_task(worker.run_once())
    await asyncio.sleep(0.1)  # the request is in flight
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(FAST.lease)
    await drain(make_worker(database, approvals))
    assert len(receiver.deliveries) == 1
    assert (await approvals.view(draft.id)).state == DraftState.DONE


async def test_two_workers_share_the_outbox_without_double_delivery(database, receiver):
    approvals = real_approvals(database)
    drafts = await approved(approvals, receiver, count=6)
    # Leases long enough that no step outlives one on a loaded machine: this test is about
    # workers competing for rows, not about taking over an expired lease (tested above).
    steady = replace(FAST, lease=10.0)
    workers = [make_worker(database, approvals, policy=steady) for _ in range(3)]
    await asyncio.gather(*(drain(w) for w in workers))
    assert len(receiver.deliveries) == 6
    assert all(count == 1 for count in receiver.attempts.values())
    states = [(await approvals.view(d.id)).state for d in drafts]
    assert states == [DraftState.DONE] * 6


async def test_twenty_clicks_give_one_downstream_call(database, receiver):
    approvals = real_approvals(database)
    draft = await pending_discount(
        approvals, percent=15, actions=[webhook_action(receiver.hook_url)]
    )
    await asyncio.gather(
        *(approvals.approve(draft_id=draft.id, approver=person(SOFIA)) for _ in range(20)),
        return_exceptions=True,
    )
    await drain(make_worker(database, approvals))
    assert sum(receiver.attempts.values()) == 1
    assert len(await audit_kinds(database, "draft.approved")) == 1


async def test_the_running_worker_wakes_up_on_approval(database, receiver):
    approvals = real_approvals(database)
    slow_poll = OutboxPolicy(**{**FAST.__dict__, "poll": 30.0})
    worker = make_worker(database, approvals, policy=slow_poll)
    worker.start()
    try:
        await asyncio.sleep(0.1)
        [draft] = await approved(approvals, receiver)

        async def done() -> bool:
            return (await approvals.view(draft.id)).state == DraftState.DONE

        await eventually(done, within=5)
    finally:
        await worker.stop()
    assert len(receiver.deliveries) == 1
