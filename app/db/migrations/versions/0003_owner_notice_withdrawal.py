"""owner notices the asker withdrew

A question nobody could answer waits before its owners hear of it; meanwhile its asker
may withdraw it, and the withdrawn notice is kept, marked, and never sent.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owner_notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("owner_notices", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_at")
