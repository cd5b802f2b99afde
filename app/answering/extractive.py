"""The offline answerer: it quotes the sentences of the passages that answer the question.

No model and no key: the answer is made of sentences copied from the passages, each
followed by a numbered marker [1], [2] that matches the citation order. It is
deterministic: the same question and passages always give the same answer.

How sentences are chosen
    Every sentence, list item and table row of every usable passage is scored against the
    question's content terms (stopwords dropped, lightly stemmed, see `text.py`). A term
    weighs its idf over the given passages; a term that no passage mentions weighs
    double, framing words ("policy", "rule") and bare numbers weigh half. A sentence
    scores the weights of the terms it contains, 0.75 of the weight of terms found only
    in its document title, section heading (the passage's own or one inside its text) or
    table header, and a bonus for question
    word pairs it repeats in order. When the question asks for a figure ("how many",
    "when") sentences stating one are preferred. Current documents are preferred
    (deprecated x0.6, draft x0.85), long sentences are damped, and the retriever's
    ranking breaks ties. At most 3 sentences from at most 3 documents are kept: each
    after the first must cover a question term the others do not, score at least half
    of the best, and not repeat an earlier one.

What the confidence means
    It starts as the weighted share of the question's content terms that the quotes
    cover: the best quote's share plus half of what the other quotes add (terms found
    only in a cited title or heading count 0.75). It is then multiplied by 0.7 for every
    question term that no passage mentions at all, so a question about something the
    documents do not discuss ("parental leave in Brazil" against PTO pages) lands low
    even when its other words match; by 0.8 for one-word questions; by 0.85 when current
    documents conflict; by 0.8 when every quote comes from a deprecated document.

    Reading it: >= 0.7 the quotes contain nearly everything the question asks about;
    0.35-0.7 they answer most of it; < 0.35 something the question asks about is missing
    from the sources, and the answer should not be shown as one. No supporting sentence
    at all gives text "" and confidence 0.

Superseded and conflicting documents
    A passage whose document is superseded by a current passage in the list is never
    used. When the best sentences of two current documents answer the same terms of the
    question with different figures, both are quoted and the note
    "conflict: doc-a, doc-b" is added, so nobody silently picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.answering.base import (
    NOTE_CONFLICT,
    NOTE_DEPRECATED,
    describe_source,
    drop_superseded,
    no_answer,
)
from app.answering.text import (
    WEAK_STEMS,
    Sentence,
    TermWeights,
    asks_for_figure,
    bigrams,
    content_terms,
    numbers,
    quantities,
    question_sequence,
    question_terms,
    split_sentences,
    term_sequence,
)
from app.domain import Citation, DocumentStatus, ModelAnswer, Passage, Turn

STATUS_FACTOR = {
    DocumentStatus.CURRENT: 1.0,
    DocumentStatus.DRAFT: 0.85,
    DocumentStatus.DEPRECATED: 0.6,
}
CONTEXT_CREDIT = 0.75
"""Credit for a question term found only in the sentence's document title or heading."""
FIGURE_BONUS = 1.25
"""Sentence score factor when the question asks for a figure and the sentence gives one."""
MISSING_TERM_FACTOR = 0.7
"""Confidence factor for each question term that no passage mentions at all."""
MERGE_GAP_CHARS = 300
"""Sentences of one passage closer than this are quoted as one span (one citation)."""


@dataclass(frozen=True)
class _Candidate:
    rank: int
    passage: Passage
    sentence: Sentence
    position: int
    matched: frozenset[str]
    context: frozenset[str]
    terms: frozenset[str]
    score: float
    header: Sentence | None = None

    @property
    def order(self) -> tuple[float, int, int]:
        return (-self.score, self.rank, self.position)


