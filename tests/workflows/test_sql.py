"""The sql connector against real databases: SQLite, and the local PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.errors import ConnectorConfigError, DownstreamError, DownstreamUnavailable
from tests.peers import approved_action, free_port
from workflows.registry import validate_config
from workflows.sql import SqlConnector

POSTGRES_ADMIN = os.environ.get(
    "TRELLIS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
KEY = "outbox:act-1:3"

crm = MetaData()
discounts = Table(
    "discounts",
    crm,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer", String(100), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("note", Text),
)
accounts = Table(
    "accounts",
    crm,
    Column("code", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
)


async def _create_tables(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(crm.create_all)
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path) -> AsyncIterator[str]:
    """An empty system-of-record database with the CRM's tables, on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
        await _create_tables(url)
        yield url
        return
    name = f"trellis_wf_sql_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_ADMIN.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    try:
        await _create_tables(url)
        yield url
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def rows(url: str, query: str) -> list[tuple]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(text(query))]
    finally:
        await engine.dispose()


async def insert(url: str, params: dict, *, key: str = KEY, env: dict | None = None):
    config = validate_config(
        "sql", {"url_env": "CRM_DATABASE_URL"}, env or {"CRM_DATABASE_URL": url}
    )
    return await SqlConnector().execute(
        approved_action("sql", params), config=config, idempotency_key=key
    )


DISCOUNT = {"table": "discounts", "values": {"customer": "Initech", "percent": "15"}}


async def test_the_row_is_inserted_and_the_delivery_recorded(database_url: str) -> None:
    result = await insert(database_url, DISCOUNT)

    assert result.reference == "1"
    assert result.summary == "Added row 1 to discounts"
    assert await rows(database_url, "SELECT id, customer, percent, note FROM discounts") == [
        (1, "Initech", 15, None)
    ]
    assert await rows(
        database_url, "SELECT key, table_name, reference FROM trellis_deliveries"
    ) == [(KEY, "discounts", "1")]


async def test_a_repeat_with_the_same_key_inserts_nothing(database_url: str) -> None:
    first = await insert(database_url, DISCOUNT)
    again = await insert(database_url, DISCOUNT)
    other = await insert(database_url, DISCOUNT, key="outbox:act-2:3")

    assert again.reference == first.reference == "1"
    assert other.reference == "2"
    assert await rows(database_url, "SELECT count(*) FROM discounts") == [(2,)]


async def test_concurrent_repeats_insert_one_row(database_url: str) -> None:
    results = await asyncio.gather(*(insert(database_url, DISCOUNT) for _ in range(5)))

    assert {r.reference for r in results} == {"1"}
    assert await rows(database_url, "SELECT count(*) FROM discounts") == [(1,)]
    assert await rows(database_url, "SELECT count(*) FROM trellis_deliveries") == [(1,)]


async def test_a_given_primary_key_is_the_reference(database_url: str) -> None:
    result = await insert(
        database_url, {"table": "accounts", "values": {"code": "INI-7", "name": "Initech"}}
    )
    assert result.reference == "INI-7"


async def test_an_unknown_table_or_column_is_not_retryable_and_records_nothing(
    database_url: str,
) -> None:
    with pytest.raises(ConnectorConfigError, match="no table invoices"):
        await insert(database_url, {"table": "invoices", "values": {"customer": "Initech"}})
    with pytest.raises(ConnectorConfigError, match="no column discount_pct"):
        await insert(
            database_url,
            {"table": "discounts", "values": {"customer": "Initech", "discount_pct": 15}},
        )
    assert await rows(database_url, "SELECT count(*) FROM trellis_deliveries") == [(0,)]


@pytest.mark.parametrize(
    "params",
    [
        {"table": "discounts; DROP TABLE discounts", "values": {"customer": "x"}},
        {"table": "discounts", "values": {"customer) VALUES ('x'); --": "x"}},
        {"table": 'discounts" --', "values": {"customer": "x"}},
    ],
)
async def test_names_that_are_not_identifiers_are_refused(database_url: str, params) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        await insert(database_url, params)
    assert caught.value.retryable is False
    assert await rows(database_url, "SELECT count(*) FROM discounts") == [(0,)]


async def test_values_are_bound_not_spliced(database_url: str) -> None:
    hostile = "Initech'); DROP TABLE discounts; --"
    await insert(
        database_url, {"table": "discounts", "values": {"customer": hostile, "percent": 5}}
    )
    assert await rows(database_url, "SELECT customer FROM discounts") == [(hostile,)]


async def test_a_value_of_the_wrong_type_is_not_retryable(database_url: str) -> None:
    with pytest.raises(ConnectorConfigError, match="discounts.percent expects int"):
        await insert(
            database_url, {"table": "discounts", "values": {"customer": "x", "percent": "lots"}}
        )


async def test_a_constraint_violation_is_not_retryable_and_records_nothing(
    database_url: str,
) -> None:
    with pytest.raises(DownstreamError) as caught:
        await insert(database_url, {"table": "discounts", "values": {"customer": "Initech"}})
    assert caught.value.retryable is False
    assert "discounts refused the row" in caught.value.user_message
    assert await rows(database_url, "SELECT count(*) FROM trellis_deliveries") == [(0,)]


@pytest.mark.postgres
async def test_an_unreachable_database_is_retryable() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/crm"
    with pytest.raises(DownstreamUnavailable) as caught:
        await insert(url, DISCOUNT)
    assert caught.value.retryable is True


async def test_a_missing_or_invalid_url_is_a_configuration_error(tmp_path) -> None:
    with pytest.raises(ConnectorConfigError, match="CRM_DATABASE_URL"):
        validate_config("sql", {"url_env": "CRM_DATABASE_URL"}, {})
    with pytest.raises(ConnectorConfigError, match="not valid"):
        await insert("", DISCOUNT, env={"CRM_DATABASE_URL": "not a url"})
    with pytest.raises(ConnectorConfigError, match="not valid"):
        await insert("", DISCOUNT, env={"CRM_DATABASE_URL": "nosuchdb+driver://x/y"})
