"""Every table, imported here so the metadata is complete for migrations."""

from app.db.base import Base
from app.db.models import approvals, knowledge, records  # noqa: F401
from app.db.models import feedback  # noqa: F401
from app.db.models import versions  # noqa: F401

__all__ = ["Base"]
