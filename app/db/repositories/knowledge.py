"""SQL for the knowledge index: documents, their access rows, chunks, the generation.

The AccessScope filter is part of every query that returns documents or passages: for
each viewer, the document must have an access row naming one of that viewer's principals.
No text outside the scope is ever read for a question. Ranking itself happens in
`app/knowledge/index.py`, over the stems and vectors `index_rows` hands it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    not_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models.knowledge import Chunk, Document, DocumentAccess, KnowledgeState
from app.db.repositories.dml import rowcount
from app.domain import DocumentStatus, Passage

Viewers = Sequence[Collection[str]]


class ChunkLike(Protocol):
    """What is saved of a chunk; read-only, so frozen dataclasses satisfy it."""

    @property
    def ordinal(self) -> int: ...
    @property
    def heading(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def terms(self) -> str: ...
    @property
    def segments(self) -> Sequence[Sequence[int]]: ...
    @property
    def vectors(self) -> bytes | None: ...
    @property
    def embedder(self) -> str | None: ...


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


INDEX_BATCH = 2000
"""Chunks read at a time while the search index is built."""


@dataclass(frozen=True)
class IndexRow:
    """One chunk as ingest stored it, with what ranking needs."""

    rowid: int
    doc_id: str
    title: str
    heading: str
    terms: str
    segments: Sequence[Sequence[int]]
    vectors: bytes | None


@dataclass(frozen=True)
class Fingerprint:
    path: str
    content_hash: str
    read_stamp: str | None = None


def visible_to(doc_id: SQLColumnExpression[str], viewers: Viewers) -> ColumnElement[bool]:
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


@lru_cache(maxsize=256)
def _passages_statement(viewers: tuple[tuple[str, ...], ...]) -> Select[Any]:
    """The passages query for one set of viewers, built once: building the access filter's
    expression costs more than running it, and the rows vary only by a parameter."""
    return (
        select(Chunk.id, *KnowledgeRepository._columns())
        .join(Document, Document.id == Chunk.doc_id)
        .where(Chunk.id.in_(bindparam("rowids", expanding=True)), _searchable(viewers))
    )


class KnowledgeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    # --- writing -------------------------------------------------------------------------

    async def fingerprints(self) -> dict[str, Fingerprint]:
        rows = await self.session.execute(
            select(Document.id, Document.path, Document.content_hash, Document.read_stamp)
        )
        return {row.id: Fingerprint(row.path, row.content_hash, row.read_stamp) for row in rows}

    async def set_read_stamps(self, stamps: dict[str, str]) -> None:
        """Record that these documents' files were read again and found unchanged."""
        for doc_id, stamp in stamps.items():
            await self.session.execute(
                update(Document).where(Document.id == doc_id).values(read_stamp=stamp)
            )

    async def access_lists(self, doc_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The principals each of these documents is visible to (none: nobody)."""
        wanted = sorted(set(doc_ids))
        found: dict[str, list[str]] = {doc_id: [] for doc_id in wanted}
        for start in range(0, len(wanted), 500):
            rows = await self.session.execute(
                select(DocumentAccess.doc_id, DocumentAccess.principal).where(
                    DocumentAccess.doc_id.in_(wanted[start : start + 500])
                )
            )
            for doc_id, principal in rows:
                found[doc_id].append(principal)
        return {doc_id: tuple(sorted(principals)) for doc_id, principals in found.items()}

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
                "terms": chunk.terms,
                "segments": [list(span) for span in chunk.segments],
                "vectors": chunk.vectors,
                "embedder": chunk.embedder,
            }
            for chunk in chunks
        ]
        if rows:
            await self.session.execute(insert(Chunk), rows)
        await self._next_generation()

    async def delete_documents(self, doc_ids: Collection[str]) -> int:
        if not doc_ids:
            return 0
        ids = sorted(doc_ids)
        await self.session.execute(delete(Chunk).where(Chunk.doc_id.in_(ids)))
        await self.session.execute(delete(DocumentAccess).where(DocumentAccess.doc_id.in_(ids)))
        result = await self.session.execute(delete(Document).where(Document.id.in_(ids)))
        await self._next_generation()
        return rowcount(result) or 0

    async def _next_generation(self) -> None:
        generation = secrets.randbits(62) or 1
        bumped = await self.session.execute(
            update(KnowledgeState).where(KnowledgeState.id == 1).values(generation=generation)
        )
        if not rowcount(bumped):
            self.session.add(KnowledgeState(id=1, generation=generation))
            await self.session.flush()

    async def generation(self) -> int:
        """Changes with every saved or removed document (0 for an empty index). Random, not
        counted, so no two databases (or two states of one) share a generation."""
        statement = select(KnowledgeState.generation).where(KnowledgeState.id == 1)
        return (await self.session.execute(statement)).scalar_one_or_none() or 0

    async def index_rows(self, batch: int = INDEX_BATCH) -> AsyncIterator[list[IndexRow]]:
        """Every chunk with what ranking needs, in document and chunk order, `batch` rows
        at a time (streamed: the whole knowledge base is never read into memory at once)."""
        statement = select(
            Chunk.id,
            Chunk.doc_id,
            Chunk.title,
            Chunk.heading,
            Chunk.terms,
            Chunk.segments,
            Chunk.vectors,
        ).order_by(Chunk.doc_id, Chunk.ordinal)
        result = await self.session.stream(statement)
        async for rows in result.partitions(batch):
            yield [
                IndexRow(
                    row.id,
                    row.doc_id,
                    row.title or "",
                    row.heading or "",
                    row.terms or "",
                    row.segments or [],
                    row.vectors,
                )
                for row in rows
            ]

    async def vector_bytes(self) -> int:
        """The size of every chunk's stored vectors together."""
        total = await self.session.scalar(select(func.sum(func.length(Chunk.vectors))))
        return int(total or 0)

    # --- searching -----------------------------------------------------------------------

    async def searchable_documents(self, viewers: Viewers) -> list[str]:
        """Ids of the documents search may return to the viewers: in scope, not drafts, and
        not deprecated in favour of a current document they may see."""
        if not viewers:
            return []
        statement = select(Document.id).where(_searchable(viewers)).order_by(Document.id)
        return list((await self.session.execute(statement)).scalars())

    async def passages(self, rowids: Sequence[int], viewers: Viewers) -> dict[int, Passage]:
        """The chunks `rowids` as passages, by row id; the access filter is applied again."""
        if not rowids or not viewers:
            return {}
        statement = _passages_statement(tuple(tuple(sorted(v)) for v in viewers))
        rows = (await self.session.execute(statement, {"rowids": sorted(rowids)})).all()
        access = await self._access_of({row.doc_id for row in rows})
        return {row.id: _passage(row, access) for row in rows}

    async def document_passages(self, doc_ids: Collection[str], viewers: Viewers) -> list[Passage]:
        """Every chunk of the documents `doc_ids` the viewers may see, in document order."""
        if not doc_ids or not viewers:
            return []
        statement = (
            select(Chunk.id, *self._columns())
            .join(Document, Document.id == Chunk.doc_id)
            .where(Chunk.doc_id.in_(sorted(doc_ids)), visible_to(Document.id, viewers))
            .order_by(Chunk.doc_id, Chunk.ordinal)
        )
        rows = (await self.session.execute(statement)).all()
        access = await self._access_of({row.doc_id for row in rows})
        return [_passage(row, access) for row in rows]

    @staticmethod
    def _columns() -> tuple[SQLColumnExpression[Any], ...]:
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
            .where(visible_to(Document.id, viewers), Document.status != DocumentStatus.DRAFT.value)
        )
        return (await self.session.execute(statement)).scalar_one()

    async def count_chunks(self) -> int:
        return (await self.session.execute(select(func.count()).select_from(Chunk))).scalar_one()


def _passage(row: Any, access: dict[str, tuple[str, ...]]) -> Passage:
    return Passage(
        chunk_id=row.chunk_id,
        doc_id=row.doc_id,
        title=row.title,
        text=row.text,
        url=row.url,
        owner=row.owner,
        status=row.status,
        updated=row.updated,
        supersedes=row.supersedes,
        tags=tuple(row.tags or ()),
        access=access.get(row.doc_id, ()),
        heading=row.heading or None,
    )
