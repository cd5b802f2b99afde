"""Every table, imported here so the metadata is complete for migrations."""

from app.db.base import Base
from app.db.models import knowledge, records  # noqa: F401

__all__ = ["Base"]