class ExtractiveAnswerer:
    """Answers by quoting the passages; see the module docstring for the scoring."""

    name = "extractive"

    def __init__(self, *, max_sentences: int = 3, max_documents: int = 3) -> None:
        self.max_sentences = max_sentences
        self.max_documents = max_documents

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        return self.compose(question=question, passages=passages, history=history)

    def compose(
        self, *, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> ModelAnswer:
        """The synchronous core of `answer`: pure, no I/O."""
        usable, _ = drop_superseded(passages)
        asked = question_terms(question)
        if not asked or not usable:
            return no_answer(self.name)
        weights = TermWeights.for_question(
            asked, [content_terms(f"{describe_source(p)}\n{p.text}") for p in usable]
        )
        earlier = self._earlier_terms(history, asked)
        candidates = self._candidates(question, usable, weights, earlier)
        if not candidates:
            return no_answer(self.name)
        chosen = self._select(candidates)
        conflict = self._conflict(candidates, weights)
        if conflict:
            # Both sides of a disagreement are quoted, whatever else has to make room.
            others = [c for c in chosen if c not in conflict]
            room = max(self.max_sentences - len(conflict), 0)
            chosen = sorted([*conflict, *others[:room]], key=lambda c: c.order)
        return self._compose(chosen, conflict, weights)

    # --- scoring -----------------------------------------------------------------------------

    @staticmethod
    def _earlier_terms(history: Sequence[Turn], asked: Sequence[str]) -> frozenset[str]:
        """Terms of the previous question, which give a short follow-up its topic."""
        if not history:
            return frozenset()
        return frozenset(question_terms(history[-1].question)) - set(asked)

    def _candidates(
        self,
        question: str,
        passages: Sequence[Passage],
        weights: TermWeights,
        earlier: frozenset[str],
    ) -> list[_Candidate]:
        asked = set(weights.weights)
        pairs = bigrams(question_sequence(question))
        wants_figure = asks_for_figure(question)
        candidates = []
        for rank, passage in enumerate(passages):
            title_terms = content_terms(describe_source(passage))
            heading_terms: set[str] = set()
            header: Sentence | None = None
            for position, sentence in enumerate(split_sentences(passage.text)):
                if sentence.is_heading:
                    heading_terms = content_terms(sentence.text)
                    continue
                if sentence.kind == "header":
                    header = sentence
                    continue
                if sentence.kind != "row":
                    header = None
                if len(sentence.text.split()) < 3:
                    continue
                terms = content_terms(sentence.text)
                matched = asked & terms
                if not matched - WEAK_STEMS:
                    continue
                around = title_terms | heading_terms
                if header is not None:
                    around = around | content_terms(header.text)
                context = (asked & around) - matched
                score = weights.of(matched) + CONTEXT_CREDIT * weights.of(context)
                sequence = term_sequence(sentence.text)
                for left, right in pairs & bigrams(sequence):
                    score += 0.25 * (weights.weights[left] + weights.weights[right])
                score += 0.3 * len(earlier & terms)
                if wants_figure:
                    score *= FIGURE_BONUS if numbers(sentence.text) else 1 / FIGURE_BONUS
                score *= STATUS_FACTOR.get(passage.status, 1.0)
                score /= 1.0 + max(0, len(sequence) - 35) / 35
                score *= 1.0 - 0.03 * min(rank, 10)
                candidates.append(
                    _Candidate(
                        rank=rank,
                        passage=passage,
                        sentence=sentence,
                        position=position,
                        matched=frozenset(matched),
                        context=frozenset(context),
                        terms=frozenset(terms),
                        score=score,
                        header=header,
                    )
                )
        candidates.sort(key=lambda c: c.order)
        return candidates

    def _select(self, candidates: list[_Candidate]) -> list[_Candidate]:
        best = candidates[0]
        chosen = [best]
        covered = set(best.matched)
        documents = {best.passage.doc_id}
        for candidate in candidates[1:]:
            if len(chosen) >= self.max_sentences or candidate.score < 0.5 * best.score:
                break
            if candidate.passage.doc_id not in documents and len(documents) >= self.max_documents:
                continue
            if not candidate.matched - covered:
                continue
            if any(_similar(candidate, c) for c in chosen):
                continue
            chosen.append(candidate)
            covered |= candidate.matched
            documents.add(candidate.passage.doc_id)
        return chosen

    @staticmethod
    def _conflict(candidates: list[_Candidate], weights: TermWeights) -> list[_Candidate]:
        """The best sentences of current documents that state different figures for one thing.

        Two documents conflict when their best sentences are both strong answers (each at
        least 60% of the top score), match mostly the same question terms, and give
        disjoint values for the same counted thing ("25 days" against "20 days").
        """
        top = candidates[0].score
        best_by_doc: dict[str, _Candidate] = {}
        for candidate in candidates:
            if candidate.passage.status == DocumentStatus.CURRENT:
                best_by_doc.setdefault(candidate.passage.doc_id, candidate)
        strong = [c for c in best_by_doc.values() if c.score >= 0.6 * top]
        clashing: list[_Candidate] = []
        for i, a in enumerate(strong):
            for b in strong[i + 1 :]:
                shared = weights.of(a.matched & b.matched)
                if shared < 0.6 * max(weights.of(a.matched), weights.of(b.matched)):
                    continue
                figures_a, figures_b = quantities(a.sentence.text), quantities(b.sentence.text)
                if any(
                    not figures_a[unit] & figures_b[unit]
                    for unit in figures_a.keys() & figures_b.keys()
                ):
                    clashing.extend(c for c in (a, b) if c not in clashing)
        return clashing

    # --- composing ---------------------------------------------------------------------------

    def _compose(
        self, chosen: list[_Candidate], conflict: list[_Candidate], weights: TermWeights
    ) -> ModelAnswer:
        groups: dict[tuple[str, str], list[_Candidate]] = {}
        for candidate in chosen:
            groups.setdefault((candidate.passage.doc_id, candidate.passage.chunk_id), []).append(
                candidate
            )
        citations: list[Citation] = []
        parts: list[str] = []
        markers: dict[str, list[int]] = {}
        for members in groups.values():
            passage = members[0].passage
            for span in _spans(sorted(members, key=lambda c: c.sentence.start)):
                start, end = span[0].sentence.start, span[-1].sentence.end
                citations.append(
                    Citation(
                        doc_id=passage.doc_id,
                        title=passage.title,
                        quote=passage.text[start:end],
                        url=passage.url,
                        chunk_id=passage.chunk_id,
                    )
                )
                number = len(citations)
                markers.setdefault(passage.doc_id, []).append(number)
                said = " ".join(_plain(c) for c in span)
                parts.append(f"{said} [{number}]")
        text = " ".join(parts)
        notes: list[str] = []
        if conflict:
            ids = list(dict.fromkeys(c.passage.doc_id for c in conflict))
            notes.append(f"{NOTE_CONFLICT}: {', '.join(ids)}")
            named = " and ".join(
                f"{c.passage.title} {''.join(f'[{n}]' for n in markers[c.passage.doc_id])}"
                for c in {c.passage.doc_id: c for c in conflict}.values()
            )
            text += (
                f"\n\nThe sources disagree here: {named} give different figures. "
                "Please check with the document owners before relying on either."
            )
        deprecated = list(
            dict.fromkeys(
                c.passage.doc_id for c in chosen if c.passage.status == DocumentStatus.DEPRECATED
            )
        )
        if deprecated:
            notes.append(f"{NOTE_DEPRECATED}: {', '.join(deprecated)}")
            numbered = ", ".join(f"[{n}]" for d in deprecated for n in markers[d])
            text += f"\n\nSource {numbered} is marked deprecated and may be out of date."

        confidence = _coverage(chosen, weights)
        confidence *= MISSING_TERM_FACTOR ** len(weights.missing - WEAK_STEMS)
        if len(set(weights.weights) - WEAK_STEMS) <= 1:
            confidence *= 0.8
        if conflict:
            confidence *= 0.85
        if deprecated and set(deprecated) == {c.passage.doc_id for c in chosen}:
            confidence *= 0.8
        return ModelAnswer(
            text=text,
            citations=tuple(citations),
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            backend=self.name,
            notes=tuple(notes),
        )


def _coverage(chosen: list[_Candidate], weights: TermWeights) -> float:
    """The best single quote's coverage plus half of what the other quotes add to it."""

    def covered(group: Sequence[_Candidate]) -> float:
        matched = set().union(*(c.matched for c in group))
        context = set().union(*(c.context for c in group))
        return weights.coverage(matched, context, partial_credit=CONTEXT_CREDIT)

    single = max(covered([c]) for c in chosen)
    return single + 0.5 * (covered(chosen) - single)


def _similar(a: _Candidate, b: _Candidate) -> bool:
    """Near-duplicates: the same sentence in two chunks, or mostly the same words."""
    if a.sentence.text == b.sentence.text:
        return True
    union = a.terms | b.terms
    return bool(union) and len(a.terms & b.terms) / len(union) >= 0.7


def _spans(members: list[_Candidate]) -> list[list[_Candidate]]:
    spans: list[list[_Candidate]] = []
    for candidate in members:
        if spans and candidate.sentence.start - spans[-1][-1].sentence.end <= MERGE_GAP_CHARS:
            spans[-1].append(candidate)
        else:
            spans.append([candidate])
    return spans


def _plain(candidate: _Candidate) -> str:
    """A quoted sentence as answer text: one line, markdown emphasis removed.

    A table row is spelled out with its column names: "Region: EMEA; Allowance: EUR 60".
    """
    sentence = candidate.sentence
    if sentence.kind == "row":
        cells = sentence.cells or [sentence.text]
        names = candidate.header.cells if candidate.header else []
        if len(names) == len(cells):
            text = "; ".join(f"{n}: {c}" for n, c in zip(names, cells, strict=True) if c)
        else:
            text = " | ".join(c for c in cells if c)
        return _one_line(text).rstrip(".;") + "."
    return _one_line(sentence.text)


def _one_line(text: str) -> str:
    return " ".join(text.replace("**", "").replace("__", "").split())
