"""The workspace a database serves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow


class ServedWorkspace(Base):
    """One row: the workspace this database holds the index and the audit trail of.

    A workspace is known by its folder (absolute, links resolved), not by trellis.yml's
    `name`: two workspaces written by `trellis init` share the starter's name, and a name
    is edited freely. The name is kept to say which workspace it is in messages.
    """

    __tablename__ = "served_workspace"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200), default="")
    since: Mapped[datetime] = mapped_column(default=utcnow)
    """When this database began serving it."""
