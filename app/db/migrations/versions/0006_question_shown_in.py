"""the message showing a question's progress

A question being answered names the Slack message that shows its progress (its thinking
indicator, its stream), so a process that takes it over answers in that message, and a
process that lost it knows whether its own message was taken over with it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("received_questions") as batch:
        batch.add_column(sa.Column("shown_ts", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("received_questions") as batch:
        batch.drop_column("shown_ts")
