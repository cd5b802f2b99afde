"""SQL: insert one row into a system-of-record database.

Exactly once, inside the target database itself: one transaction claims the idempotency key
in `trellis_deliveries` and inserts the row. If the key is already there, nothing is inserted
and the original reference is returned; if two workers race, the loser's transaction rolls
back whole and it returns the winner's reference.

Table and column names are never spliced into SQL from the action: the table is reflected
from the database and every column must be one of its columns. Values are bound parameters,
coerced to the column's Python type (a rendered template gives "15" for an integer column).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import Column, DateTime, MetaData, String, Table, exc, insert, inspect, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.errors import ConnectorConfigError, DownstreamError, DownstreamUnavailable
from workflows.base import (
    ActionResult,
    ApprovedAction,
    ConnectorConfig,
    parse_params,
    require_config,
)

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"

_deliveries_metadata = MetaData()
deliveries = Table(
    "trellis_deliveries",
    _deliveries_metadata,
    Column("key", String(255), primary_key=True),
    Column("table_name", String(128), nullable=False),
    Column("reference", String(255), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=False),
)


class SqlConfig(ConnectorConfig):
    connector: ClassVar[str] = "sql"

    url_env: str
    timeout: float = Field(10.0, gt=0)


class SqlParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str = Field(pattern=IDENTIFIER)
    values: dict[str, Any] = Field(min_length=1)


class SqlConnector:
    slug = "sql"
    Config = SqlConfig
    Params = SqlParams

    async def execute(
        self, approved: ApprovedAction, *, config: BaseModel, idempotency_key: str
    ) -> ActionResult:
        settings = require_config(SqlConfig, config)
        params = parse_params(SqlParams, approved)
        for column in params.values:
            if not re.match(IDENTIFIER, column):
                raise ConnectorConfigError(
                    f"The sql action of workflow {approved.workflow} names an invalid column "
                    f"{column!r}."
                )
        engine = _engine(settings)
        try:
            reference = await _deliver(engine, params, idempotency_key)
        except DownstreamError:
            raise
        except (exc.SQLAlchemyError, OSError) as error:
            raise _database_error(error) from error
        finally:
            await engine.dispose()
        return ActionResult(reference=reference, summary=f"Added row {reference} to {params.table}")


def _engine(settings: SqlConfig) -> AsyncEngine:
    invalid = ConnectorConfigError(
        f"The sql connector's database URL (from {settings.url_env}) is not valid."
    )
    try:
        url = make_url(settings.secret("url_env"))
    except exc.ArgumentError:
        raise invalid from None
    connect_args: dict[str, Any] = {}
    if url.drivername == "postgresql+asyncpg":
        connect_args = {"timeout": settings.timeout, "command_timeout": settings.timeout}
    elif url.drivername == "sqlite+aiosqlite":
        connect_args = {"timeout": settings.timeout}
    try:
        return create_async_engine(url, connect_args=connect_args)
    except (exc.ArgumentError, exc.NoSuchModuleError, exc.InvalidRequestError):
        # The URL names no async driver this installation has.
        raise invalid from None


async def _deliver(engine: AsyncEngine, params: SqlParams, key: str) -> str:
    async with engine.connect() as conn:
        await _ensure_deliveries_table(conn)
    try:
        async with engine.begin() as conn:
            earlier = await _earlier_reference(conn, key)
            if earlier is not None:
                return earlier
            # Claiming first makes a concurrent worker wait on the key, then fail its insert
            # and roll back, before it writes anything to the target table.
            await conn.execute(
                insert(deliveries).values(
                    key=key, table_name=params.table, reference="", delivered_at=datetime.now(UTC)
                )
            )
            target = await conn.run_sync(_reflect, params.table)
            row = _bind_values(target, params.values)
            result = await conn.execute(insert(target).values(row))
            reference = _reference(result.inserted_primary_key, key)
            await conn.execute(
                deliveries.update().where(deliveries.c.key == key).values(reference=reference)
            )
            return reference
    except exc.IntegrityError as error:
        async with engine.connect() as conn:
            earlier = await _earlier_reference(conn, key)
        if earlier is not None:
            return earlier
        raise DownstreamError(
            f"{params.table} refused the row: {_first_line(error.orig)}.",
            retryable=False,
            detail=str(error),
        ) from error


async def _ensure_deliveries_table(conn: AsyncConnection) -> None:
    try:
        await conn.run_sync(_deliveries_metadata.create_all, checkfirst=True)
        await conn.commit()
    except (exc.IntegrityError, exc.ProgrammingError, exc.OperationalError):
        # Another worker created it at the same moment; anything worse fails again next.
        await conn.rollback()


async def _earlier_reference(conn: AsyncConnection, key: str) -> str | None:
    found = await conn.execute(select(deliveries.c.reference).where(deliveries.c.key == key))
    return found.scalar_one_or_none()


def _reflect(sync_conn: Connection, name: str) -> Table:
    if not inspect(sync_conn).has_table(name):
        raise ConnectorConfigError(f"The database has no table {name}.")
    return Table(name, MetaData(), autoload_with=sync_conn)


def _bind_values(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(table.columns.keys()))
    if unknown:
        raise ConnectorConfigError(f"Table {table.name} has no column {', '.join(unknown)}.")
    return {name: _coerce(table.columns[name], value) for name, value in values.items()}


def _coerce(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if isinstance(value, python_type) and not (python_type is int and isinstance(value, bool)):
        return value
    if python_type is str and isinstance(value, int | float | Decimal):
        return str(value)
    try:
        return TypeAdapter(python_type).validate_python(value)
    except (ValidationError, TypeError) as error:
        raise ConnectorConfigError(
            f"Column {column.table.name}.{column.name} expects {python_type.__name__}, "
            f"and {value!r} is not one."
        ) from error


def _reference(primary_key: Any, key: str) -> str:
    if primary_key and all(part is not None for part in primary_key):
        return ",".join(str(part) for part in primary_key)
    return key


def _first_line(error: BaseException | None) -> str:
    """The database's own message, without the driver's class name in front of it."""
    text = re.sub(r"^<class '[\w.]+'>:\s*", "", str(error or "").strip())
    return text.splitlines()[0].rstrip(".") if text else "constraint violated"


def _database_error(error: exc.SQLAlchemyError | OSError) -> DownstreamError:
    transient = (
        OSError,
        exc.OperationalError,
        exc.InterfaceError,
        exc.TimeoutError,
        exc.DisconnectionError,
    )
    if isinstance(error, transient) or (
        isinstance(error, exc.DBAPIError) and error.connection_invalidated
    ):
        return DownstreamUnavailable(
            "The system-of-record database is unavailable; Trellis will try again.",
            detail=repr(error),
        )
    problem = _first_line(getattr(error, "orig", None) or error)
    return DownstreamError(
        f"The system-of-record database refused the row: {problem}.",
        retryable=False,
        detail=repr(error),
    )
