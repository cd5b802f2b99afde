"""Every table, imported here so the metadata is complete for migrations."""

from app.db.base import Base
from app.db.models import (  # noqa: F401
    approvals,
    feedback,  # noqa: F401
    knowledge,
    records,
    served,
    versions,  # noqa: F401
)

__all__ = ["Base"]
