"""How specific a question's words are across everything its audience may see.

Retrieval returns a handful of passages; whether a word the passages lack is a telling
gap ("interns", "Brazil") or a word the knowledge base uses everywhere depends on the
whole corpus. `corpus_statistics` counts, for each content term of a question, the
documents in the audience's scope that contain it, and `RetrievedPassages` carries those
counts alongside the passages to the answerer. Counting only what the audience may see
keeps the confidence of an answer from hinting at what a hidden document says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.answering.text import STOPWORDS, question_words, stem
from app.db.repositories.term_statistics import TermStatisticsRepository
from app.db.session import Database
from app.domain import AccessScope, Passage


@dataclass(frozen=True)
class CorpusStatistics:
    """Document counts over one audience's corpus: `documents` in all, and per term."""

    documents: int
    frequencies: Mapping[str, int] = field(default_factory=dict)

    def idf(self, term: str) -> float | None:
        """`1 + ln((N + 1) / (df + 0.5))`, or None when the term was not counted."""
        if term not in self.frequencies:
            return None
        return 1.0 + math.log((self.documents + 1) / (self.frequencies[term] + 0.5))


class RetrievedPassages(tuple[Passage, ...]):
    """Passages as retrieval ranked them, with the statistics of the corpus they came from.

    It is a tuple of passages, so every answerer can use it as it uses any sequence; the
    extractive answerer also reads `corpus`.
    """

    corpus: CorpusStatistics | None

    def __new__(
        cls, passages: Iterable[Passage], corpus: CorpusStatistics | None = None
    ) -> RetrievedPassages:
        instance = super().__new__(cls, passages)
        instance.corpus = corpus
        return instance


def corpus_of(passages: Iterable[Passage]) -> CorpusStatistics | None:
    return passages.corpus if isinstance(passages, RetrievedPassages) else None


async def corpus_statistics(
    database: Database, *, question: str, scope: AccessScope
) -> CorpusStatistics:
    """Document frequencies of the question's content terms within `scope`."""
    wanted: dict[str, str] = {}  # term -> the phrase counted for it
    for word in question_words(question):
        wanted.setdefault(word.term, word.surface)
        parts = word.surface.split()
        if len(parts) > 1:
            # A compound the sources may write apart: "locked out" is also counted as "locked".
            for part in parts:
                if part not in STOPWORDS and len(part) > 1:
                    wanted.setdefault(stem(part), part)
    async with database.session() as session:
        repository = TermStatisticsRepository(session)
        total = await repository.visible_documents(scope.viewers)
        counts = (
            await repository.document_frequencies(sorted(set(wanted.values())), scope.viewers)
            if total
            else {}
        )
    frequencies = {term: counts.get(phrase, 0) for term, phrase in wanted.items()}
    return CorpusStatistics(documents=total, frequencies=frequencies)


async def with_corpus_statistics(
    database: Database, passages: Iterable[Passage], *, question: str, scope: AccessScope
) -> RetrievedPassages:
    """`passages` with the statistics of the corpus `scope` may see (none when empty)."""
    passages = tuple(passages)
    if not passages:
        return RetrievedPassages(passages)
    statistics = await corpus_statistics(database, question=question, scope=scope)
    return RetrievedPassages(passages, statistics)
