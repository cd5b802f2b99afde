"""SQL for configuration versions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.versions import ConfigVersion
from app.domain import VersionStatus


class VersionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, version: str) -> ConfigVersion | None:
        return await self.session.get(ConfigVersion, version)

    async def find(self, prefix: str) -> list[ConfigVersion]:
        """Versions whose hash starts with `prefix` (people type short hashes)."""
        result = await self.session.execute(
            select(ConfigVersion)
            .where(ConfigVersion.version.startswith(prefix.strip().lower(), autoescape=True))
            .order_by(ConfigVersion.version)
        )
        return list(result.scalars())

    async def live(self) -> ConfigVersion | None:
        result = await self.session.execute(
            select(ConfigVersion)
            .where(ConfigVersion.status == VersionStatus.LIVE)
            .order_by(ConfigVersion.live_since.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def all(self) -> Sequence[ConfigVersion]:
        result = await self.session.execute(
            select(ConfigVersion).order_by(ConfigVersion.created_at.desc())
        )
        return result.scalars().all()

    async def save(
        self,
        *,
        version: str,
        files: str,
        status: str,
        reason: str = "",
        eval_scores: dict[str, Any] | None = None,
        now: datetime,
    ) -> ConfigVersion:
        """Insert or update one version; making it live retires whichever was live."""
        if status == VersionStatus.LIVE:
            await self.session.execute(
                update(ConfigVersion)
                .where(ConfigVersion.status == VersionStatus.LIVE, ConfigVersion.version != version)
                .values(status=VersionStatus.RETIRED)
            )
        row = await self.session.get(ConfigVersion, version, with_for_update=True)
        if row is None:
            row = ConfigVersion(version=version, created_at=now, files=files, status=status)
            self.session.add(row)
        row.status = status
        row.reason = reason
        if eval_scores is not None:
            row.eval_scores = eval_scores
        if status == VersionStatus.LIVE:
            row.live_since = now
        await self.session.flush()
        return row

    async def set_scores(self, version: str, scores: dict[str, Any]) -> None:
        row = await self.session.get(ConfigVersion, version)
        if row is not None:
            row.eval_scores = scores
