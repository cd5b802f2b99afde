"""Bring a database's schema up to date with Alembic.

`trellis run` and `trellis db upgrade` call `upgrade`; the migrations live in
app/db/migrations/versions and run on Trellis's own engine (SQLite or PostgreSQL).
`connect` tries the operator's URL first, so a wrong one is one line naming the setting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from app.db.session import Database
from app.errors import SetupError

MIGRATIONS = Path(__file__).parent / "migrations"
DATABASE_SETTING = "TRELLIS_DATABASE_URL"
CONNECT_TIMEOUT_S = 15.0


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


async def connect(url: str) -> Database:
    """A Database for `url` once a first connection to it has worked. A URL that is not a
    database URL, or a database that does not answer, is a SetupError naming
    TRELLIS_DATABASE_URL (the password left out)."""
    shown = _shown(url)
    try:
        database = Database(url)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise SetupError(
            DATABASE_SETTING,
            f"{shown} is not a database URL Trellis can use (SQLite or PostgreSQL); write e.g. "
            "sqlite+aiosqlite:///trellis.db or postgresql+asyncpg://user@host/name",
        ) from exc
    folder = _sqlite_folder(database)
    if folder is not None and not folder.is_dir():
        await database.dispose()
        raise SetupError(
            DATABASE_SETTING,
            f"the folder {folder} of the SQLite database {shown} does not exist; create it "
            "or choose another path",
        )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S), database.engine.connect():
            pass
    except (DBAPIError, OSError, TimeoutError) as exc:
        await database.dispose()
        raise SetupError(
            DATABASE_SETTING,
            f"cannot connect to {shown} ({_reason(exc)}); check the URL and that the "
            "database server is running and reachable",
        ) from exc
    return database


def _sqlite_folder(database: Database) -> Path | None:
    """The folder a SQLite database file goes in; None for other databases and in-memory."""
    name = make_url(database.url).database
    if database.dialect != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser().absolute().parent


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_S:.0f} s"
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


@asynccontextmanager
async def open_database(url: str) -> AsyncIterator[Database]:
    """A database brought up to date for one command, disposed of when it is done."""
    database = await connect(url)
    try:
        await upgrade(database)
        yield database
    finally:
        await database.dispose()
