"""The database: one async engine and a session factory, on SQLite or PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every `session()` starts with
`BEGIN IMMEDIATE`: a writer takes the write lock up front instead of upgrading a read
lock later, so two writers can never deadlock each other, they simply queue. `reading()`
is a read-only transaction on a second engine that starts with a plain `BEGIN`, so reads
never wait for the write lock (WAL lets them run beside a writer).

A unit of work reads in one `reading()` and writes in one `session()`: a question, for
one, reads everything its answer rests on in one read transaction, then writes its audit
record and answer records in one write transaction. Functions that only read take a
`DatabaseOrSession`: given an open session, they read in the caller's transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """Owns the engine. `session()` is one unit of work, committed in one place."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self.read_engine: AsyncEngine = self.engine
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, begin="BEGIN IMMEDIATE")
            # Reads take no write lock: a search never queues behind an answer being saved.
            self.read_engine = create_async_engine(self.url, **kwargs)
            _configure_sqlite(self.read_engine, begin="BEGIN")
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction: committed when the block ends, rolled back on error."""
        session = self.sessions()
        try:
            async with session.begin():
                yield session
        finally:
            await _close(session)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (on SQLite it takes no write lock); nothing is committed."""
        session = self.read_sessions()
        try:
            yield session
        finally:
            await _close(session)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


async def _close(session: AsyncSession) -> None:
    """Give the connection back to the pool even when the task is being cancelled (a
    shutdown stopping a background job mid-transaction): an abandoned connection would stay
    open until the garbage collector found it. Closing rolls back whatever is uncommitted."""
    await asyncio.shield(session.close())


DatabaseOrSession = Database | AsyncSession
"""A read-only caller's source: an open session (part of the caller's unit of work), or
the database (then a read transaction of its own)."""


@asynccontextmanager
async def reading_from(source: DatabaseOrSession) -> AsyncIterator[AsyncSession]:
    """`source` itself when it is an open session, otherwise a new `reading()`."""
    if isinstance(source, AsyncSession):
        yield source
        return
    async with source.reading() as session:
        yield session


def _configure_sqlite(engine: AsyncEngine, *, begin: str) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)
