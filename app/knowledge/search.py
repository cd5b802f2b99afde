"""Access-filtered search over the knowledge index, and the listings the CLI and App Home use.

Every function takes either the `Database` (a transaction of its own) or an open session
(part of the caller's unit of work).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories.knowledge import IndexedDocument, KnowledgeRepository
from app.db.session import Database
from app.domain import AccessScope, Passage
from app.knowledge.query import content_terms, fts5_match

DatabaseOrSession = Database | AsyncSession


@asynccontextmanager
async def _repository(database_or_session: DatabaseOrSession) -> AsyncIterator[KnowledgeRepository]:
    if isinstance(database_or_session, AsyncSession):
        yield KnowledgeRepository(database_or_session)
        return
    async with database_or_session.session() as session:
        yield KnowledgeRepository(session)


async def search(
    database_or_session: DatabaseOrSession, *, query: str, scope: AccessScope, limit: int = 8
) -> list[Passage]:
    """The passages that best match `query`, from documents everyone in `scope` may see.

    Higher `Passage.score` is better. Drafts are never returned; a deprecated document is
    left out when a current document that supersedes it is visible in the same scope.
    """
    terms = content_terms(query)
    if not terms or not scope.viewers or limit <= 0:
        return []
    async with _repository(database_or_session) as repository:
        return await repository.search(
            terms=terms, match=fts5_match(terms), viewers=scope.viewers, limit=limit
        )


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
