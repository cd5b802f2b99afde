"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEARCH_INDEX = {
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(title, heading, text, "
        "content='chunks', content_rowid='id', tokenize='porter unicode61')",
        "CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN "
        "INSERT INTO chunks_fts(rowid, title, heading, text) "
        "VALUES (new.id, new.title, new.heading, new.text); END",
        "CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN "
        "INSERT INTO chunks_fts(chunks_fts, rowid, title, heading, text) "
        "VALUES ('delete', old.id, old.title, old.heading, old.text); END",
        "CREATE TRIGGER IF NOT EXISTS chunks_fts_update AFTER UPDATE ON chunks BEGIN "
        "INSERT INTO chunks_fts(chunks_fts, rowid, title, heading, text) "
        "VALUES ('delete', old.id, old.title, old.heading, old.text); "
        "INSERT INTO chunks_fts(rowid, title, heading, text) "
        "VALUES (new.id, new.title, new.heading, new.text); END",
    ],
    "postgresql": [
        "ALTER TABLE chunks ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
        "setweight(to_tsvector('english', coalesce(heading, '')), 'B') || "
        "setweight(to_tsvector('english', coalesce(text, '')), 'C')) STORED",
        "CREATE INDEX IF NOT EXISTS ix_chunks_search_vector ON chunks USING gin (search_vector)",
    ],
}
DROP_SEARCH_INDEX = {
    "sqlite": ["DROP TABLE IF EXISTS chunks_fts"],
    "postgresql": ["DROP INDEX IF EXISTS ix_chunks_search_vector"],
}


