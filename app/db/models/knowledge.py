"""Tables for the knowledge index: documents, who may see them, and their chunks.

Full-text search is dialect specific and is not part of the ORM model:

- SQLite: an FTS5 table `chunks_fts` with external content over `chunks`, tokenizer
  `porter unicode61`, kept in sync by triggers on `chunks`.
- PostgreSQL: a generated `tsvector` column `chunks.search_vector` (english; the document
  title weighs more than the heading, which weighs more than the text) with a GIN index.

`search_index_ddl` gives the statements, so `create_all` (below) and an Alembic migration
run exactly the same DDL.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow

FTS_TABLE = "chunks_fts"
SEARCH_VECTOR = "search_vector"
TEXT_SEARCH_CONFIG = "english"


class Document(Base):
    """One indexed document, as it was when last ingested."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("status IN ('current', 'draft', 'deprecated')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), index=True)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="current")
    updated: Mapped[date | None] = mapped_column(Date)
    supersedes: Mapped[str | None] = mapped_column(String(255), index=True)
    tags: Mapped[list] = mapped_column(default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentAccess(Base):
    """One principal allowed to see a document. No rows: nobody may see it."""

    __tablename__ = "document_access"

    doc_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    principal: Mapped[str] = mapped_column(String(320), primary_key=True, index=True)


class Chunk(Base):
    """A passage of a document. `chunk_id` (`{doc_id}#{ordinal}`) is what citations keep."""

    __tablename__ = "chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chunk_id: Mapped[str] = mapped_column(String(300), unique=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    heading: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)


_SQLITE_COLUMNS = "title, heading, text"

_SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    f"{_SQLITE_COLUMNS}, content='chunks', content_rowid='id', "
    "tokenize='porter unicode61')",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, {_SQLITE_COLUMNS}) "
    "VALUES (new.id, new.title, new.heading, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_SQLITE_COLUMNS}) "
    "VALUES ('delete', old.id, old.title, old.heading, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_update AFTER UPDATE ON chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_SQLITE_COLUMNS}) "
    "VALUES ('delete', old.id, old.title, old.heading, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, {_SQLITE_COLUMNS}) "
    "VALUES (new.id, new.title, new.heading, new.text); END",
]

_POSTGRES_DDL = [
    f"ALTER TABLE chunks ADD COLUMN IF NOT EXISTS {SEARCH_VECTOR} tsvector "
    "GENERATED ALWAYS AS ("
    f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(title, '')), 'A') || "
    f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(heading, '')), 'B') || "
    f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(text, '')), 'C')"
    ") STORED",
    f"CREATE INDEX IF NOT EXISTS ix_chunks_{SEARCH_VECTOR} ON chunks USING gin ({SEARCH_VECTOR})",
]


def search_index_ddl(dialect: str) -> list[str]:
    """The statements that add full-text search to an existing `chunks` table."""
    if dialect == "sqlite":
        return list(_SQLITE_DDL)
    if dialect == "postgresql":
        return list(_POSTGRES_DDL)
    raise ValueError(f"no full-text search for the {dialect!r} dialect")


def drop_search_index_ddl(dialect: str) -> list[str]:
    """The statements that remove what `search_index_ddl` created (triggers go with `chunks`)."""
    if dialect == "sqlite":
        return [f"DROP TABLE IF EXISTS {FTS_TABLE}"]
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS ix_chunks_{SEARCH_VECTOR}"]
    raise ValueError(f"no full-text search for the {dialect!r} dialect")


for _dialect in ("sqlite", "postgresql"):
    for _statement in search_index_ddl(_dialect):
        event.listen(Chunk.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
    for _statement in drop_search_index_ddl(_dialect):
        event.listen(Chunk.__table__, "after_drop", DDL(_statement).execute_if(dialect=_dialect))
