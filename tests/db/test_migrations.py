"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.db.migrate import alembic_config, current_revision, head_revision, upgrade
from app.db.models import Base

# Created by raw DDL for full-text search, so the models do not list them.
SEARCH_OBJECTS = {
    "chunks_fts",
    "chunks_fts_data",
    "chunks_fts_idx",
    "chunks_fts_content",
    "chunks_fts_docsize",
    "chunks_fts_config",
    "search_vector",
    "ix_chunks_search_vector",
}


def _differences(connection) -> list:
    context = MigrationContext.configure(connection)
    diffs = compare_metadata(context, Base.metadata)
    return [d for d in diffs if not any(name in repr(d) for name in SEARCH_OBJECTS)]


async def test_migrated_schema_matches_the_models(database):
    assert await current_revision(database) == head_revision()
    async with database.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []


async def test_upgrade_is_idempotent_and_downgrade_removes_everything(database):
    await upgrade(database)  # a second run changes nothing

    def down(connection) -> list[str]:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        return [t for t in Base.metadata.tables if connection.dialect.has_table(connection, t)]

    async with database.engine.begin() as conn:
        assert await conn.run_sync(down) == []
    await upgrade(database)
    assert await current_revision(database) == head_revision()
