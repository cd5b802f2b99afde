"""The search index of one process: keyword and meaning, ranked together, access first.

The database holds the truth (documents, access rows, chunks with their stems and segment
vectors, all computed at ingest). Each process keeps a read-only copy of what ranking
needs in arrays, rebuilt whenever the knowledge generation in the database moves on, so
SQLite and PostgreSQL rank exactly alike and one question costs a few array operations
instead of SQL per term.

Access comes first: the documents an audience may search are read from the database (the
access filter is part of that query, see `KnowledgeRepository.searchable_documents`), and
only chunks of those documents are scored at all, by either ranking.

    keyword   BM25 (k1 1.2, b 0.75) over Snowball stems; the title counts three times and
              the section heading twice, so a chunk under "Parking" matches "parking".
    meaning   cosine similarity of the question's vector with each segment's vector; a
              chunk scores as its best segment.
    together  a weighted sum (`FUSION` "blend"): DENSE_WEIGHT x similarity + the rest x
              the BM25 score over the best BM25 score of the question. Chosen over
              reciprocal-rank fusion and either ranking alone, and the weight within the
              plateau it reached, on the tuning corpus (python-faq) by
              bench/answer_quality.py --retrieval; see bench/RESULTS.md.

`Evidence` carries what the "I don't know" decision needs: how far the best segment
stands above everything else the audience may see, and how much of the question the
best chunks' words cover.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.db.repositories.knowledge import IndexRow
from app.knowledge.embeddings import DIMENSIONS, unpack
from app.knowledge.vectors import SegmentVectors
from app.text.words import index_terms, question_words

K1, B = 1.2, 0.75
TITLE_WEIGHT, HEADING_WEIGHT = 3, 2
RRF_K = 60
DENSE_WEIGHT = 0.8
FUSION = "blend"
"""blend | rrf | dense | keyword: how the two rankings are combined."""
ALLOWED_KEPT = 64
"""Audiences whose allowed chunks are kept (one byte per chunk each)."""
DENSE_FLOOR = 0.3
"""A chunk that shares no word with the question is a candidate only from this similarity
up: below it, all-MiniLM-L6-v2 puts texts about unrelated things."""


@dataclass(frozen=True)
class Hit:
    """A chunk the question matched, with its place in each ranking."""

    rowid: int
    doc_id: str
    score: float
    keyword: float = 0.0
    similarity: float = 0.0
    segment_scores: tuple[tuple[int, int, float], ...] = ()
    """(start, end, similarity) of each segment of the chunk's text."""


@dataclass(frozen=True)
class Evidence:
    """How well the audience's documents can answer the question (for the gate)."""

    best_similarity: float = 0.0
    """The best segment's cosine similarity with the question."""
    typical_similarity: float = 0.0
    """The mean similarity over every segment the audience may see."""
    spread: float = 0.0
    """Their standard deviation."""
    documents: int = 0
    """Documents the audience may search."""
    document_frequencies: dict[str, int] = field(default_factory=dict)
    """Per question term (stem): documents in scope containing it."""

    @property
    def standing(self) -> float:
        """How many standard deviations the best segment stands above the typical one."""
        if self.spread <= 1e-6:
            return 0.0
        return (self.best_similarity - self.typical_similarity) / self.spread


@dataclass(frozen=True)
class Ranking:
    hits: tuple[Hit, ...]
    evidence: Evidence


