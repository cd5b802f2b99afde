"""The CRM: a real SQLite database with the tables the workflows' `sql` actions write to.

Each table gets the columns its actions name, typed from the workflow's inputs (a `number`
input becomes a REAL column), and an integer primary key. The sql connector records each
delivery in `trellis_deliveries` beside the row; the Systems view joins the two, so a row
shows the idempotency key that links it to its approval.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.rules.schema import RulesConfig, Workflow
from app.sandbox.systems.base import Received

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
INPUT = re.compile(r"^\{\{\s*input\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
COLUMN_TYPES = {"number": "REAL", "integer": "INTEGER", "boolean": "INTEGER"}
DELIVERIES = "trellis_deliveries"


def tables_for(rules: RulesConfig) -> dict[str, dict[str, str]]:
    """table -> column -> SQLite type, for every `sql` action of every workflow."""
    tables: dict[str, dict[str, str]] = {}
    for workflow in rules.workflows.values():
        for action in workflow.actions:
            table, values = action.with_.get("table"), action.with_.get("values")
            if action.connector != "sql" or not isinstance(table, str):
                continue
            if not IDENTIFIER.match(table) or not isinstance(values, dict):
                continue
            columns = tables.setdefault(table, {})
            for column, value in values.items():
                if IDENTIFIER.match(str(column)) and column != "id":
                    columns.setdefault(str(column), _column_type(value, workflow))
    return tables


def _column_type(value: Any, workflow: Workflow) -> str:
    if isinstance(value, bool | int):
        return "INTEGER"
    if isinstance(value, float):
        return "REAL"
    match = INPUT.match(value) if isinstance(value, str) else None
    field = workflow.inputs.get(match.group(1)) if match else None
    return COLUMN_TYPES.get(field.type, "TEXT") if field else "TEXT"


class CrmStandIn:
    def __init__(self, path: Path, tables: dict[str, dict[str, str]]) -> None:
        self.path = path
        self.tables = tables

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"

    def create(self) -> None:
        with self._connect() as connection:
            for table, columns in self.tables.items():
                spec = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
                connection.execute(
                    f'CREATE TABLE IF NOT EXISTS "{table}" (id INTEGER PRIMARY KEY'
                    + (f", {spec})" if spec else ")")
                )

    def rows(self, table: str) -> list[dict[str, Any]]:
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(f'SELECT * FROM "{table}"')]

    def received(self) -> list[Received]:
        """Every row of every table, with the delivery key that wrote it (when Trellis did)."""
        found: list[Received] = []
        try:
            keys = self._delivery_keys()
            for table in self.tables:
                for row in self.rows(table):
                    reference = str(row.get("id"))
                    key, at = keys.get((table, reference), (None, None))
                    fields = [(name, _shown(value)) for name, value in row.items()]
                    if key:
                        fields.append((DELIVERIES, key))
                    found.append(
                        Received(
                            system="sql",
                            id=f"{table}/{reference}",
                            title=f"{table} row {reference}",
                            fields=fields,
                            key=key,
                            at=at or 0.0,
                        )
                    )
        except sqlite3.OperationalError:  # a delivery is being written; read again next time
            return found
        return found

    def signature(self) -> tuple[int, ...]:
        """Changes whenever a row is added: cheap enough to poll."""
        try:
            with self._connect() as connection:
                return tuple(
                    connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                    for t in self.tables
                )
        except sqlite3.OperationalError:
            return ()

    def _delivery_keys(self) -> dict[tuple[str, str], tuple[str, float | None]]:
        """(table, row id) -> (idempotency key, when it was delivered)."""
        with self._connect() as connection:
            exists = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (DELIVERIES,)
            ).fetchone()
            if not exists:
                return {}
            rows = connection.execute(
                f"SELECT key, table_name, reference, delivered_at FROM {DELIVERIES}"
            )
            return {
                (table, str(reference)): (key, _moment(delivered_at))
                for key, table, reference, delivered_at in rows
            }

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=0.5)
        try:
            with connection:
                yield connection
        finally:
            connection.close()


def _moment(stored: object) -> float | None:
    try:
        moment = datetime.fromisoformat(str(stored))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
