"""SQL for the workspace a database serves (one row)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models.served import ServedWorkspace

ROW = 1


class ServedWorkspaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self) -> ServedWorkspace | None:
        return await self.session.get(ServedWorkspace, ROW)

    async def serve(self, *, folder: str, name: str) -> None:
        """Record `folder` as the workspace served from now on."""
        row = await self.session.get(ServedWorkspace, ROW)
        if row is None:
            self.session.add(ServedWorkspace(id=ROW, folder=folder, name=name, since=utcnow()))
        else:
            row.folder, row.name, row.since = folder, name, utcnow()
