"""Access-filtered search over the knowledge index, and the listings the CLI and App Home use.

`search` ranks with the process's `SearchIndex` (keyword and meaning, see `index.py`),
rebuilt from the database when the knowledge generation moves on. Every function takes
either the `Database` (a read-only transaction of its own) or an open session (part of
the caller's unit of work).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import replace
from enum import StrEnum

from app.answering.corpus import CorpusStatistics, RetrievedPassages
from app.db.repositories.knowledge import IndexedDocument, KnowledgeRepository
from app.db.session import DatabaseOrSession, reading_from
from app.domain import AccessScope, Passage
from app.knowledge.embeddings import DIMENSIONS, TextEmbedder, shared_embedder
from app.knowledge.index import FUSION, IndexBuilder, SearchIndex


class RetrievalMode(StrEnum):
    HYBRID = "hybrid"
    """Keyword and meaning (the default)."""
    KEYWORD = "keyword"
    """Words only: no model is loaded (for tiny installs)."""


@asynccontextmanager
async def _repository(database_or_session: DatabaseOrSession) -> AsyncIterator[KnowledgeRepository]:
    async with reading_from(database_or_session) as session:
        yield KnowledgeRepository(session)


class _IndexCache:
    """The current `SearchIndex` of one database, and who may search which documents."""

    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        self.lock = asyncio.Lock()
        self.allowed: dict[tuple[int, tuple[tuple[str, ...], ...]], list[str]] = {}

    async def current(self, repository: KnowledgeRepository) -> SearchIndex:
        generation = await repository.generation()
        if self.index is not None and self.index.generation == generation:
            return self.index
        async with self.lock:
            if self.index is None or self.index.generation != generation:
                self.index = None  # searches still using the old one keep it; nothing else does
                self.index = await _build(repository, generation)
                self.allowed.clear()
        return self.index

    async def allowed_documents(
        self, repository: KnowledgeRepository, index: SearchIndex, scope: AccessScope
    ) -> list[str]:
        key = (index.generation, tuple(tuple(sorted(v)) for v in scope.viewers))
        if key not in self.allowed:
            if len(self.allowed) > 256:
                self.allowed.clear()
            self.allowed[key] = await repository.searchable_documents(scope.viewers)
        return self.allowed[key]


async def _build(repository: KnowledgeRepository, generation: int) -> SearchIndex:
    """The index of what the database holds now, read in batches (each added in a thread:
    the event loop goes on answering while a large index is built)."""
    segments = await repository.vector_bytes() // (DIMENSIONS * 2)  # float16
    builder = IndexBuilder(segments)
    async for rows in repository.index_rows():
        await asyncio.to_thread(builder.add, rows)
    return await asyncio.to_thread(builder.build, generation)


_caches: dict[str, _IndexCache] = {}


def _cache_for(repository: KnowledgeRepository) -> _IndexCache:
    """One cache per database URL: a generation is random, so a new database at the same
    address never matches an old index."""
    url = str(repository.session.get_bind().engine.url)
    return _caches.setdefault(url, _IndexCache())


async def search(
    database_or_session: DatabaseOrSession,
    *,
    query: str,
    scope: AccessScope,
    limit: int = 8,
    mode: RetrievalMode = RetrievalMode.HYBRID,
    embedder: TextEmbedder | None = None,
    fusion: str = FUSION,
) -> RetrievedPassages:
    """The passages that best match `query`, from documents everyone in `scope` may see.

    Best first (`Passage.score`, with `similarity` and `segment_scores` from the model).
    Drafts are never returned; a deprecated document is left out when a current document
    that supersedes it is visible in the same scope. The result also carries the corpus
    statistics and the `Evidence` of the whole scope, for the answerer and the gate.
    """
    if not query.strip() or not scope.viewers or limit <= 0:
        return RetrievedPassages(())
    async with _repository(database_or_session) as repository:
        cache = _cache_for(repository)
        index = await cache.current(repository)
        allowed = await cache.allowed_documents(repository, index, scope)
        if not allowed:
            return RetrievedPassages(())
        vector = None
        if mode == RetrievalMode.HYBRID and index.has_vectors:
            vector = await asyncio.to_thread((embedder or shared_embedder()).embed_one, query)
        ranking = index.rank(
            query=query, allowed_docs=allowed, question_vector=vector, limit=limit, fusion=fusion
        )
        found = await repository.passages([hit.rowid for hit in ranking.hits], scope.viewers)
    passages = [
        replace(
            found[hit.rowid],
            score=hit.score,
            similarity=hit.similarity,
            segment_scores=hit.segment_scores,
        )
        for hit in ranking.hits
        if hit.rowid in found
    ]
    evidence = ranking.evidence
    corpus = CorpusStatistics(
        documents=evidence.documents, frequencies=evidence.document_frequencies
    )
    return RetrievedPassages(passages, corpus, evidence)


async def get_documents(
    database_or_session: DatabaseOrSession,
    *,
    scope: AccessScope | None = None,
    doc_ids: Collection[str] | None = None,
) -> list[IndexedDocument]:
    """Indexed documents ordered by id: all of them, or those `scope` may see."""
    async with _repository(database_or_session) as repository:
        viewers = scope.viewers if scope is not None else None
        return await repository.documents(viewers=viewers, doc_ids=doc_ids)


async def document_passages(
    database_or_session: DatabaseOrSession, *, scope: AccessScope, doc_ids: Collection[str]
) -> list[Passage]:
    """The whole text of the documents `doc_ids` that everyone in `scope` may see, as
    passages in document order (nothing for a document outside the scope)."""
    async with _repository(database_or_session) as repository:
        return await repository.document_passages(doc_ids, scope.viewers)


async def get_document(
    database_or_session: DatabaseOrSession, doc_id: str, *, scope: AccessScope | None = None
) -> IndexedDocument | None:
    documents = await get_documents(database_or_session, scope=scope, doc_ids=[doc_id])
    return documents[0] if documents else None


async def count_documents(database_or_session: DatabaseOrSession) -> int:
    async with _repository(database_or_session) as repository:
        return await repository.count_documents()


async def count_chunks(database_or_session: DatabaseOrSession) -> int:
    async with _repository(database_or_session) as repository:
        return await repository.count_chunks()


async def visible_document_count(database_or_session: DatabaseOrSession, scope: AccessScope) -> int:
    """How many documents (drafts aside) everyone in `scope` may see."""
    if not scope.viewers:
        return 0
    async with _repository(database_or_session) as repository:
        return await repository.count_visible_documents(scope.viewers)
