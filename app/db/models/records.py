"""Tables for what happened: the audit trail, handled Slack events, questions being answered,
posted answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow


class AuditRecord(Base):
    """One append-only, hash-chained audit event."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_slack_id: Mapped[str | None] = mapped_column(String(32))
    actor_email: Mapped[str | None] = mapped_column(String(320), index=True)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class HandledEvent(Base):
    """A Slack delivery already taken on: keyed by event_id and by channel+ts."""

    __tablename__ = "handled_events"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReceivedQuestion(Base):
    """A question taken on and not yet answered: stored with its delivery's claim, so a
    crash, a lock timeout or a database outage cannot lose it (app/answering/intake.py).
    The row is deleted once the asker has been shown an answer or told to ask again."""

    __tablename__ = "received_questions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    surface: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str] = mapped_column(String(32), default="")
    channel_id: Mapped[str] = mapped_column(String(32))
    audience_channel_id: Mapped[str | None] = mapped_column(String(32))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    response_url: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=1)
    taken_by: Mapped[str] = mapped_column(String(64))
    taken_until: Mapped[datetime] = mapped_column(index=True)
    audit_id: Mapped[str | None] = mapped_column(String(36))
    """Set in the transaction that records its answer, by the process holding its lease."""
    shown_ts: Mapped[str | None] = mapped_column(String(32))
    """The Slack message showing its progress, once named (when its answer is recorded,
    or a takeover finds or posts it); "" when a process that lost the question withdrew
    the message it had posted, so no takeover answers in it."""


class PostedAnswer(Base):
    """A Trellis answer as it was posted in Slack, so threads and reactions find it."""

    __tablename__ = "answers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    audit_id: Mapped[str] = mapped_column(String(36), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    asker_slack_id: Mapped[str | None] = mapped_column(String(32))
    asker_email: Mapped[str | None] = mapped_column(String(320))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    private: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_answers_channel_message", "channel_id", "message_ts"),
        Index("ix_answers_channel_thread", "channel_id", "thread_ts"),
    )
