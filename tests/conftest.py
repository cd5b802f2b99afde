"""Shared fixtures: real databases (SQLite and the local PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.db.migrate import upgrade
from app.db.session import Database

POSTGRES_ADMIN_DSN = os.environ.get(
    "TRELLIS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


async def _create_postgres_database() -> tuple[str, str]:
    name = f"trellis_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = POSTGRES_ADMIN_DSN.rpartition("/")
    return name, f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


async def _drop_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request, tmp_path) -> AsyncIterator[Database]:
    """A migrated, empty database: once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}")
        await upgrade(db)
        yield db
        await db.dispose()
        return
    name, url = await _create_postgres_database()
    db = Database(url)
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()
        await _drop_postgres_database(name)


@pytest.fixture
async def sqlite_database(tmp_path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}")
    await upgrade(db)
    yield db
    await db.dispose()


@pytest.fixture(autouse=True)
def no_quotas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests ask many questions quickly as one person; the quotas (app/trust/quotas.py) are
    off unless a test sets them (tests/trust/test_quotas.py)."""
    for name in (
        "TRELLIS_QUESTIONS_PER_MINUTE",
        "TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE",
        "TRELLIS_HELD_CARDS_PER_HOUR",
    ):
        monkeypatch.setenv(name, "0")
