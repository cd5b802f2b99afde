"""What a curated answer rests on: the exact sentences of its sources that say it.

An owner's corrected answer is shown from then on with a high confidence, so it must not
say more than its sources do (otherwise text from a restricted document could reach
readers of a public one). When a correction is accepted, every sentence of it is checked
against the full text of the sources the owner chose:

- each figure it states ("USD 8.95", "14 days") must appear in those sources;
- at least `SUPPORT_SHARE` of its content words must appear in them (framing words such
  as "policy" or "allowed" aside), so a rewording passes and a new claim does not;
- every chosen source must say some of it (a source that says none of it would only
  narrow who sees the answer while pretending to support it).

The citations keep, for each source, the source sentence that says most of the answer,
copied exactly, so they can be verified like any other citation, then and every time
the curated answer is used (`still_supported`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.answering.citations import quote_in
from app.domain import Citation, Passage
from app.errors import RuleViolation
from app.text.numbers import numbers
from app.text.sentences import split_sentences
from app.text.words import FRAMING_STEMS, STOPWORDS, fold, stem, term_sequence

SUPPORT_SHARE = 0.6
"""Share of a sentence's content words its sources must contain."""
MIN_SHARED_TERMS = 2
"""Words a source sentence must share with the answer to count as saying some of it."""
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


@dataclass(frozen=True)
class _SourceSentence:
    doc_id: str
    text: str
    terms: frozenset[str]
    figures: frozenset[float]


def supporting_citations(
    text: str, doc_ids: Sequence[str], passages: Sequence[Passage]
) -> list[Citation]:
    """One citation per source, quoting the source sentence that says most of `text`.

    Raises `RuleViolation`, naming what is not supported, when `text` states a figure or
    a claim its sources do not, or a source says none of it.
    """
    sources = _source_sentences(passages)
    known_terms = frozenset().union(*(s.terms for s in sources))
    known_figures = frozenset().union(*(s.figures for s in sources))
    missing = [
        phrase
        for sentence in split_sentences(text)
        for phrase in _unsupported(sentence.text, known_terms, known_figures)
    ]
    if missing:
        raise RuleViolation(
            "Not in the chosen sources: "
            + ", ".join(f"“{phrase}”" for phrase in dict.fromkeys(missing))
            + ". Choose the source that says it (or update the document first), "
            "or keep the answer to what the sources say."
        )
    wanted = _terms(text)
    wanted_figures = numbers(text)
    by_doc = {p.doc_id: p for p in passages}
    citations = []
    for doc_id in doc_ids:
        best = max(
            (s for s in sources if s.doc_id == doc_id),
            key=lambda s: len(s.terms & wanted) + 2 * len(s.figures & wanted_figures),
            default=None,
        )
        if best is None or (
            len(best.terms & wanted) < MIN_SHARED_TERMS and not best.figures & wanted_figures
        ):
            title = by_doc[doc_id].title if doc_id in by_doc else doc_id
            raise RuleViolation(
                f"“{title}” doesn't say any of the corrected answer: remove it from the "
                "sources, or choose the document that does."
            )
        passage = by_doc[doc_id]
        citations.append(
            Citation(doc_id=doc_id, title=passage.title, url=passage.url, quote=best.text)
        )
    return citations


def still_supported(citations: Sequence[Citation], passages: Sequence[Passage]) -> bool:
    """Whether every citation's quote is still text of its document (a curated answer
    whose source changed under it is not used until an owner confirms it again)."""
    return bool(citations) and all(
        citation.quote
        and any(p.doc_id == citation.doc_id and quote_in(citation.quote, p.text) for p in passages)
        for citation in citations
    )


def _source_sentences(passages: Sequence[Passage]) -> list[_SourceSentence]:
    return [
        _SourceSentence(
            doc_id=passage.doc_id,
            text=sentence.text,
            terms=_terms(sentence.text),
            figures=numbers(sentence.text),
        )
        for passage in passages
        for sentence in split_sentences(passage.text)
    ]


def _terms(text: str) -> frozenset[str]:
    return frozenset(t for t in term_sequence(text) if t not in FRAMING_STEMS)


def _unsupported(
    sentence: str, known_terms: frozenset[str], known_figures: frozenset[float]
) -> list[str]:
    """What `sentence` says that the sources do not, as phrases in its own words (nothing
    when the sentence is supported)."""
    figures = sorted(numbers(sentence) - known_figures)
    terms = _terms(sentence)
    missing = terms - known_terms
    if not figures and (not terms or len(terms - missing) >= SUPPORT_SHARE * len(terms)):
        return []
    return [f"{f:g}" for f in figures] + _phrases(sentence, missing)


def _phrases(sentence: str, stems: frozenset[str]) -> list[str]:
    """Runs of the sentence's words whose stems are in `stems` (stopwords may join a run)."""
    phrases: list[list[str]] = [[]]
    for word in _WORD.findall(sentence):
        folded = fold(word)
        if stem(folded) in stems and not folded.isdigit() or folded in STOPWORDS and phrases[-1]:
            phrases[-1].append(word)
        elif phrases[-1]:
            phrases.append([])
    return [" ".join(_trimmed(p)) for p in phrases if _trimmed(p)]


def _trimmed(words: list[str]) -> list[str]:
    while words and fold(words[-1]) in STOPWORDS:
        words = words[:-1]
    return words
