"""Words that mean nearly the same: a question's word the sources write another way.

People ask in their own words: "the daily limit for food on a trip" is answered by "Meals
while travelling are reimbursed up to 35 EUR per day", which shares none of them. Word
overlap alone calls that sentence unrelated. Here each word is embedded on its own with
the sentence model the index already uses, and a question word whose sources lack it is
credited, in part, for the nearest word a sentence does have:

    credit = (cosine - NEAR_FROM) / (NEAR_FULL - NEAR_FROM), clipped to 0..1

("food"/"meals" 0.78, "trip"/"travel" 0.80, "refunded"/"reimbursed" 0.60; unrelated words
such as "food"/"taxis" 0.36 get none). Words are embedded once per process and kept
(`WordVectors`); `prepare` embeds what a question needs before it is read, so reading
itself never waits on the model.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np

from app.domain import Passage
from app.text.words import STOPWORDS, stem, tokenize

NEAR_FROM = 0.55
"""Cosine below which two words are not near at all."""
NEAR_FULL = 0.85
"""Cosine from which a word counts as the same word."""
MIN_LETTERS = 3
CACHE_WORDS = 50_000
"""Words kept (half-precision, 768 bytes each: about 38 MB when full)."""


def surfaces(text: str) -> dict[str, str]:
    """{stem: the word it was written as} for the content words of `text`."""
    return dict(_surfaces(text))


@lru_cache(maxsize=32768)
def _surfaces(text: str) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for word in tokenize(text):
        if word in STOPWORDS or len(word) < MIN_LETTERS or not word.isalpha():
            continue
        found.setdefault(stem(word), word)
    return tuple(found.items())


def compared(passages: Sequence[Passage]) -> bool:
    """Whether the passages were compared with the question by meaning (hybrid
    retrieval): only then are words compared by meaning too."""
    return any(p.segment_scores for p in passages)


def prepare_for(question: str, passages: Sequence[Passage]) -> None:
    """Embed the words of `question` and `passages` not kept yet (blocking: a thread)."""
    if compared(passages):
        words = [*surfaces(question).values()]
        for passage in passages:
            words += surfaces(passage.text).values()
        WORDS.prepare(words)


class WordVectors:
    """Unit vectors of single words, embedded once and kept."""

    def __init__(self, capacity: int = CACHE_WORDS) -> None:
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def prepare(self, words: Iterable[str]) -> None:
        """Embed the words not kept yet (blocking: call it in a thread)."""
        with self._lock:
            wanted = sorted({w for w in words if w not in self._vectors})
        if not wanted:
            return
        from app.knowledge.embeddings import shared_embedder

        vectors = shared_embedder().embed(wanted, keep=False)
        with self._lock:
            for word, vector in zip(wanted, vectors, strict=True):
                self._vectors[word] = vector.astype(np.float16)
            while len(self._vectors) > self._capacity:
                self._vectors.popitem(last=False)

    def get(self, word: str) -> np.ndarray | None:
        return self._vectors.get(word)


WORDS = WordVectors()


class NearTable:
    """A question's words against the words of its sentences: each sentence word is
    compared with the question's once per question, however many sentences hold it, and
    each sentence is credited once (a question's passages are read more than once: by
    the gate, for each document whose owners may hear of it, and for the asker alone)."""

    def __init__(self, asked: Mapping[str, str], words: WordVectors = WORDS) -> None:
        """`asked`: the question's {stem: word} that may be written another way."""
        self._words = words
        vectors = [(t, v) for t, w in asked.items() if (v := words.get(w)) is not None]
        self._terms = [t for t, _ in vectors]
        self._matrix = np.stack([v for _, v in vectors]).astype(np.float32) if vectors else None
        self._rows: dict[str, np.ndarray] = {}
        self._sentences: dict[str, dict[str, float]] = {}

    @classmethod
    def of(cls, asked: Mapping[str, str]) -> NearTable:
        """The table for these question words, kept while the same question is read (once
        each of them has a vector)."""
        table = _table(tuple(asked.items()))
        if len(table._terms) < len(asked):
            _table.cache_clear()
            return cls(asked)
        return table

    def compare(self, words: Iterable[str]) -> None:
        """Compare the words not compared yet with the question's, at once; a word that
        has no vector yet is left for later."""
        if self._matrix is None:
            return
        new = [
            (w, v) for w in words if w not in self._rows and (v := self._words.get(w)) is not None
        ]
        if new:
            block = np.stack([v for _, v in new]).astype(np.float32) @ self._matrix.T
            self._rows.update(zip((w for w, _ in new), block, strict=True))

    def sentence_credits(self, text: str, has: Collection[str]) -> dict[str, float]:
        """`credits` of a sentence's text (`has`: its terms), kept once every word of it
        had a vector."""
        credits = self._sentences.get(text)
        if credits is None:
            credits, whole = self._credits(surfaces(text), has)
            if whole:
                self._sentences[text] = credits
        return credits

    def credits(self, present: Mapping[str, str], has: Collection[str] = ()) -> dict[str, float]:
        """{question term: credit} for the question's terms that a sentence (its {stem:
        word} `present`, its terms `has`) lacks but has a near word for."""
        return self._credits(present, has)[0]

    def _credits(
        self, present: Mapping[str, str], has: Collection[str]
    ) -> tuple[dict[str, float], bool]:
        lacking = [t for t in self._terms if t not in present and t not in has]
        if self._matrix is None or not present or not lacking:
            return {}, True
        words = list(present.values())
        self.compare(words)
        rows = [row for w in words if (row := self._rows.get(w)) is not None]
        whole = len(rows) == len(words)
        best = np.max(rows, axis=0).tolist() if rows else [-1.0] * len(self._terms)
        credits: dict[str, float] = {}
        for term, similarity in zip(self._terms, best, strict=True):
            if term not in lacking:
                continue
            credit = (similarity - NEAR_FROM) / (NEAR_FULL - NEAR_FROM)
            if credit > 0:
                credits[term] = min(1.0, credit)
        return credits, whole


@lru_cache(maxsize=8)
def _table(asked: tuple[tuple[str, str], ...]) -> NearTable:
    return NearTable(dict(asked))
