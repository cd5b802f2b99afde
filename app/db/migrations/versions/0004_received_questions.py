"""questions kept until they are answered

A question is stored with the claim on its Slack delivery and deleted once its asker has
an answer or has been told to ask again, so a crash or an outage cannot lose it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_questions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("surface", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("audience_channel_id", sa.String(length=32), nullable=True),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("response_url", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("taken_by", sa.String(length=64), nullable=False),
        sa.Column("taken_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_questions")),
    )
    op.create_index(
        op.f("ix_received_questions_taken_until"),
        "received_questions",
        ["taken_until"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_received_questions_taken_until"), table_name="received_questions")
    op.drop_table("received_questions")
