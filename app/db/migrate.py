"""Bring a database's schema up to date."""

from __future__ import annotations

from app.db import models
from app.db.session import Database


async def upgrade(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(models.Base.metadata.create_all)