class IndexBuilder:
    """Takes the stored chunks batch by batch and builds the `SearchIndex` from them.

    Only compact arrays are kept between batches (postings, lengths, vector codes), so a
    large knowledge base never has all its rows in memory as Python objects at once.
    `segments` is how many segment vectors to make room for (more are taken if they come).
    """

    def __init__(self, segments: int = 0) -> None:
        self.rowids = array("q")
        self.doc_ids: list[str] = []
        self.doc_number: dict[str, int] = {}
        self.chunk_doc = array("i")
        self.vocabulary: dict[str, int] = {}
        # One 64-bit number per posting (see `_posting`), not lists: a large knowledge base
        # has millions of postings.
        self.postings = array("q")
        self.lengths = array("f")
        self._context_terms: dict[str, list[str]] = {}
        self.vectors = SegmentVectors(segments)
        self.segment_chunk = array("i")
        self.segment_spans = array("i")

    def add(self, rows: Sequence[IndexRow]) -> None:
        """The next rows, in document and chunk order."""
        first = len(self.rowids)
        for number, row in enumerate(rows, start=first):
            self.rowids.append(row.rowid)
            doc = self.doc_number.get(row.doc_id)
            if doc is None:
                doc = self.doc_number[row.doc_id] = len(self.doc_ids)
                self.doc_ids.append(row.doc_id)
            self.chunk_doc.append(doc)
            self._add_terms(number, row)
        self._add_vectors(first, rows)

    def _add_terms(self, number: int, row: IndexRow) -> None:
        terms = row.terms.split()
        for text, weight in ((row.title, TITLE_WEIGHT), (row.heading, HEADING_WEIGHT)):
            if text:
                if text not in self._context_terms:
                    self._context_terms[text] = index_terms(text)
                terms = terms + self._context_terms[text] * weight
        self.lengths.append(len(terms))
        vocabulary = self.vocabulary
        self.postings.extend(
            _posting(vocabulary.setdefault(term, len(vocabulary)), number, count)
            for term, count in Counter(terms).items()
        )
        if len(vocabulary) > MAX_TERMS or number >= MAX_CHUNKS:
            raise ValueError(
                f"the search index holds at most {MAX_CHUNKS:,} chunks and {MAX_TERMS:,} "
                "distinct terms"
            )

    def _add_vectors(self, first: int, rows: Sequence[IndexRow]) -> None:
        usable = [
            (number, row)
            for number, row in enumerate(rows, start=first)
            if row.vectors and len(row.vectors) == len(row.segments) * DIMENSIONS * 2
        ]
        if not usable:
            return
        stacked = unpack(b"".join(row.vectors or b"" for _, row in usable))
        at = len(self.segment_chunk)
        if at + len(stacked) > len(self.vectors):
            self.vectors = self.vectors.grown(at + len(stacked))
        self.vectors.put(at, stacked)
        for number, row in usable:
            self.segment_chunk.extend([number] * len(row.segments))
            for span in row.segments:
                self.segment_spans.extend(span[:2])

    def build(self, generation: int) -> SearchIndex:
        return SearchIndex.built(self, generation)


