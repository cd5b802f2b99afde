"""How specific a question's words are across everything its audience may see.

Retrieval returns a handful of passages; whether a word the passages lack is a telling
gap ("interns", "Brazil") or a word the knowledge base uses everywhere depends on the
whole corpus. Search counts, for each content term of a question, the documents in the
audience's scope that contain it, and `RetrievedPassages` carries those counts alongside
the passages to the answerer. Counting only what the audience may see keeps the
confidence of an answer from hinting at what a hidden document says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.domain import Passage

if TYPE_CHECKING:
    from app.knowledge.index import Evidence


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
    """Passages as retrieval ranked them, with the statistics of the corpus they came from
    and the `Evidence` the "I don't know" decision weighs.

    It is a tuple of passages, so every answerer can use it as it uses any sequence; the
    extractive answerer also reads `corpus`.
    """

    corpus: CorpusStatistics | None
    evidence: Evidence | None

    def __new__(
        cls,
        passages: Iterable[Passage],
        corpus: CorpusStatistics | None = None,
        evidence: Evidence | None = None,
    ) -> RetrievedPassages:
        instance = super().__new__(cls, passages)
        instance.corpus = corpus
        instance.evidence = evidence
        return instance

    def keep(self, passages: Iterable[Passage]) -> RetrievedPassages:
        """Some of these passages, with the same statistics."""
        return RetrievedPassages(passages, self.corpus, self.evidence)


def corpus_of(passages: Iterable[Passage]) -> CorpusStatistics | None:
    return passages.corpus if isinstance(passages, RetrievedPassages) else None


def evidence_of(passages: Iterable[Passage]) -> Evidence | None:
    return passages.evidence if isinstance(passages, RetrievedPassages) else None
