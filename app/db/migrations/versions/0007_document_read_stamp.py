"""what a document's file was when last read

Each indexed document keeps a stamp of its file as last read (its bytes, its path, the
`_access.yml` files above it, the reader and model versions), so a file whose stamp has
not changed is not read again to learn that nothing changed.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("read_stamp", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("read_stamp")