class SearchIndex:
    """Arrays built from every chunk; `rank` scores only the chunks of allowed documents."""

    def __init__(self, rows: Sequence[IndexRow], generation: int) -> None:
        builder = IndexBuilder()
        builder.add(rows)
        self._take(builder, generation)

    @classmethod
    def built(cls, builder: IndexBuilder, generation: int) -> SearchIndex:
        index = cls.__new__(cls)
        index._take(builder, generation)
        return index

    def _take(self, builder: IndexBuilder, generation: int) -> None:
        """The builder's arrays, as ranking reads them (the builder is spent after)."""
        self.generation = generation
        self.rowids = np.frombuffer(builder.rowids, dtype=np.int64)
        self.doc_ids = builder.doc_ids
        self.doc_number = builder.doc_number
        self.chunk_doc = np.frombuffer(builder.chunk_doc, dtype=np.int32)
        self._allowed: dict[tuple[str, ...], tuple[np.ndarray, int]] = {}
        self.vocabulary = builder.vocabulary
        self.lengths = np.frombuffer(builder.lengths, dtype=np.float32)
        # Postings: for each term, the chunks holding it and how often (grouped by term,
        # chunks in order). Sorting the packed numbers in place groups them with no copy.
        packed = np.frombuffer(builder.postings, dtype=np.int64)
        packed.sort()
        firsts = np.arange(len(self.vocabulary) + 1, dtype=np.int64) << TERM_SHIFT
        self.indptr = np.searchsorted(packed, firsts).astype(np.int64)
        self.post_chunk = _unpacked(packed, CHUNK_SHIFT, MAX_CHUNKS - 1, np.int32)
        self.post_tf = _unpacked(packed, 0, MAX_COUNT, np.float32)
        del packed
        builder.postings = array("q")
        count = len(builder.segment_chunk)
        self.vectors = builder.vectors.first(count)
        self.segment_chunk = np.frombuffer(builder.segment_chunk, dtype=np.int32)
        self.segment_spans = np.frombuffer(builder.segment_spans, dtype=np.int32).reshape(-1, 2)

    @property
    def has_vectors(self) -> bool:
        return len(self.vectors) > 0

    # --- ranking -------------------------------------------------------------------------

    def rank(
        self,
        *,
        query: str,
        allowed_docs: Sequence[str],
        question_vector: np.ndarray | None,
        limit: int,
        fusion: str = FUSION,
    ) -> Ranking:
        allowed, documents = self._allowed_chunks(allowed_docs)
        if not query_terms(query):
            return Ranking((), Evidence())
        keyword, frequencies = self._keyword(query, allowed)
        similarity, (best, typical, spread) = self._dense(question_vector, allowed)
        evidence = Evidence(
            best_similarity=best,
            typical_similarity=typical,
            spread=spread,
            documents=documents,
            document_frequencies=frequencies,
        )
        fused = self._fuse(keyword, similarity, allowed, fusion)
        order = _best(fused, limit)
        hits = tuple(
            Hit(
                rowid=int(self.rowids[i]),
                doc_id=self.doc_ids[self.chunk_doc[i]],
                score=float(fused[i]),
                keyword=float(keyword[i]),
                similarity=float(similarity[i]) if similarity is not None else 0.0,
                segment_scores=self._segment_scores(i, question_vector),
            )
            for i in order
        )
        return Ranking(hits, evidence)

    def _allowed_chunks(self, allowed_docs: Sequence[str]) -> tuple[np.ndarray, int]:
        """Which chunks may be scored, and how many of `allowed_docs` are indexed.

        Kept per list of documents (by content, so a list is never mistaken for another):
        an audience asks again and again, and finding its chunks means a look-up per
        document."""
        key = tuple(allowed_docs)
        known = self._allowed.get(key)
        if known is not None:
            return known
        wanted = np.zeros(len(self.doc_ids), dtype=bool)
        numbers = [self.doc_number[d] for d in allowed_docs if d in self.doc_number]
        wanted[numbers] = True
        chunks = wanted[self.chunk_doc] if len(self.chunk_doc) else np.zeros(0, dtype=bool)
        chunks.flags.writeable = False
        if len(self._allowed) >= ALLOWED_KEPT:
            self._allowed.clear()
        self._allowed[key] = (chunks, len(numbers))
        return chunks, len(numbers)

    def _keyword(self, query: str, allowed: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
        scores = np.zeros(len(self.rowids), dtype=np.float32)
        frequencies: dict[str, int] = {}
        total = int(allowed.sum())
        if not total:
            return scores, frequencies
        average = float(self.lengths[allowed].mean()) or 1.0
        for term in query_terms(query):
            number = self.vocabulary.get(term)
            if number is None:
                frequencies[term] = 0
                continue
            chunks = self.post_chunk[self.indptr[number] : self.indptr[number + 1]]
            tf = self.post_tf[self.indptr[number] : self.indptr[number + 1]]
            keep = allowed[chunks]
            chunks, tf = chunks[keep], tf[keep]
            frequencies[term] = int(len(np.unique(self.chunk_doc[chunks])))
            if not len(chunks):
                continue
            idf = np.log(1.0 + (total - len(chunks) + 0.5) / (len(chunks) + 0.5))
            norm = K1 * (1.0 - B + B * self.lengths[chunks] / average)
            scores[chunks] += idf * tf * (K1 + 1.0) / (tf + norm)
        return scores, frequencies

    def _dense(
        self, question_vector: np.ndarray | None, allowed: np.ndarray
    ) -> tuple[np.ndarray | None, tuple[float, float, float]]:
        if question_vector is None or not self.has_vectors:
            return None, (0.0, 0.0, 0.0)
        segments = np.flatnonzero(allowed[self.segment_chunk])
        best = np.full(len(self.rowids), -1.0, dtype=np.float32)
        if not len(segments):
            return best, (0.0, 0.0, 0.0)
        # One product over every vector is cheaper than gathering the allowed rows first;
        # the similarities of chunks outside the scope are dropped right away.
        sims = self.vectors.similarities(question_vector)[segments]
        owners = self.segment_chunk[segments]
        # Segments are stored chunk after chunk: the best of each run is its chunk's score.
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        best[owners[starts]] = np.maximum.reduceat(sims, starts)
        return best, (float(sims.max()), float(sims.mean()), float(sims.std()))

    @staticmethod
    def _fuse(
        keyword: np.ndarray, similarity: np.ndarray | None, allowed: np.ndarray, fusion: str
    ) -> np.ndarray:
        if similarity is None or fusion == "keyword":
            return np.where(allowed, keyword, 0.0)
        candidate = allowed & ((keyword > 0) | (similarity >= DENSE_FLOOR))
        dense = np.where(candidate, similarity + 1.0, 0.0)  # cosine in (0, 2]: candidate > 0
        if fusion == "dense":
            return dense
        if fusion == "blend":
            top = float(keyword[candidate].max()) if candidate.any() else 0.0
            words = keyword / top if top > 0 else np.zeros_like(keyword)
            blended = 1.0 + DENSE_WEIGHT * similarity + (1.0 - DENSE_WEIGHT) * words
            return np.where(candidate, blended, 0.0)
        fused = np.zeros(len(keyword), dtype=np.float64)
        for scores, present in ((keyword, keyword > 0), (dense, dense > 0)):
            candidates = np.flatnonzero(present & candidate)
            order = candidates[np.argsort(-scores[candidates], kind="stable")]
            fused[order] += 1.0 / (RRF_K + np.arange(1, len(order) + 1))
        return fused

    def _segment_scores(
        self, chunk: int, question_vector: np.ndarray | None
    ) -> tuple[tuple[int, int, float], ...]:
        if question_vector is None or not self.has_vectors:
            return ()
        first, last = np.searchsorted(self.segment_chunk, [chunk, chunk + 1])
        numbers = range(int(first), int(last))
        sims = self.vectors.some(numbers, question_vector)
        return tuple(
            (int(self.segment_spans[n, 0]), int(self.segment_spans[n, 1]), float(s))
            for n, s in zip(numbers, sims, strict=True)
        )


TERM_SHIFT, CHUNK_SHIFT = 40, 16
MAX_TERMS, MAX_CHUNKS, MAX_COUNT = 1 << 23, 1 << 24, (1 << 16) - 1
"""A posting packs its term (23 bits), its chunk (24 bits) and how often the term occurs
there (16 bits, counts above are kept at the most) into one non-negative int64."""


def _posting(term: int, chunk: int, count: int) -> int:
    return (term << TERM_SHIFT) | (chunk << CHUNK_SHIFT) | min(count, MAX_COUNT)


def _unpacked(packed: np.ndarray, shift: int, mask: int, dtype: type) -> np.ndarray:
    """One field of every packed posting, a block at a time (no full-size temporary)."""
    field: np.ndarray = np.empty(len(packed), dtype=dtype)
    for start in range(0, len(packed), 1 << 20):
        block = packed[start : start + (1 << 20)]
        field[start : start + len(block)] = (block >> shift) & mask
    return field


def _best(scores: np.ndarray, limit: int) -> np.ndarray:
    """The positions of the `limit` best positive scores, best first, ties in position
    order: what a stable sort of every score would give, without sorting them all."""
    positive = np.flatnonzero(scores > 0)
    values = scores[positive]
    if len(values) > limit:
        # Everything at least as good as the limit-th best (ties included) is sorted.
        threshold = np.partition(values, len(values) - limit)[len(values) - limit]
        keep = values >= threshold
        positive, values = positive[keep], values[keep]
    best: np.ndarray = positive[np.argsort(-values, kind="stable")][:limit]
    return best


def query_terms(query: str) -> list[str]:
    """The stems keyword search looks for: each content word of the question, and the
    parts of a compound as well as the compound ("time off" -> "timeoff", "time")."""
    terms: dict[str, None] = {}
    for word in question_words(query):
        terms[word.term] = None
        parts = word.surface.split()
        if len(parts) > 1:
            for part in index_terms(" ".join(parts)):
                terms[part] = None
    return list(terms)
