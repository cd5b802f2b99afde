"""Scheduled jobs: reminders, escalations, expiry and the outbox sweep (APScheduler 3).

Every job computes what to do from the database (a draft's `remind_at`, `escalate_at`,
`expires_at`, an outbox row's `next_attempt_at` and lease), so a restart loses nothing:
whatever fell due while Trellis was down is done at the next run. With several replicas
on one database each job runs on one of them at a time: a replica takes the job's row in
`job_leases` (compare-and-set, on SQLite and PostgreSQL alike) and keeps it by renewing
it; when it stops renewing, another replica takes over once the lease runs out.

`Background` runs the outbox worker and the scheduler together for `trellis run` and for
the end-to-end tests. Given `recover`, it also keeps questions from being lost
(app/answering/intake.py): every replica renews the leases of the questions it is
answering, and one sweeps up the questions whose leases ran out.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from app.approvals import asked
from app.approvals.asked import readers_of_sources, waiting_approvers
from app.approvals.drafts import DraftView, as_utc, to_view
from app.db.repositories.approvals import DraftRepository, JobLeaseRepository
from app.db.session import unavailable as database_unavailable
from app.delivery.outbox import OutboxWorker
from app.delivery.retry import OutboxPolicy
from app.rules.escalation import Escalation, escalation_for
from app.rules.schema import MANAGER
from app.services import Services
from app.slack_api import error_code
from app.trust import anchors, owners

log = structlog.get_logger(__name__)

DRAFTS_JOB, OUTBOX_JOB = "trellis-drafts", "trellis-outbox"
QUESTIONS_JOB, RENEW_JOB = "trellis-abandoned-questions", "trellis-question-leases"
CARD_GRACE = timedelta(seconds=30)
"""How long a new draft may stay without its card before the sweep posts it."""


@dataclass
class SweepReport:
    cards: int = 0
    reminded: int = 0
    escalated: int = 0
    expired: int = 0


async def check_cards(services: Services) -> int:
    """At start: the cards of waiting drafts that Slack no longer has (deleted meanwhile,
    or a sandbox that started afresh) are forgotten, so the next sweep posts them again.
    How many were gone."""
    async with services.database.reading() as session:
        waiting = [to_view(d) for d in await DraftRepository(session).waiting_with_card()]
    gone = 0
    for view in waiting:
        try:
            await services.notifier.check_card(view)
        except Exception:  # Slack out of reach: the cards are checked at the next start
            log.warning("card_check_failed", draft=view.id, exc_info=True)
            return gone
        gone += (await services.approvals.view(view.id)).card_ts is None
    return gone


async def sweep_drafts(services: Services, *, now: datetime | None = None) -> SweepReport:
    """Post missing cards; remind, escalate and expire drafts whose time has come."""
    now = now or services.clock()
    report = SweepReport()
    async with services.database.session() as session:
        drafts = DraftRepository(session)
        cardless = [d.id for d in await drafts.without_card(created_before=now - CARD_GRACE)]
        due = [
            (
                d.id,
                as_utc(d.expires_at),
                as_utc(d.escalate_at),
                d.escalated_at,
                as_utc(d.remind_at),
                d.reminded_at,
            )
            for d in await drafts.waiting(due_before=now)
        ]
    for draft_id in cardless:
        try:
            view = await services.approvals.view(draft_id)
            if view.needs().auto:  # the process stopped before approving it automatically
                await services.approvals.approve_automatically(
                    draft_id=draft_id, reason="no approval needed (resumed after a restart)"
                )
                continue
            readers, withheld = await asked.deciders(services, view)
            view = await services.approvals.put_before_approvers(
                draft_id=draft_id, notifier=services.notifier, deciders=readers, withheld=withheld
            )
            report.cards += view.card_ts is not None
        except Exception as exc:
            # Slack's own refusal (not_in_channel, channel_not_found) is said by its code; it
            # stands until someone acts, so a traceback each minute would only hide it.
            code = error_code(exc)
            log.warning("card_repost_failed", draft=draft_id, error=code, exc_info=not code)
    for draft_id, expires, escalate, escalated, remind, reminded in due:
        try:
            if expires and expires <= now:
                expired_view = await services.approvals.expire(draft_id=draft_id)
                if expired_view is not None:
                    report.expired += 1
                    await deliver_notices(services, draft_id=draft_id)
                continue
            if escalate and escalate <= now and escalated is None:
                view = await services.approvals.view(draft_id)
                escalation = escalation_targets(services, view)
                people = list(escalation.new)
                unlisted = unlisted_managers(services, view)
                # Only people who may read every source of the card see it and may decide;
                # the others are told where it waits, and nothing of what it says.
                readers = await readers_of_sources(services, view, people)
                withheld = [p for p in people if p not in readers]
                # Nobody new to ask: the approvers are reminded again, and told so.
                again = [] if people or unlisted else waiting_approvers(services, view)
                escalated_view = await services.approvals.escalate(
                    draft_id=draft_id,
                    to=readers,
                    withheld=withheld,
                    unlisted=unlisted,
                    reminded=again if escalation.passed_over else [],
                )
                if escalated_view is not None:
                    report.escalated += 1
                    await deliver_notices(services, draft_id=draft_id)
            if remind and remind <= now and reminded is None:
                view = await services.approvals.view(draft_id)
                reminded_view = await services.approvals.mark_reminded(
                    draft_id=draft_id, people=waiting_approvers(services, view)
                )
                if reminded_view is not None:
                    report.reminded += 1
                    await deliver_notices(services, draft_id=draft_id)
        except Exception:
            log.warning("draft_sweep_failed", draft=draft_id, exc_info=True)
    return report


def escalation_targets(services: Services, draft: DraftView) -> Escalation:
    """Whom the draft escalates to: the approvers' managers (`escalate_to: manager`), or
    the listed principals, passing over whoever may already approve it."""
    workflow = services.workspace.rulebook.workflows.get(draft.workflow)
    return escalation_for(
        services.workspace.directory,
        workflow.escalate_to if workflow else None,
        waiting=waiting_approvers(services, draft),
        approvers={e for group in draft.needs().eligible for e in group},
        requester_email=draft.requester_email,
    )


def unlisted_managers(services: Services, draft: DraftView) -> list[str]:
    """With `escalate_to: manager`, the waiting approvers' managers who are not in the
    directory (a board, a parent company): nobody to escalate to there."""
    directory = services.workspace.directory
    workflow = services.workspace.rulebook.workflows.get(draft.workflow)
    if workflow is None or workflow.escalate_to != MANAGER:
        return []
    return sorted(
        {
            p.manager.lower()
            for p in waiting_approvers(services, draft)
            if p.manager and directory.manager_of(p) is None
        }
    )


def outbox_worker(
    services: Services, *, policy: OutboxPolicy = OutboxPolicy(), worker_id: str | None = None
) -> OutboxWorker:
    return OutboxWorker(
        database=services.database,
        approvals=services.approvals,
        audit=services.audit,
        connectors=lambda: services.workspace.rules.connectors,
        env=services.environ,
        notifier=lambda: services.notifier,
        owners_told=lambda draft, action: owners.action_dead(services, draft, action),
        clock=services.clock,
        policy=policy,
        worker_id=worker_id,
        metrics=services.metrics,
    )


async def deliver_notices(services: Services, *, draft_id: str) -> None:
    """Send a draft's due notices (a held answer, an expiry, a reminder, an escalation's
    messages) without waiting for the worker; whatever this misses, the worker delivers
    from the outbox."""
    try:
        await outbox_worker(services).deliver_notices(draft_id)
    except Exception:
        log.warning("notice_delivery_deferred", draft=draft_id, exc_info=True)


class Background:
    """The outbox worker and the scheduled jobs of one replica."""

    def __init__(
        self,
        services: Services,
        *,
        policy: OutboxPolicy = OutboxPolicy(),
        drafts_every: float = 30.0,
        outbox_every: float = 5.0,
        replica: str | None = None,
        recover: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """`recover`: answers the questions stopped processes left (handlers/recovery.py)."""
        self.services = services
        self.recover = recover
        self.replica = replica or f"replica-{uuid.uuid4().hex[:12]}"
        self.worker = outbox_worker(services, policy=policy, worker_id=f"{self.replica}-outbox")
        self.drafts_every = drafts_every
        self.outbox_every = outbox_every
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def start(self) -> None:
        # A line per run of a job every few seconds says nothing; failures still show.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        await self._settle_finished()
        if gone := await check_cards(self.services):
            log.warning("approval_cards_posted_again", count=gone)
        self.worker.start()
        now = datetime.now(UTC)
        self._every(DRAFTS_JOB, self.drafts_every, lambda: sweep_drafts(self.services), now)
        self._every(OUTBOX_JOB, self.outbox_every, self._sweep_outbox, now)
        if self.recover is not None:
            lease = self.services.intake.lease.total_seconds()
            self._every(QUESTIONS_JOB, lease / 2, self.recover, now)
            self.scheduler.add_job(  # each replica renews its own; no cluster lease
                self._tracked,
                IntervalTrigger(seconds=lease / 3),
                args=[RENEW_JOB, self._renew_questions],
                id=RENEW_JOB,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        tick = anchors.tick_seconds(self.services)
        self._every(
            anchors.ANCHOR_JOB,
            tick,
            lambda: anchors.publish_anchor(self.services),
            now + timedelta(seconds=tick),
        )
        self.scheduler.start()

    async def stop(self, *, grace: float = 10.0) -> None:
        """No new runs; the runs in progress finish (up to `grace` seconds), then the worker.
        The scheduler is shut down only then: shutting it down cancels whatever it runs."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        await asyncio.sleep(0)  # runs handed over just now start, and see Trellis stopping
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.worker.stop(grace=grace)
        if self.recover is not None:
            await self._renew_questions()  # the questions settled since the last renewal

    def _every(
        self, name: str, seconds: float, job: Callable[[], Awaitable[object]], first: datetime
    ) -> None:
        self.scheduler.add_job(
            self._once_per_cluster,
            IntervalTrigger(seconds=seconds),
            args=[name, seconds, job],
            id=name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            next_run_time=first,
        )

    async def _once_per_cluster(
        self, name: str, seconds: float, job: Callable[[], Awaitable[object]]
    ) -> None:
        async def run() -> None:
            try:
                if await self.holds_lease(name, seconds):
                    await job()
            except Exception as error:
                if database_unavailable(error):  # a line per run, not a traceback, in an outage
                    log.warning("scheduled_job_waits_for_database", job=name, error=repr(error))
                else:
                    log.exception("scheduled_job_failed", job=name)

        await self._tracked(name, run)

    async def _tracked(self, name: str, run: Callable[[], Awaitable[object]]) -> None:
        """A scheduled run that `stop` waits for. One cut off by stopping ends quietly: what
        it had left to do is done at the next start, as after any stop."""
        if self._stopping:
            return
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await run()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            log.info("scheduled_job_cut_off", job=name)
        finally:
            self._running.discard(task)

    async def holds_lease(self, name: str, seconds: float) -> bool:
        now = self.services.clock()
        async with self.services.database.session() as session:
            return await JobLeaseRepository(session).acquire(
                name, owner=self.replica, now=now, until=now + timedelta(seconds=3 * seconds)
            )

    async def _renew_questions(self) -> None:
        try:
            await self.services.intake.renew()
        except Exception:  # the database is away: the leases are renewed at the next tick
            log.warning("question_leases_not_renewed", exc_info=True)

    async def _sweep_outbox(self) -> None:
        await self._settle_finished()
        await self.worker.run_once()
        await self.worker.report_unreported()

    async def _settle_finished(self) -> None:
        """Drafts a stopped process left executing with every action finished."""
        try:
            if settled := await self.services.approvals.settle_finished():
                log.info("drafts_settled_after_restart", drafts=settled)
        except Exception:
            log.exception("settle_finished_failed")