def upgrade() -> None:
    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("answer_id", sa.String(length=36), nullable=False),
        sa.Column("person_email", sa.String(length=320), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_feedback")),
        sa.UniqueConstraint("answer_id", "person_email", name="one_per_person"),
    )
    with op.batch_alter_table("answer_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_answer_feedback_answer_id"), ["answer_id"], unique=False
        )

    op.create_table(
        "answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("audit_id", sa.String(length=36), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("asker_slack_id", sa.String(length=32), nullable=True),
        sa.Column("asker_email", sa.String(length=320), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answers_audit_id"), ["audit_id"], unique=False)
        batch_op.create_index(
            "ix_answers_channel_message", ["channel_id", "message_ts"], unique=False
        )
        batch_op.create_index(
            "ix_answers_channel_thread", ["channel_id", "thread_ts"], unique=False
        )

    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_slack_id", sa.String(length=32), nullable=True),
        sa.Column("actor_email", sa.String(length=320), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_events_id")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_events_actor_email"), ["actor_email"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_events_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_events_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "config_versions",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("eval_scores", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("live_since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_config_versions")),
    )
    with op.batch_alter_table("config_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_config_versions_status"), ["status"], unique=False)

    op.create_table(
        "curated_answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("flag_id", sa.String(length=36), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("doc_ids", sa.JSON(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("approved_by_email", sa.String(length=320), nullable=False),
        sa.Column("approved_by_name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curated_answers")),
    )
    with op.batch_alter_table("curated_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_curated_answers_active"), ["active"], unique=False)
        batch_op.create_index(batch_op.f("ix_curated_answers_flag_id"), ["flag_id"], unique=False)

    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated", sa.Date(), nullable=True),
        sa.Column("supersedes", sa.String(length=255), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('current', 'draft', 'deprecated')", name=op.f("ck_documents_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_path"), ["path"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_supersedes"), ["supersedes"], unique=False)

    op.create_table(
        "drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("requester_email", sa.String(length=320), nullable=False),
        sa.Column("requester_name", sa.Text(), nullable=False),
        sa.Column("requester_slack_id", sa.String(length=32), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("answer_id", sa.String(length=36), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("requirement", sa.JSON(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("rule_version", sa.String(length=64), nullable=False),
        sa.Column("card_channel", sa.String(length=32), nullable=True),
        sa.Column("card_ts", sa.String(length=32), nullable=True),
        sa.Column("decided_by_email", sa.String(length=320), nullable=True),
        sa.Column("decided_by_name", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_hash", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("edited_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index("ix_drafts_card", ["card_channel", "card_ts"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_drafts_requester_email"), ["requester_email"], unique=False
        )
        batch_op.create_index("ix_drafts_state_expires", ["state", "expires_at"], unique=False)

    op.create_table(
        "flags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("answer_id", sa.String(length=36), nullable=False),
        sa.Column("audit_id", sa.String(length=36), nullable=False),
        sa.Column("flagger_email", sa.String(length=320), nullable=False),
        sa.Column("flagger_slack_id", sa.String(length=32), nullable=True),
        sa.Column("reactions", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("wrong_source", sa.String(length=255), nullable=True),
        sa.Column("doc_ids", sa.JSON(), nullable=False),
        sa.Column("owners", sa.JSON(), nullable=False),
        sa.Column("notices", sa.JSON(), nullable=False),
        sa.Column("decided_by_email", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
        sa.UniqueConstraint("answer_id", "flagger_email", name="one_per_flagger"),
    )
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flags_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_flags_status"), ["status"], unique=False)

    op.create_table(
        "handled_events",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_handled_events")),
    )
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )
    op.create_table(
        "owner_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("route", sa.String(length=400), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=36), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owner_notices")),
    )
    with op.batch_alter_table("owner_notices", schema=None) as batch_op:
        batch_op.create_index("ix_owner_notices_route_sent", ["route", "sent_at"], unique=False)

    op.create_table(
        "chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chunk_id", sa.String(length=300), nullable=False),
        sa.Column("doc_id", sa.String(length=255), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id"],
            ["documents.id"],
            name=op.f("fk_chunks_doc_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunks")),
        sa.UniqueConstraint("chunk_id", name=op.f("uq_chunks_chunk_id")),
    )
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chunks_doc_id"), ["doc_id"], unique=False)

    op.create_table(
        "document_access",
        sa.Column("doc_id", sa.String(length=255), nullable=False),
        sa.Column("principal", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id"],
            ["documents.id"],
            name=op.f("fk_document_access_doc_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("doc_id", "principal", name=op.f("pk_document_access")),
    )
    with op.batch_alter_table("document_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_access_principal"), ["principal"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("draft_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("draft_hash", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("reported", sa.Boolean(), nullable=False),
        sa.Column("report_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_outbox_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("draft_id", "position", name="uq_outbox_draft_position"),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_draft_id"), ["draft_id"], unique=False)
        batch_op.create_index("ix_outbox_state_due", ["state", "next_attempt_at"], unique=False)

    # Full-text search over chunks: FTS5 on SQLite, a weighted tsvector on PostgreSQL.
    for statement in SEARCH_INDEX[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_SEARCH_INDEX[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_state_due")
        batch_op.drop_index(batch_op.f("ix_outbox_draft_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("document_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_access_principal"))

    op.drop_table("document_access")
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chunks_doc_id"))

    op.drop_table("chunks")
    with op.batch_alter_table("owner_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_owner_notices_route_sent")

    op.drop_table("owner_notices")
    op.drop_table("job_leases")
    op.drop_table("handled_events")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flags_status"))
        batch_op.drop_index(batch_op.f("ix_flags_answer_id"))

    op.drop_table("flags")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_drafts_state_expires")
        batch_op.drop_index(batch_op.f("ix_drafts_requester_email"))
        batch_op.drop_index("ix_drafts_card")

    op.drop_table("drafts")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_supersedes"))
        batch_op.drop_index(batch_op.f("ix_documents_path"))

    op.drop_table("documents")
    with op.batch_alter_table("curated_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_curated_answers_flag_id"))
        batch_op.drop_index(batch_op.f("ix_curated_answers_active"))

    op.drop_table("curated_answers")
    with op.batch_alter_table("config_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_config_versions_status"))

    op.drop_table("config_versions")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_subject_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_kind"))
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_email"))

    op.drop_table("audit_events")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index("ix_answers_channel_thread")
        batch_op.drop_index("ix_answers_channel_message")
        batch_op.drop_index(batch_op.f("ix_answers_audit_id"))

    op.drop_table("answers")
    with op.batch_alter_table("answer_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_feedback_answer_id"))

    op.drop_table("answer_feedback")
