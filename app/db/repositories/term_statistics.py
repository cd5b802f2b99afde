"""SQL for corpus statistics: in how many documents an audience may see a phrase occurs.

The answerer weighs a question's words by how specific they are across the knowledge
base (inverse document frequency). Only documents the viewers may see are counted, so the
numbers never reveal what a hidden document contains. Drafts are left out, as in search.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import column, func, literal_column, select, table
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.knowledge import FTS_TABLE, SEARCH_VECTOR, TEXT_SEARCH_CONFIG, Chunk, Document
from app.db.repositories.knowledge import Viewers, visible_to
from app.domain import DocumentStatus


class TermStatisticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def visible_documents(self, viewers: Viewers) -> int:
        """Documents (drafts aside) every viewer may see."""
        statement = (
            select(func.count())
            .select_from(Document)
            .where(visible_to(Document.id, viewers), Document.status != DocumentStatus.DRAFT.value)
        )
        return (await self.session.execute(statement)).scalar_one()

    async def document_frequencies(
        self, phrases: Sequence[str], viewers: Viewers
    ) -> dict[str, int]:
        """For each phrase, the number of visible documents whose title, headings or text
        contain it (matched by the full-text index, so with its stemming)."""
        counts: dict[str, int] = {}
        for phrase in dict.fromkeys(p for p in phrases if p.strip()):
            statement = (
                select(func.count(func.distinct(Chunk.doc_id)))
                .select_from(Chunk)
                .join(Document, Document.id == Chunk.doc_id)
                .where(
                    self._contains(phrase),
                    visible_to(Document.id, viewers),
                    Document.status != DocumentStatus.DRAFT.value,
                )
            )
            counts[phrase] = (await self.session.execute(statement)).scalar_one()
        return counts

    def _contains(self, phrase: str):
        if self.session.bind.dialect.name == "postgresql":
            config = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")
            vector = literal_column(f"chunks.{SEARCH_VECTOR}", TSVECTOR)
            query = func.phraseto_tsquery(config, phrase, type_=TSQUERY)
            return vector.bool_op("@@")(query)
        fts = table(FTS_TABLE, column("rowid"))
        matching = select(fts.c.rowid).where(
            literal_column(FTS_TABLE).op("MATCH")(_fts5_phrase(phrase))
        )
        return Chunk.id.in_(matching)


def _fts5_phrase(phrase: str) -> str:
    """One FTS5 phrase: the words in order, quoted, so no query syntax gets through."""
    return '"' + " ".join(phrase.split()).replace('"', '""') + '"'
