"""Configuration versions: every workspace version Trellis has seen, and which one is live."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow


class ConfigVersion(Base):
    """One version of the workspace's configuration, named by the hash of its files.

    `files` is a JSON object {relative path: text} of every versioned file, so a rollback
    can write them back. `eval_scores` is the eval gate's result (None until evaluated).
    `status` is live (exactly one at a time), refused (the gate or the loader said no),
    retired (was live once) or saved (kept from the folder before a rollback; never
    evaluated).
    """

    __tablename__ = "config_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    files: Mapped[str] = mapped_column(Text)
    eval_scores: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    live_since: Mapped[datetime | None] = mapped_column(default=None)
