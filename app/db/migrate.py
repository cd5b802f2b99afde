"""Bring a database's schema up to date with Alembic.

`trellis run` and `trellis db upgrade` call `upgrade`; the migrations live in
app/db/migrations/versions and run on Trellis's own engine (SQLite or PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from app.db.session import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(database: Database) -> None:
    config = alembic_config()
    async with database.engine.begin() as conn:
        await conn.run_sync(_upgrade, config)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database: Database) -> str | None:
    async with database.engine.connect() as conn:
        return await conn.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@asynccontextmanager
async def open_database(url: str) -> AsyncIterator[Database]:
    """A database brought up to date for one command, disposed of when it is done."""
    database = Database(url)
    try:
        await upgrade(database)
        yield database
    finally:
        await database.dispose()
