"""search terms and segment vectors on chunks; database full-text search removed

Search ranks chunks in each process from stems and vectors computed at ingest, the same
on SQLite and PostgreSQL, so the dialect-specific full-text indexes go. Existing chunks
get empty terms and no vectors: the next ingest re-indexes every document.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_FTS = ["chunks_fts_insert", "chunks_fts_delete", "chunks_fts_update"]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in _SQLITE_FTS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS chunks_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_chunks_search_vector")
        op.execute("ALTER TABLE chunks DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terms", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("segments", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("vectors", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("embedder", sa.String(length=64), nullable=True))
    op.create_table(
        "knowledge_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_state")),
    )
    # Every document is re-read and re-embedded by the next ingest.
    op.execute("UPDATE documents SET content_hash = ''")


def downgrade() -> None:
    op.drop_table("knowledge_state")
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.drop_column("embedder")
        batch_op.drop_column("vectors")
        batch_op.drop_column("segments")
        batch_op.drop_column("terms")
    op.execute("UPDATE documents SET content_hash = ''")
