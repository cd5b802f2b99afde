"""SQL for the knowledge index: documents, their access rows, chunks, full-text search.

The AccessScope filter is part of every query that returns documents or passages: for
each viewer, the document must have an access row naming one of that viewer's principals.
Nothing outside the scope is ever read into Python.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    and_,
    column,
    delete,
    exists,
    false,
    func,
    insert,
    literal_column,
    not_,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models.knowledge import (
    FTS_TABLE,
    SEARCH_VECTOR,
    TEXT_SEARCH_CONFIG,
    Chunk,
    Document,
    DocumentAccess,
)
from app.domain import DocumentStatus, Passage

# bm25 column weights for (title, heading, text) in the FTS5 table.
_BM25_WEIGHTS = (5.0, 3.0, 1.0)

Viewers = Sequence[Collection[str]]


class ChunkLike(Protocol):
    ordinal: int
    heading: str
    text: str


@dataclass(frozen=True)
class IndexedDocument:
    """A document as the index holds it."""

    id: str
    path: str
    title: str
    url: str | None
    owner: str | None
    status: str
    updated: date | None
    supersedes: str | None
    tags: tuple[str, ...]
    access: tuple[str, ...]
    content_hash: str
    ingested_at: datetime
    chunks: int


@dataclass(frozen=True)
class Fingerprint:
    path: str
    content_hash: str


def visible_to(doc_id: ColumnElement[str], viewers: Viewers) -> ColumnElement[bool]:
    """True when every viewer holds a principal on the document's access list."""
    if not viewers or any(not viewer for viewer in viewers):
        return false()
    conditions = []
    for viewer in viewers:
        grant = aliased(DocumentAccess)
        conditions.append(
            exists().where(grant.doc_id == doc_id, grant.principal.in_(sorted(viewer)))
        )
    return and_(*conditions)


def _searchable(viewers: Viewers) -> ColumnElement[bool]:
    """In scope, not a draft, and not deprecated in favour of a current document in scope."""
    newer = aliased(Document)
    replaced = exists().where(
        newer.supersedes == Document.id,
        newer.status == DocumentStatus.CURRENT.value,
        visible_to(newer.id, viewers),
    )
    return and_(
        visible_to(Document.id, viewers),
        Document.status != DocumentStatus.DRAFT.value,
        not_(and_(Document.status == DocumentStatus.DEPRECATED.value, replaced)),
    )


class KnowledgeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.bind.dialect.name

    # --- writing -------------------------------------------------------------------------

    async def fingerprints(self) -> dict[str, Fingerprint]:
        rows = await self.session.execute(select(Document.id, Document.path, Document.content_hash))
        return {row.id: Fingerprint(row.path, row.content_hash) for row in rows}

    async def save_document(
        self, document: Document, *, access: Iterable[str], chunks: Iterable[ChunkLike]
    ) -> None:
        """Insert or replace a document with its access rows and chunks."""
        await self.session.execute(delete(Chunk).where(Chunk.doc_id == document.id))
        await self.session.execute(
            delete(DocumentAccess).where(DocumentAccess.doc_id == document.id)
        )
        await self.session.merge(document)
        await self.session.flush()
        principals = sorted(set(access))
        if principals:
            await self.session.execute(
                insert(DocumentAccess),
                [{"doc_id": document.id, "principal": p} for p in principals],
            )
        rows = [
            {
                "chunk_id": f"{document.id}#{chunk.ordinal}",
                "doc_id": document.id,
                "ordinal": chunk.ordinal,
                "title": document.title,
                "heading": chunk.heading,
                "text": chunk.text,
            }
            for chunk in chunks
        ]
        if rows:
            await self.session.execute(insert(Chunk), rows)

    async def delete_documents(self, doc_ids: Collection[str]) -> int:
        if not doc_ids:
            return 0
        ids = sorted(doc_ids)
        await self.session.execute(delete(Chunk).where(Chunk.doc_id.in_(ids)))
        await self.session.execute(delete(DocumentAccess).where(DocumentAccess.doc_id.in_(ids)))
        result = await self.session.execute(delete(Document).where(Document.id.in_(ids)))
        return result.rowcount or 0

    # --- searching -----------------------------------------------------------------------

    async def search(
        self, *, terms: Sequence[str], match: str, viewers: Viewers, limit: int
    ) -> list[Passage]:
        """Passages matching any term, best first, only from documents the viewers may see.

        `match` is the FTS5 expression (SQLite); PostgreSQL binds each term on its own.
        """
        if not terms or limit <= 0 or not viewers:
            return []
        if self.dialect == "postgresql":
            statement = self._postgres_search(terms)
        else:
            statement = self._sqlite_search(match)
        statement = (
            statement.where(_searchable(viewers))
            .order_by(literal_column("score").desc(), Chunk.id)
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).all()
        access = await self._access_of({row.doc_id for row in rows})
        return [
            Passage(
                chunk_id=row.chunk_id,
                doc_id=row.doc_id,
                title=row.title,
                text=row.text,
                score=float(row.score),
                url=row.url,
                owner=row.owner,
                status=row.status,
                updated=row.updated,
                supersedes=row.supersedes,
                tags=tuple(row.tags or ()),
                access=access.get(row.doc_id, ()),
                heading=row.heading or None,
            )
            for row in rows
        ]

    @staticmethod
    def _columns():
        return (
            Chunk.chunk_id,
            Chunk.doc_id,
            Chunk.heading,
            Chunk.text,
            Document.title,
            Document.url,
            Document.owner,
            Document.status,
            Document.updated,
            Document.supersedes,
            Document.tags,
        )

    def _sqlite_search(self, match: str):
        fts = table(FTS_TABLE, column("rowid"))
        fts_name = literal_column(FTS_TABLE)
        score = (-func.bm25(fts_name, *_BM25_WEIGHTS)).label("score")
        return (
            select(*self._columns(), score)
            .select_from(fts)
            .join(Chunk, Chunk.id == fts.c.rowid)
            .join(Document, Document.id == Chunk.doc_id)
            .where(fts_name.op("MATCH")(match))
        )

    def _postgres_search(self, terms: Sequence[str]):
        config = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")
        parts = [func.plainto_tsquery(config, term, type_=TSQUERY) for term in terms]
        query = reduce(lambda a, b: a.op("||", return_type=TSQUERY)(b), parts)
        question = select(query.label("q")).subquery("question")
        vector = literal_column(f"chunks.{SEARCH_VECTOR}", TSVECTOR)
        score = func.ts_rank_cd(vector, question.c.q).label("score")
        return (
            select(*self._columns(), score)
            .select_from(Chunk)
            .join(Document, Document.id == Chunk.doc_id)
            .join(question, true())
            .where(vector.bool_op("@@")(question.c.q))
        )

    async def _access_of(self, doc_ids: Collection[str]) -> dict[str, tuple[str, ...]]:
        if not doc_ids:
            return {}
        rows = await self.session.execute(
            select(DocumentAccess.doc_id, DocumentAccess.principal)
            .where(DocumentAccess.doc_id.in_(sorted(doc_ids)))
            .order_by(DocumentAccess.doc_id, DocumentAccess.principal)
        )
        access: dict[str, list[str]] = {}
        for row in rows:
            access.setdefault(row.doc_id, []).append(row.principal)
        return {doc_id: tuple(principals) for doc_id, principals in access.items()}

    # --- listing -------------------------------------------------------------------------

    async def documents(
        self, *, viewers: Viewers | None = None, doc_ids: Collection[str] | None = None
    ) -> list[IndexedDocument]:
        """Indexed documents by id; only those the viewers may see when `viewers` is given."""
        chunk_count = (
            select(func.count(Chunk.id)).where(Chunk.doc_id == Document.id).scalar_subquery()
        )
        statement = select(Document, chunk_count.label("chunks")).order_by(Document.id)
        if viewers is not None:
            statement = statement.where(visible_to(Document.id, viewers))
        if doc_ids is not None:
            statement = statement.where(Document.id.in_(sorted(doc_ids)))
        rows = (await self.session.execute(statement)).all()
        access = await self._access_of({row.Document.id for row in rows})
        return [
            IndexedDocument(
                id=doc.id,
                path=doc.path,
                title=doc.title,
                url=doc.url,
                owner=doc.owner,
                status=doc.status,
                updated=doc.updated,
                supersedes=doc.supersedes,
                tags=tuple(doc.tags or ()),
                access=access.get(doc.id, ()),
                content_hash=doc.content_hash,
                ingested_at=doc.ingested_at,
                chunks=count,
            )
            for doc, count in rows
        ]

    async def count_documents(self) -> int:
        return (await self.session.execute(select(func.count()).select_from(Document))).scalar_one()

    async def count_visible_documents(self, viewers: Viewers) -> int:
        """Documents the viewers may see and search may return (drafts are left out)."""
        statement = (
            select(func.count())
            .select_from(Document)
            .where(
                visible_to(Document.id, viewers),
                Document.status != DocumentStatus.DRAFT.value,
            )
        )
        return (await self.session.execute(statement)).scalar_one()

    async def count_chunks(self) -> int:
        return (await self.session.execute(select(func.count()).select_from(Chunk))).scalar_one()
