"""Term weights: how much each term of a question matters to an answer.

`TermWeights` gives each question term an idf weight (over the corpus the audience may
see when its statistics are given, else over the passages at hand) and measures the
weighted share of the question a set of terms covers. The extractive answerer scores its
sentences and its confidence with it; the Claude answerer, how much of the question its
citations ground.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.text.words import WEAK_STEMS


@dataclass(frozen=True)
class TermWeights:
    """How much each question term matters.

    `weight(t) = idf(t) x (0.5 for a framing word or a bare number) x (2 if missing)`,
    with `idf(t) = 1 + ln((N + 1) / (df(t) + 0.5))`. N and df come from the corpus the
    audience may see when `corpus` gives them (see `app.answering.corpus`), otherwise from
    the passages at hand. A content term that no passage mentions is `missing`: the
    clearest sign the question is about something the sources do not cover, so it counts
    double. Framing and question words (`FRAMING_STEMS`) and bare numbers are never missing:
    a framing word no passage uses is left out altogether.
    """

    weights: dict[str, float]
    missing: frozenset[str]

    @classmethod
    def for_question(
        cls,
        terms: Sequence[str],
        documents: Sequence[set[str]],
        *,
        framing: Collection[str] = WEAK_STEMS,
        corpus_idf: Callable[[str], float | None] | None = None,
        missing_weight: float = 2.0,
    ) -> TermWeights:
        n = len(documents)
        weights = {}
        missing = set()
        for term in terms:
            df = sum(1 for doc in documents if term in doc)
            weight = corpus_idf(term) if corpus_idf is not None else None
            if weight is None:
                weight = 1.0 + math.log((n + 1) / (df + 0.5))
            if term.isdigit():
                # "a 20% discount", "after 5 years": a parameter of the question, which
                # the answer often states as a range; it weighs half and is never missing.
                weights[term] = 0.5 * weight
                continue
            if term in framing:
                if df:
                    weights[term] = 0.5 * weight
                continue
            if df == 0:
                weight *= missing_weight
                missing.add(term)
            weights[term] = weight
        return cls(weights, frozenset(missing))

    def with_context(self, context: TermWeights, factor: float) -> TermWeights:
        """These weights with `context`'s terms added at `factor` of their weight: the
        words of an earlier question, which give a follow-up its topic. A context term no
        passage mentions is not a sign the follow-up is about something else: it weighs
        as any other and is not missing."""
        added = {
            t: factor * w / (2.0 if t in context.missing else 1.0)
            for t, w in context.weights.items()
            if t not in self.weights
        }
        return TermWeights({**self.weights, **added}, self.missing)

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def of(self, terms: Iterable[str]) -> float:
        return sum(self.weights.get(t, 0.0) for t in set(terms))

    def coverage(
        self,
        full: Iterable[str],
        partial: Iterable[str] = (),
        *,
        partial_credit: float = 0.5,
        credits: Mapping[str, float] | None = None,
    ) -> float:
        """Weighted share of the question found; `partial` terms count `partial_credit`,
        and terms found in other words (`credits`) their own credit when it is more."""
        total = self.total
        if total <= 0:
            return 0.0
        full_set = set(full) & self.weights.keys()
        partial_set = (set(partial) & self.weights.keys()) - full_set
        share = dict.fromkeys(partial_set, partial_credit)
        for term, credit in (credits or {}).items():
            if term in self.weights and term not in full_set:
                share[term] = max(share.get(term, 0.0), credit)
        found = self.of(full_set) + sum(self.weights[t] * c for t, c in share.items())
        return min(1.0, found / total)


def singling_weight(documents: int) -> float:
    """The weight (idf) of a word only one of `documents` uses: what a quote must match,
    at least, to single out the document that answers."""
    return 1.0 + math.log((max(documents, 1) + 1) / 1.5)
