"""What the repositories share for writes: the dialect's INSERT (for ON CONFLICT) and the
number of rows a statement hit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import Base


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def dialect_insert(session: AsyncSession) -> Callable[[type[Base]], PostgresInsert | SqliteInsert]:
    """The INSERT of the session's database, which has `on_conflict_do_nothing`."""
    return pg_insert if is_postgres(session) else sqlite_insert


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT, UPDATE or DELETE without RETURNING hit.

    The session types every result as `Result`; for such a statement it is a
    `CursorResult`, the one that carries the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"expected the result of a DML statement, got {type(result).__name__}")
    return result.rowcount
