"""The owners' weekly digest, and the owners' scheduled jobs.

`build_digest` reads the week from the database (so it can be tested without waiting a
week); `send_weekly_digest` has the notifier post it to the owners channel once per week,
even with several replicas (the week is claimed in the database first); its layout is
`handlers/views/digest.py`. Before posting it checks the audit chain and records the
result; after, it shares the charts of `trellis about` in the digest's thread.
`add_owner_jobs` puts the digest (Mondays 09:00 UTC) and the owner-notice flush (every
minute) on an APScheduler 3 AsyncIOScheduler.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.db.repositories.records import HandledEventRepository
from app.domain import AccessScope
from app.notifications import Delivery
from app.services import Services
from app.trust import owners
from app.trust.about import verify_and_record
from app.trust.about_charts import charts_png
from app.trust.about_weeks import measure
from app.trust.home import Dashboard, dashboard

log = structlog.get_logger(__name__)

DIGEST_JOB, FLUSH_JOB = "trellis-owner-digest", "trellis-owner-notices"


@dataclass(frozen=True)
class Digest:
    week: str
    """ISO year and week, e.g. "2026-W18": the digest's identity."""
    board: Dashboard


async def build_digest(
    services: Services, *, now: datetime | None = None, scope: AccessScope | None = None
) -> Digest:
    """`scope`: who will read it (documents they may not see are left out)."""
    now = now or services.clock()
    board = await dashboard(services, now=now, days=7, scope=scope)
    year, week, _ = now.isocalendar()
    return Digest(f"{year}-W{week:02d}", board)


async def send_weekly_digest(services: Services, *, now: datetime | None = None) -> Digest | None:
    """Post this week's digest to the owners channel; None when it was already posted."""
    channel = await owners.owners_channel(services)
    if channel is None:
        log.warning("digest_not_sent", reason="no owners channel in trellis.yml")
        return None
    readers, _ = await owners.channel_scope(services, channel)
    digest = await build_digest(services, now=now, scope=readers)
    async with services.database.session() as session:
        if not await HandledEventRepository(session).claim([f"digest:{digest.week}"]):
            return None
    await verify_and_record(services)
    posted = await services.notifier.tell_owners(Delivery(channel), digest)
    if posted is not None:
        await share_charts(services, channel=posted[0], thread_ts=posted[1], now=digest.board.now)
    return digest


async def share_charts(
    services: Services, *, channel: str, thread_ts: str | None, now: datetime
) -> str | None:
    """The weeks' charts of `trellis about` as one image in the digest's thread; its file
    id, or None when there is no Slack to upload to or the upload failed (the digest
    stands without it)."""
    if services.gateway is None:
        return None
    try:
        measures = await measure(services.database, now=now)
        image = await asyncio.to_thread(charts_png, measures)
        return await services.gateway.upload(
            channel=channel,
            filename=f"trellis-{now:%G-W%V}.png",
            content=image,
            title="Trellis week by week: answers, flags, approvals, latency, cost, evals",
            thread_ts=thread_ts,
        )
    except Exception:
        log.warning("digest_charts_not_shared", channel=channel, exc_info=True)
        return None


def add_owner_jobs(scheduler: AsyncIOScheduler, services: Services) -> None:
    scheduler.add_job(
        send_weekly_digest,
        CronTrigger(day_of_week="mon", hour=9, timezone="UTC"),
        args=[services],
        id=DIGEST_JOB,
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(
        owners.flush_notices,
        IntervalTrigger(minutes=1),
        args=[services],
        id=FLUSH_JOB,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
