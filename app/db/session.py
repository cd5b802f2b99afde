"""The database: one async engine and a session factory, on SQLite or PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every `session()` starts with
`BEGIN IMMEDIATE`: a writer takes the write lock up front instead of upgrading a read
lock later, so two writers can never deadlock each other, they simply queue. `reading()`
is a read-only transaction on a second engine that starts with a plain `BEGIN`, so reads
never wait for the write lock (WAL lets them run beside a writer).

Within one process, SQLite writers also take turns before asking for the write lock
(`_WriteTurns`): SQLite's own busy handler makes a waiting writer poll with growing sleeps,
so under load the lock sits free while writers sleep and a short write waits behind long
ones. `session(urgent=True)` is for the few short writes a person is waiting on (the claim
on a Slack event before the first reply): it goes before the writers still waiting.

A unit of work reads in one `reading()` and writes in one `session()`: a question, for
one, reads everything its answer rests on in one read transaction, then writes its audit
record and answer records in one write transaction. Functions that only read take a
`DatabaseOrSession`: given an open session, they read in the caller's transaction.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 30_000

log = structlog.get_logger(__name__)


def unavailable(error: BaseException) -> bool:
    """The database could not be reached or was busy past its wait (a lock held too long, a
    refused or dropped connection, an exhausted pool): worth trying again later, unlike a
    mistake in what was asked of it."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout | OSError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


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
        self._turns = _WriteTurns() if self.dialect == "sqlite" else None
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._open_sessions = 0
        self._disposed = False

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def session(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A transaction: committed when the block ends, rolled back on error. `urgent`: a
        short write someone is waiting on, taken before the other waiting writers."""
        if self._turns is None or _holding_turn.get():
            async with self._transaction() as session:
                yield session
            return
        async with self._turns.turn(urgent=urgent):
            token = _holding_turn.set(True)
            try:
                async with self._transaction() as session:
                    yield session
            finally:
                _holding_turn.reset(token)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        session = self.sessions()
        self._open_sessions += 1
        try:
            async with session.begin():
                yield session
        finally:
            await self._close(session)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (on SQLite it takes no write lock); nothing is committed."""
        session = self.read_sessions()
        self._open_sessions += 1
        try:
            yield session
        finally:
            await self._close(session)

    async def _close(self, session: AsyncSession) -> None:
        try:
            if self._disposed:
                # Its connection may come from the pool the close already emptied, which
                # would keep it, unclosed, if it were given back: closed outright instead.
                await asyncio.shield(session.invalidate())
            else:
                await _close(session)
        finally:
            self._open_sessions -= 1
            if self._disposed and not self._open_sessions:
                # Work that outlived `dispose` (a listener still finishing at shutdown):
                # the connections it opened are closed now, not left to the collector.
                await asyncio.shield(self._dispose_engines())

    async def dispose(self, *, grace: float = 5.0) -> None:
        """Close every connection, after the sessions in progress end (up to `grace` s)."""
        self._disposed = True
        deadline = time.monotonic() + grace
        # Polled: an asyncio.Event would tie the database to one event loop.
        while self._open_sessions and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        await self._dispose_engines()

    async def _dispose_engines(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


_holding_turn: ContextVar[bool] = ContextVar("holding_write_turn", default=False)
"""Set while a write session of this task is open: a write opened inside it (which SQLite
would refuse after its busy timeout anyway) does not wait for a turn it already has."""


class _WriteTurns:
    """One writer at a time in this process, in order of arrival, except that an urgent
    writer goes before the others waiting; never twice in a row while others wait, so a
    stream of urgent writes cannot hold the others back.

    A writer that has waited as long as SQLite itself would (its busy timeout) goes ahead
    without a turn and leaves it to SQLite, so a write this process cannot foresee (one
    that waits, inside its transaction, for another writer) fails as it did before rather
    than waiting forever."""

    def __init__(self, patience: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> None:
        self.patience = patience
        self._busy = False
        self._urgent_last = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        taken = await self._take(self._urgent if urgent else self._others)
        try:
            yield
        finally:
            if taken:
                self._hand_on()

    async def _take(self, queue: deque[asyncio.Future[None]]) -> bool:
        if not self._busy:
            self._busy, self._urgent_last = True, queue is self._urgent
            return True
        future = asyncio.get_running_loop().create_future()
        queue.append(future)
        try:
            async with asyncio.timeout(self.patience):
                await future
        except TimeoutError:
            self._give_up(queue, future)
            log.warning("write_turn_not_taken", waited_s=self.patience)
            return False
        except asyncio.CancelledError:
            self._give_up(queue, future)
            raise
        return True

    def _give_up(self, queue: deque[asyncio.Future[None]], future: asyncio.Future[None]) -> None:
        if future.done() and not future.cancelled():
            self._hand_on()  # the turn came just as the writer stopped waiting
        elif future in queue:
            queue.remove(future)

    def _hand_on(self) -> None:
        order = (self._others, self._urgent) if self._urgent_last else (self._urgent, self._others)
        for queue in order:
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    self._urgent_last = queue is self._urgent
                    return
        self._busy = False


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
