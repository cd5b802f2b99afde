"""Tables for the knowledge index: documents, who may see them, and their chunks.

Each chunk carries what search needs, computed once at ingest and identical on SQLite and
PostgreSQL: `terms`, the Snowball stems of its text (keyword ranking), and `vectors`, one
embedding per segment (`segments`, spans of the text) from the model named in `embedder`.
The search index of each process is built from these rows (see `app/knowledge/index.py`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow


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
    tags: Mapped[list[str]] = mapped_column(default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    """The fingerprint of what was indexed: the file's bytes and what reading it resolved
    (metadata, access), with the reader and model versions."""
    read_stamp: Mapped[str | None] = mapped_column(String(64))
    """The file as last read (bytes, path, the `_access.yml` files above it, versions):
    while it is the same, the file is not read again (app/knowledge/ingest.py)."""
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
    terms: Mapped[str] = mapped_column(Text, default="")
    """Stems of the text, space-separated, stopwords left out."""
    segments: Mapped[list[list[int]]] = mapped_column(default=list)
    """[[start, end], ...]: the spans of `text` that have a vector each."""
    vectors: Mapped[bytes | None] = mapped_column(LargeBinary)
    """float16, one row of `embeddings.DIMENSIONS` per segment; None without a model."""
    embedder: Mapped[str | None] = mapped_column(String(64))


class KnowledgeState(Base):
    """One row: the generation of the index, bumped by every change to documents or chunks.

    Each process rebuilds its search index when the generation it built from is behind.
    """

    __tablename__ = "knowledge_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
