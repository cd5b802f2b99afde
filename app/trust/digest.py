"""The owners' weekly digest, and the owners' scheduled jobs.

`build_digest` reads the week from the database (so it can be tested without waiting a
week); `send_weekly_digest` posts it to the owners channel once per week, even with several
replicas (the week is claimed in the database first). `add_owner_jobs` puts the digest
(Mondays 09:00 UTC) and the owner-notice flush (every minute) on an APScheduler 3
AsyncIOScheduler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.db.repositories.records import HandledEventRepository
from app.domain import AccessScope
from app.services import Services
from app.trust import owners
from app.trust.home import Dashboard, dashboard

log = structlog.get_logger(__name__)

DIGEST_JOB, FLUSH_JOB = "trellis-owner-digest", "trellis-owner-notices"


@dataclass(frozen=True)
class Digest:
    week: str
    """ISO year and week, e.g. "2026-W18": the digest's identity."""
    board: Dashboard
    text: str
    blocks: list[dict]


async def build_digest(
    services: Services, *, now: datetime | None = None, scope: AccessScope | None = None
) -> Digest:
    """`scope`: who will read it (documents they may not see are left out)."""
    now = now or services.clock()
    board = await dashboard(services, now=now, days=7, scope=scope)
    year, week, _ = now.isocalendar()
    return Digest(f"{year}-W{week:02d}", board, *_render(board))


def _render(board: Dashboard) -> tuple[str, list[dict]]:
    e = owners.escape
    answered, missing = board.rate("answered"), board.rate("no_answer")
    lines = [
        f"*Questions:* {board.questions} from {board.askers} "
        f"{'person' if board.askers == 1 else 'people'} · answered {answered:.0%} · "
        f"no answer {missing:.0%} · refused {board.statuses.get('refused', 0)}",
        f"*Flags:* {sum(board.flags_this_week.values())} raised this week, {board.flags_open} "
        f"still open · {board.corrections} correction{'s' if board.corrections != 1 else ''} "
        f"accepted",
        f"*Feedback:* {board.helpful} helpful, {board.not_helpful} not helpful",
    ]
    if board.approvals_pending is not None:
        age = f", the oldest waiting {_age(board.oldest_pending)}" if board.oldest_pending else ""
        lines.append(f"*Approvals waiting:* {board.approvals_pending}{age}")
    if board.failures:
        lines.append(
            "*Failures:* " + ", ".join(f"{k} {v}" for k, v in sorted(board.failures.items()))
        )
    blocks = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": f"Trellis this week ({board.since:%b %d} – {board.now:%b %d})",
            },
        },
        owners.section("\n".join(lines)),
    ]
    if board.top_unanswered:
        blocks.append(
            owners.section(
                "*Questions Trellis could not answer most often:*\n"
                + "\n".join(f"• {e(q[:200])} ({n}×)" for q, n in board.top_unanswered)
            )
        )
    if board.most_flagged:
        blocks.append(
            owners.section(
                "*Most-flagged documents:*\n"
                + "\n".join(
                    f"• {e(title)} ({n} flag{'s' if n != 1 else ''})"
                    for title, n in board.most_flagged
                )
            )
        )
    if board.flags_open:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Open flags wait for their documents' owners: use the buttons on each "
                        "flag notice, or see them on Trellis's Home tab.",
                    }
                ],
            }
        )
    text = (
        f"Trellis this week: {board.questions} questions, {answered:.0%} answered, "
        f"{board.flags_open} open flags."
    )
    return text, blocks


def _age(delta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} hours"


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
    await services.slack.post(channel=channel, text=digest.text, blocks=digest.blocks)
    return digest


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
