"""Durable, idempotent execution of approved actions.

An approval writes its actions to the `outbox` table in the same transaction as the
decision (app/approvals/execution.py). The worker here takes one due row at a time:

    claim      pending (or running with an expired lease) -> running, with a lease;
               PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED; SQLite: compare-and-set
    execute    through the row's connector, with the row's idempotency key
    record     running -> done, or pending again after a backoff (retryable failure,
               see app/delivery/failures.py), or dead after the last attempt; the draft
               settles to done or failed
    report     the requester, the card and, for a dead letter, the owners are told
               (app/delivery/reports.py)

A worker killed at any point leaves its row running; once the lease runs out another
worker (or the same one after a restart) claims it again and repeats the call with the
same idempotency key, so the downstream system still sees one delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from app.approvals.drafts import ActionView, DraftView
from app.approvals.execution import approved_action
from app.approvals.notices import DESCRIPTIONS as NOTICES
from app.approvals.notices import is_notice, is_waiting_message
from app.approvals.service import Approvals
from app.db.models.approvals import Draft, OutboxAction
from app.db.repositories.approvals import DraftRepository, OutboxRepository
from app.db.session import Database
from app.db.session import unavailable as database_unavailable
from app.delivery.failures import Failure, failure_of, final_message
from app.delivery.notices import tell
from app.delivery.reports import OutboxReports
from app.delivery.retry import OutboxPolicy
from app.domain import ActionState
from app.errors import ConnectorConfigError
from app.notifications import Notifier, QuietNotifier
from app.trust import tracing
from app.trust.audit import AuditLog
from app.trust.metrics import Metrics
from workflows.base import ActionResult, Connector
from workflows.registry import CONNECTORS, validate_config

log = structlog.get_logger(__name__)

Checkpoint = Callable[[str, str], Awaitable[None]]
"""Called with (step, outbox row id) at each step boundary; tests crash the worker there."""

STEPS = ("claimed", "executing", "executed", "recorded", "reported")


async def _no_checkpoint(step: str, item_id: str) -> None:
    return None


class OutboxWorker(OutboxReports):
    def __init__(
        self,
        *,
        database: Database,
        approvals: Approvals,
        audit: AuditLog,
        connectors: Callable[[], Mapping[str, Mapping[str, Any]]],
        env: Mapping[str, str],
        notifier: Callable[[], Notifier] | None = None,
        owners_told: Callable[[DraftView, ActionView], Awaitable[object]] | None = None,
        registry: Mapping[str, Connector] = CONNECTORS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        policy: OutboxPolicy = OutboxPolicy(),
        checkpoint: Checkpoint = _no_checkpoint,
        worker_id: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.database = database
        self.approvals = approvals
        self.audit = audit
        self.connectors = connectors
        self.env = env
        self.notifier = notifier or QuietNotifier
        self.owners_told = owners_told
        """Tells the owners of a dead letter (app/trust/owners.py); the requester hears it
        from the notifier."""
        self.registry = registry
        self.clock = clock
        self.policy = policy
        self.checkpoint = checkpoint
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # Running -----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self.approvals.on_approved.append(self.wake)
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"outbox-{i}")
            for i in range(self.policy.concurrency)
        ]

    async def stop(self, *, grace: float = 10.0) -> None:
        """Finish the action in hand (up to `grace` seconds), then stop; an action cut off
        is taken over by the next worker once its lease runs out."""
        self._stopping = True
        with contextlib.suppress(ValueError):
            self.approvals.on_approved.remove(self.wake)
        self.wake()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks = []

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                worked = await self.run_once()
                await self.report_unreported()
            except Exception as error:
                if database_unavailable(error):  # a line per round, not a traceback
                    log.warning(
                        "outbox_waits_for_database", worker=self.worker_id, error=repr(error)
                    )
                else:
                    log.exception("outbox_loop_failed", worker=self.worker_id)
                worked = 0
            if not worked:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.policy.poll)

    async def run_once(self) -> int:
        """Claim and carry out due actions until none is left; how many were handled."""
        handled = 0
        while not self._stopping and (item_id := await self._claim()) is not None:
            await self.checkpoint("claimed", item_id)
            await self._process(item_id)
            handled += 1
        return handled

    # Steps -------------------------------------------------------------------------------

    async def deliver_notices(self, draft_id: str) -> int:
        """Deliver the draft's due notices now, in the caller's task (the worker would
        also, a moment later); how many were handled."""
        handled = 0
        while (item_id := await self._claim(notices_of=draft_id)) is not None:
            await self._process(item_id)
            handled += 1
        return handled

    async def _claim(self, *, notices_of: str | None = None) -> str | None:
        now = self.clock()
        async with self.database.session() as session:
            outbox = OutboxRepository(session)
            due = await outbox.claimable(
                now=now, limit=5, draft_id=notices_of, connectors=notices_of and NOTICES
            )
            for item in due:
                claimed = await outbox.compare_and_set(
                    item,
                    now=now,
                    state=ActionState.RUNNING,
                    attempts=item.attempts + 1,
                    max_attempts=self.policy.max_attempts,
                    lease_owner=self.worker_id,
                    lease_until=now + timedelta(seconds=self.policy.lease),
                )
                if claimed:
                    if not is_waiting_message(item):  # a waiting draft's message starts nothing
                        with contextlib.suppress(Exception):
                            await self.approvals.begin_execution(session, item.draft_id)
                    return item.id
        return None

    async def _process(self, item_id: str) -> None:
        async with self.database.session() as session:
            item = await OutboxRepository(session).get(item_id)
            draft = await DraftRepository(session).get(item.draft_id) if item else None
        if item is None or draft is None or not self._holds(item):
            return
        # The trace of the approval that queued it goes on here (app/trust/tracing.py).
        with tracing.span(
            "trellis.outbox",
            {"trellis.connector": item.connector, "trellis.outbox.attempt": item.attempts},
            parent=tracing.handed_off(draft.id),
        ):
            await self._deliver(item, draft)

    async def _deliver(self, item: OutboxAction, draft: Draft) -> None:
        item_id = item.id
        await self.checkpoint("executing", item_id)
        try:
            async with asyncio.timeout(self.policy.execute_timeout):
                result = await self._call(item, draft)
        except Exception as exc:  # every failure is recorded and reported, never dropped
            failure = failure_of(exc, timeout=self.policy.execute_timeout)
            await self.checkpoint("executed", item_id)
            finished = await self._record_failure(item_id, failure)
        else:
            await self.checkpoint("executed", item_id)
            finished = await self._record_success(item_id, result)
        if finished:
            await self.checkpoint("recorded", item_id)
            await self._report(item_id)
            await self.checkpoint("reported", item_id)

    async def _call(self, item: OutboxAction, draft: Draft) -> ActionResult:
        if is_notice(item.connector):
            return await tell(self.notifier(), draft, item)
        action = approved_action(draft, item)
        connector = self.registry.get(item.connector)
        if connector is None:
            raise ConnectorConfigError(f"There is no connector called {item.connector!r}.")
        config = self._config(item.connector)
        with tracing.connector_call(item.connector):
            return await connector.execute(
                action, config=config, idempotency_key=item.idempotency_key
            )

    def _config(self, connector: str) -> Any:
        raw = self.connectors().get(connector)
        if raw is None:
            raise ConnectorConfigError(
                f"The {connector} connector is not set up in rules.yml (connectors.{connector}). "
                "Ask a Trellis admin to configure it."
            )
        return validate_config(connector, raw, self.env, require_secrets=False)

    def _holds(self, item: OutboxAction) -> bool:
        return item.state == ActionState.RUNNING and item.lease_owner == self.worker_id

    async def _record_success(self, item_id: str, result: ActionResult) -> bool:
        now = self.clock()
        async with self.database.session() as session:
            outbox = OutboxRepository(session)
            item = await outbox.get(item_id)
            if item is None or not self._holds(item):
                return False  # our lease ran out and another worker has the row
            if not await outbox.compare_and_set(
                item,
                now=now,
                state=ActionState.DONE,
                reference=result.reference,
                summary=result.summary,
                url=result.url,
                last_error=None,
                lease_owner=None,
                lease_until=None,
            ):
                return False
            await self.approvals.settle(session, item.draft_id)
            await self._audit(
                session,
                item,
                "action.done",
                reference=result.reference,
                summary=result.summary,
                url=result.url,
            )
        self._count(item.connector, "done")
        return True

    async def _record_failure(self, item_id: str, failure: Failure) -> bool:
        """Retry later when that may help, else dead-letter; True when the row is final."""
        if failure.retryable and await self._retry_later(item_id, failure):
            return False
        return await self._dead_letter(item_id, failure)

    async def _retry_later(self, item_id: str, failure: Failure) -> bool:
        """Put the row back for a later attempt; False when its attempts are used up (or
        the row is no longer ours, in which case the dead-letter step finds that too)."""
        now = self.clock()
        async with self.database.session() as session:
            outbox = OutboxRepository(session)
            item = await outbox.get(item_id)
            if item is None or not self._holds(item) or item.attempts >= item.max_attempts:
                return False
            delay = self.policy.backoff(item.attempts, failure.retry_after)
            due = now + timedelta(seconds=delay)
            if not await outbox.compare_and_set(
                item,
                now=now,
                state=ActionState.PENDING,
                next_attempt_at=due,
                last_error=failure.message,
                lease_owner=None,
                lease_until=None,
            ):
                return False
            await self._audit(
                session,
                item,
                "action.retry_scheduled",
                error=failure.message,
                detail=failure.detail,
                retry_after=failure.retry_after,
                next_attempt_at=due.isoformat(),
            )
        log.warning(
            "outbox_retry",
            action=item_id,
            attempt=item.attempts,
            delay=round(delay, 3),
            error=failure.detail or failure.message,
        )
        self._count(item.connector, "retried")
        return True

    async def _dead_letter(self, item_id: str, failure: Failure) -> bool:
        now = self.clock()
        async with self.database.session() as session:
            outbox = OutboxRepository(session)
            item = await outbox.get(item_id)
            if item is None or not self._holds(item):
                return False
            if not await outbox.compare_and_set(
                item,
                now=now,
                state=ActionState.DEAD,
                last_error=final_message(failure.message),
                lease_owner=None,
                lease_until=None,
            ):
                return False
            await self.approvals.settle(session, item.draft_id)
            await self._audit(
                session,
                item,
                "action.dead_lettered",
                error=failure.message,
                detail=failure.detail,
                retryable=failure.retryable,
            )
        log.error("outbox_dead_letter", action=item_id, error=failure.detail or failure.message)
        self._count(item.connector, "dead_lettered")
        return True

    def _count(self, connector: str, outcome: str) -> None:
        tracing.attributes(tracing.current(), {"trellis.outbox.outcome": outcome})
        if self.metrics is not None:
            self.metrics.observe_downstream(connector=connector, outcome=outcome)

    async def _audit(self, session: Any, item: OutboxAction, kind: str, **extra: Any) -> None:
        await self.audit.append(
            session,
            kind=kind,
            subject_id=item.draft_id,
            payload={
                "draft_id": item.draft_id,
                "action_id": item.id,
                "position": item.position,
                "connector": item.connector,
                "idempotency_key": item.idempotency_key,
                "attempt": item.attempts,
                "draft_hash": item.draft_hash,
                **extra,
            },
        )
