"""Tables for drafts awaiting a decision, the outbox of approved actions, and job leases.

A draft's `state` and `version` change only by compare-and-set (see app/approvals/store.py);
an outbox row is claimed with a lease so that a crashed worker's row is taken over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow


class Draft(Base):
    """An AI draft (a workflow request or a Q&A answer) and its approval."""

    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    workflow: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)

    requester_email: Mapped[str] = mapped_column(String(320), index=True)
    requester_name: Mapped[str] = mapped_column(Text, default="")
    requester_slack_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    private: Mapped[bool] = mapped_column(default=False)
    answer_id: Mapped[str | None] = mapped_column(String(36))

    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text: Mapped[str] = mapped_column(Text)
    original_text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    citations: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    requirement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    rule_version: Mapped[str] = mapped_column(String(64), default="")

    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    decided_by_email: Mapped[str | None] = mapped_column(String(320))
    decided_by_name: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column()
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    edited_by: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    remind_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalate_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    escalated_to: Mapped[list[str]] = mapped_column(default=list)
    expires_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_drafts_state_expires", "state", "expires_at"),
        Index("ix_drafts_card", "card_channel", "card_ts"),
    )


WAITING_FROM = 10_000
"""Outbox positions from here on are messages sent while a draft waits for a decision
(app/approvals/notices.py), after any draft's actions; they hold none of them up."""


class OutboxAction(Base):
    """One approved action waiting for, or done by, a downstream system."""

    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    draft_id: Mapped[str] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    connector: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    draft_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    reported: Mapped[bool] = mapped_column(default=False)
    report_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("draft_id", "position", name="uq_outbox_draft_position"),
        Index("ix_outbox_state_due", "state", "next_attempt_at"),
    )


class JobLease(Base):
    """Which replica runs a scheduled job until when: once per cluster."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column()
