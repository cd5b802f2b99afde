"""Tables for what people tell Trellis about its answers, and what owners are told.

- `flags`: a permitted flagger's reaction on an answer, at most one per answer and person.
- `curated_answers`: an owner-approved correction that answers a question from now on.
- `answer_feedback`: Helpful / Not helpful, one per answer and person (the latest wins).
- `owner_notices`: notices waiting to be sent to owners, so a burst becomes one message;
  an unanswered question's notice has its answer's id, and its asker may withdraw it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow


class Flag(Base):
    """Someone who may flag said an answer is wrong."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("answer_id", "flagger_email", name="one_per_flagger"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    answer_id: Mapped[str] = mapped_column(String(36), index=True)
    audit_id: Mapped[str] = mapped_column(String(36))
    flagger_email: Mapped[str] = mapped_column(String(320))
    flagger_slack_id: Mapped[str | None] = mapped_column(String(32))
    reactions: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    correction: Mapped[str | None] = mapped_column(Text)
    wrong_source: Mapped[str | None] = mapped_column(String(255))
    doc_ids: Mapped[list[str]] = mapped_column(default=list)
    owners: Mapped[list[str]] = mapped_column(default=list)
    notices: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    """Where the owners were told: [{"channel": id, "ts": ts}], updated with the outcome."""
    decided_by_email: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CuratedAnswer(Base):
    """An accepted correction: the answer Trellis gives to this question while its sources
    stay visible to the audience."""

    __tablename__ = "curated_answers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flag_id: Mapped[str | None] = mapped_column(String(36), index=True)
    question: Mapped[str] = mapped_column(Text)
    terms: Mapped[str] = mapped_column(Text)
    """The question's content words, sorted and space separated, for matching."""
    answer: Mapped[str] = mapped_column(Text)
    doc_ids: Mapped[list[str]] = mapped_column(default=list)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    approved_by_email: Mapped[str] = mapped_column(String(320))
    approved_by_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerFeedback(Base):
    __tablename__ = "answer_feedback"
    __table_args__ = (UniqueConstraint("answer_id", "person_email", name="one_per_person"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    answer_id: Mapped[str] = mapped_column(String(36), index=True)
    person_email: Mapped[str] = mapped_column(String(320))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OwnerNotice(Base):
    """One item for owners (a question nobody could answer …), sent in batches per route."""

    __tablename__ = "owner_notices"
    __table_args__ = (Index("ix_owner_notices_route_sent", "route", "sent_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(400))
    """The owners it goes to, sorted and comma separated: batches are per route."""
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    sent_at: Mapped[datetime | None] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    """When the asker pressed "Don't forward my question" before it was sent: never sent."""
