"""Anchors of the audit chain: its head, posted to the owners channel now and then.

The chain alone shows a record edited in place, but not a record edited with every later
hash recomputed, nor records deleted and renumbered, nor a cut tail: what remains still
links up. A head kept somewhere the database's writers cannot reach shows all three for
the records up to it. A Slack message is such a place: `publish_anchor` (a scheduled job,
every `TRELLIS_AUDIT_ANCHOR_HOURS`, 24 by default) posts "Audit anchor SEQ:HASH" to the
owners channel and records the anchor in the audit trail; `trellis audit verify` checks
the chain against the bot's latest anchor message, or, without Slack, against the latest
recorded anchor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from app.db.base import aware
from app.db.repositories.records import AuditRepository
from app.db.session import Database
from app.notifications import AuditAnchor, Delivery
from app.services import Services
from app.slack_api import SlackGateway
from app.trust import owners
from app.trust.audit import AuditLog, ChainReport

log = structlog.get_logger(__name__)

ANCHOR_JOB = "trellis-audit-anchor"
ANCHOR_KIND = "audit_anchor"
ANCHOR_TEXT = re.compile(r"^Audit anchor (\d+):([0-9a-f]{64})$")
HISTORY_PAGES = 20
"""How far back `anchor_in_slack` looks (pages of 200 messages) for the latest anchor."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    source: str
    """Where it was read: "slack" (the owners channel) or "database" (the audit trail)."""
    channel: str | None = None
    ts: str | None = None
    record_seq: int | None = None
    """The seq of the audit record that recorded it (for a recorded anchor)."""
    anchored_at: datetime | None = None

    @property
    def head(self) -> tuple[int, str]:
        return self.seq, self.hash

    def describe(self) -> str:
        where = (
            f"posted in Slack (channel {self.channel}, message {self.ts})"
            if self.source == "slack"
            else "recorded in the database"
        )
        return f"anchor {self.seq}:{self.hash} {where}"


def every(services: Services) -> timedelta:
    return timedelta(hours=services.settings.audit_anchor_hours)


def tick_seconds(services: Services) -> float:
    """How often the job looks whether an anchor is due: hourly, or more often when anchors
    are due more often, so that restarts do not postpone them."""
    return min(3600.0, every(services).total_seconds())


async def recorded_anchor(database: Database) -> Anchor | None:
    async with database.session() as session:
        record = await AuditRepository(session).latest(ANCHOR_KIND)
    if record is None:
        return None
    payload = record.payload
    return Anchor(
        seq=int(payload["seq"]),
        hash=str(payload["hash"]),
        source="database",
        channel=payload.get("channel"),
        ts=payload.get("ts"),
        record_seq=record.seq,
        anchored_at=aware(record.occurred_at),
    )


async def anchor_in_slack(slack: SlackGateway, channel: str) -> Anchor | None:
    """The latest anchor the bot itself posted in `channel`; messages by anyone else that
    look like one are ignored."""
    cursor: str | None = None
    for _ in range(HISTORY_PAGES):
        messages, cursor = await slack.history(channel, cursor=cursor)
        for message in messages:
            if slack.bot_user_id is None or message.get("user") != slack.bot_user_id:
                continue
            found = ANCHOR_TEXT.match(message.get("text") or "")
            if found:
                return Anchor(
                    seq=int(found.group(1)),
                    hash=found.group(2),
                    source="slack",
                    channel=channel,
                    ts=message.get("ts"),
                )
        if cursor is None:
            break
    return None


async def publish_anchor(services: Services, *, now: datetime | None = None) -> Anchor | None:
    """Post the chain's head to the owners channel when an anchor is due, and record it.

    Nothing is posted when the last anchor is younger than `every`, when nothing was
    appended since, when there is no owners channel, or when the chain does not verify
    against the last anchor (a broken chain is reported, never anchored)."""
    now = now or services.clock()
    last = await recorded_anchor(services.database)
    if last is not None and last.anchored_at and last.anchored_at > now - every(services):
        return None
    channel = await owners.owners_channel(services)
    if channel is None:
        log.info("audit_anchor_skipped", reason="no owners channel")
        return None
    report = await services.audit.verify(expected_head=last.head if last else None)
    if not report.ok:
        log.error("audit_anchor_withheld", problems=report.problems[:10])
        return None
    if report.head_seq == 0 or (last is not None and report.head_seq == last.record_seq):
        return None
    posted = await services.notifier.tell_owners(
        Delivery(channel), AuditAnchor(report.head_seq, report.head_hash)
    )
    if posted is None:
        return None
    channel_id, ts = posted
    await services.audit.record(
        kind=ANCHOR_KIND,
        payload={
            "seq": report.head_seq,
            "hash": report.head_hash,
            "channel": channel_id,
            "ts": ts,
            "anchored_at": now.isoformat(),
        },
        channel_id=channel_id,
    )
    log.info("audit_anchored", seq=report.head_seq, channel=channel_id, ts=ts)
    return Anchor(report.head_seq, report.head_hash, "slack", channel_id, ts, anchored_at=now)


async def verify_against_anchor(
    database: Database, *, slack: SlackGateway | None, owners_channel: str | None
) -> tuple[ChainReport, Anchor | None, str | None]:
    """Verify the chain against the latest anchor: the one in Slack when `slack` is given
    and can be read, else the recorded one. Returns the report, the anchor it was checked
    against (None: no anchor anywhere) and a note on why Slack was not used, if it wasn't."""
    anchor: Anchor | None = None
    note: str | None = None
    if slack is not None:
        try:
            channel = await slack.channel_id(owners_channel) if owners_channel else None
            if channel is None:
                note = "no owners channel in trellis.yml, or the bot cannot see it"
            else:
                anchor = await anchor_in_slack(slack, channel)
                if anchor is None:
                    note = "no anchor message from Trellis in the owners channel"
        except Exception as exc:
            note = f"the owners channel could not be read ({exc})"
    if anchor is None:
        anchor = await recorded_anchor(database)
    report = await AuditLog(database).verify(expected_head=anchor.head if anchor else None)
    return report, anchor, note
