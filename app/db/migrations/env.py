"""Alembic environment: migrations run on the connection Trellis hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from app.db.models import Base

# A fixed key for the advisory lock that keeps replicas from migrating at the same time.
MIGRATION_LOCK = 7_340_032

target_metadata = Base.metadata


def run_migrations(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `trellis db upgrade`.")
run_migrations(connection)
