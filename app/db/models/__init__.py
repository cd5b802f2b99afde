"""Every table, imported here so the metadata is complete for migrations."""

from app.db.base import Base

__all__ = ["Base"]
