"""The offline answerer: it quotes the sentences of the passages that answer the question.

No model and no key: the answer is made of sentences copied from the passages, each
followed by a numbered marker [1], [2] that matches the citation order. It is
deterministic: the same question and passages always give the same answer.

What the question asks
    A question is split into its parts ("When is the desk open on Saturdays, and what time
    does the canteen close?" is two, see `questions.py`); each part is answered on its own.
    A part's terms are its content words, stopwords dropped and lightly stemmed (see
    `text.py`). Question and framing words ("how far ahead", "allowed", "policy") never
    count as missing: a source answers "How far ahead must a vessel request a berth?"
    without saying "far" or "ahead". A compound the sources write apart ("locked out",
    "e-filing") falls back to its words.

How much each term weighs
    Its idf over everything the audience may see, when the retriever passed corpus
    statistics along (`RetrievedPassages`), otherwise over the given passages: a word the
    knowledge base uses everywhere ("staff") says little, a rare one ("OneDrive") a lot.
    A term that no passage mentions is *missing* and weighs double; framing words and bare
    numbers weigh half.

How sentences are chosen
    Every sentence, list item and table row of every usable passage is scored: the weights
    of the question terms it contains, 0.75 of the weight of terms found only in its
    context (document title, section heading, the document's id or folder, a table
    header), a bonus for question word pairs it repeats in order and for words of an
    earlier question or another part of this one. A part that wants a kind of answer
    ("how long", "who", "where", see `answer_kind`) prefers sentences that state one
    (x1.25, else /1.25). Current documents are preferred (deprecated x0.6, draft x0.85),
    long sentences are damped, and the retriever's ranking breaks ties. At most 3
    sentences from at most 3 documents are kept per part: each after the first must cover
    a question term the others do not, score at least half of the best, and not repeat an
    earlier one. A sentence that continues the best one ("After checking your ID they
    issue a code") is quoted with it.

What the confidence means
    For one part it starts as the weighted share of its terms that the quotes cover (the
    best quote's share plus half of what the others add; context terms count 0.75), so
    missing terms pull it down by their weight. It is then multiplied by 0.5 for every
    missing term written like a name ("Brazil", "Zoom", "GPU"): a question naming
    something the sources never mention is about something else; by 0.8 when the part
    wants a kind of answer no quote states; by 0.8 for one-word questions; by 0.85 when
    current documents conflict; by 0.8 when every quote comes from a deprecated document.

    A question with several parts is answered from the parts whose confidence reaches
    `part_support` (0.35); the answer names the parts nothing supports, and its confidence
    is the mean of the answered parts, x0.85 for each part left unanswered.

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

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from app.answering.base import (
    NOTE_CONFLICT,
    NOTE_DEPRECATED,
    NOTE_UNANSWERED,
    describe_source,
    drop_superseded,
    no_answer,
)
from app.answering.corpus import CorpusStatistics, corpus_of
from app.answering.questions import answer_kind, question_parts, states_kind
from app.answering.ranges import range_row
from app.answering.text import (
    FRAMING_STEMS,
    STOPWORDS,
    QuestionWord,
    Sentence,
    TermWeights,
    bigrams,
    content_terms,
    numbers,
    quantities,
    question_sequence,
    question_words,
    split_sentences,
    stem,
    term_sequence,
)
from app.domain import Citation, DocumentStatus, ModelAnswer, Passage, Turn

STATUS_FACTOR = {
    DocumentStatus.CURRENT: 1.0,
    DocumentStatus.DRAFT: 0.85,
    DocumentStatus.DEPRECATED: 0.6,
}
CONTEXT_CREDIT = 0.75
"""Credit for a question term found only in the sentence's context (title, heading...)."""
KIND_BONUS = 1.25
"""Sentence score factor when the part wants a kind of answer and the sentence states one."""
MISSING_WEIGHT = 2.0
"""Weight factor of a question term that no passage mentions."""
MISSING_NAME_FACTOR = 0.5
"""Confidence factor for each missing question term written like a name."""
MISSING_KIND_FACTOR = 0.8
"""Confidence factor when the part wants a kind of answer that no quote states."""
PART_SUPPORT = 0.35
"""Confidence a part of a several-part question needs for its quotes to be used."""
UNANSWERED_PART_FACTOR = 0.85
"""Confidence factor for each part of a question that nothing supports."""
MERGE_GAP_CHARS = 300
"""Sentences of one passage closer than this are quoted as one span."""
MEANING_WEIGHT = 2.0
"""How much a sentence's similarity of meaning with the question counts, against the
weighted share of the question's words it contains (0..1)."""
MEANING_FLOOR = 0.35
"""A sentence sharing no word with the question is quoted only from this similarity up."""
RANK_STEP = 0.1
"""Each place further down the retrieval ranking costs a sentence this share of its score."""
CONTEXT_AFTER = 1
"""Sentences after the best one (same paragraph) quoted with it."""
CONTEXT_BEFORE = 1
"""Sentences before the best one (same paragraph) quoted with it."""


@dataclass(frozen=True)
class _Source:
    """A usable passage with what scoring needs from it, computed once."""

    rank: int
    passage: Passage

    @cached_property
    def sentences(self) -> list[Sentence]:
        return split_sentences(self.passage.text)

    @cached_property
    def context_terms(self) -> frozenset[str]:
        """Terms of the document's title, section heading, id and folder."""
        names = " ".join(re.split(r"[/_.#-]+", self.passage.doc_id))
        return frozenset(content_terms(f"{describe_source(self.passage)}\n{names}"))

    @cached_property
    def terms(self) -> frozenset[str]:
        return self.context_terms | content_terms(self.passage.text)


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


@dataclass(frozen=True)
class _Part:
    """One part of the question, the quotes that answer it and how well they do."""

    text: str
    chosen: tuple[_Candidate, ...] = ()
    conflict: tuple[_Candidate, ...] = ()
    confidence: float = 0.0


class ExtractiveAnswerer:
    """Answers by quoting the passages; see the module docstring for the scoring."""

    name = "extractive"

    def __init__(
        self, *, max_sentences: int = 3, max_documents: int = 1, part_support: float = PART_SUPPORT
    ) -> None:
        self.max_sentences = max_sentences
        self.max_documents = max_documents
        self.part_support = part_support

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        return self.compose(
            question=question, passages=passages, history=history, corpus=corpus_of(passages)
        )

    def compose(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        corpus: CorpusStatistics | None = None,
    ) -> ModelAnswer:
        """The synchronous core of `answer`: pure, no I/O."""
        usable, _ = drop_superseded(passages)
        if not usable or not question_words(question):
            return no_answer(self.name)
        sources = [_Source(rank, passage) for rank, passage in enumerate(usable)]
        idf = corpus.idf if corpus is not None and corpus.documents else None
        texts = question_parts(question)
        earlier = self._earlier_terms(history)
        parts = []
        for index, text in enumerate(texts):
            others = {w.term for j, t in enumerate(texts) if j != index for w in question_words(t)}
            parts.append(self._answer_part(text, sources, idf, earlier | others))
        answered = [p for p in parts if p.chosen and p.confidence >= self.part_support]
        if len(parts) == 1 or not answered:
            best = max(parts, key=lambda p: p.confidence)
            if not best.chosen:
                return no_answer(self.name)
            return _within_range(self._compose([best], []), question, usable)
        return self._compose(answered, [p for p in parts if all(p is not a for a in answered)])

    # --- scoring -----------------------------------------------------------------------------

    @staticmethod
    def _earlier_terms(history: Sequence[Turn]) -> frozenset[str]:
        """Terms of the previous question, which give a short follow-up its topic."""
        if not history:
            return frozenset()
        return frozenset(w.term for w in question_words(history[-1].question))

    def _answer_part(
        self,
        text: str,
        sources: Sequence[_Source],
        idf: Callable[[str], float | None] | None,
        earlier: set[str] | frozenset[str],
    ) -> _Part:
        words = question_words(text)
        documents = [set(source.terms) for source in sources]
        resolved = [(word, _resolve(word, documents)) for word in words]
        terms = list(dict.fromkeys(t for _, found in resolved for t in found))
        names = {t for word, found in resolved if word.name_like for t in found}
        weights = TermWeights.for_question(
            terms, documents, framing=FRAMING_STEMS, corpus_idf=idf, missing_weight=MISSING_WEIGHT
        )
        if not weights.weights:
            return _Part(text)
        kind = answer_kind(text)
        candidates = self._candidates(text, sources, weights, frozenset(earlier) - set(terms), kind)
        if not candidates:
            return _Part(text)
        chosen = self._select(candidates)
        conflict = self._conflict(candidates, weights)
        if conflict:
            # Both sides of a disagreement are quoted, whatever else has to make room.
            others = [c for c in chosen if c not in conflict]
            room = max(self.max_sentences - len(conflict), 0)
            chosen = sorted([*conflict, *others[:room]], key=lambda c: c.order)
        chosen = _with_continuation(chosen, sources)
        confidence = _coverage(chosen, weights)
        confidence *= MISSING_NAME_FACTOR ** len(weights.missing & names)
        if kind and not any(states_kind(c.sentence.text, kind) for c in chosen):
            confidence *= MISSING_KIND_FACTOR
        if len(set(weights.weights) - FRAMING_STEMS) <= 1:
            confidence *= 0.8
        if conflict:
            confidence *= 0.85
        if all(c.passage.status == DocumentStatus.DEPRECATED for c in chosen):
            confidence *= 0.8
        return _Part(text, tuple(chosen), tuple(conflict), max(0.0, min(1.0, confidence)))

    def _candidates(
        self,
        question: str,
        sources: Sequence[_Source],
        weights: TermWeights,
        earlier: frozenset[str],
        kind: str | None,
    ) -> list[_Candidate]:
        asked = set(weights.weights)
        pairs = bigrams(question_sequence(question))
        candidates = []
        for source in sources:
            passage, rank = source.passage, source.rank
            heading_terms: set[str] = set()
            header: Sentence | None = None
            for position, sentence in enumerate(source.sentences):
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
                meaning = _meaning(passage, sentence)
                if not matched - FRAMING_STEMS and meaning < MEANING_FLOOR:
                    continue
                around = source.context_terms | heading_terms
                if header is not None:
                    around = around | content_terms(header.text)
                context = (asked & around) - matched
                words = weights.of(matched) + CONTEXT_CREDIT * weights.of(context)
                sequence = term_sequence(sentence.text)
                for left, right in pairs & bigrams(sequence):
                    words += 0.25 * (weights.weights[left] + weights.weights[right])
                words += 0.3 * len(earlier & (terms | around))
                score = words / max(weights.total, 1e-9) + MEANING_WEIGHT * max(meaning, 0.0)
                if kind:
                    score *= KIND_BONUS if states_kind(sentence.text, kind) else 1 / KIND_BONUS
                score *= STATUS_FACTOR.get(passage.status, 1.0)
                score /= 1.0 + max(0, len(sequence) - 35) / 35
                score *= 1.0 - RANK_STEP * min(rank, 10)
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
            if candidate.passage.doc_id not in documents and (
                len(documents) >= self.max_documents or candidate.score < 0.7 * best.score
            ):
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

    def _compose(self, parts: list[_Part], unanswered: list[_Part]) -> ModelAnswer:
        chosen: list[_Candidate] = []
        conflict: list[_Candidate] = []
        for part in parts:
            chosen += [c for c in part.chosen if not any(_same(c, o) for o in chosen)]
            conflict += [c for c in part.conflict if not any(_same(c, o) for o in conflict)]
        # One citation per document: its best quote; its other sentences carry its number.
        groups: dict[str, list[_Candidate]] = {}
        for candidate in chosen:
            groups.setdefault(candidate.passage.doc_id, []).append(candidate)
        citations: list[Citation] = []
        said_parts: list[str] = []
        markers: dict[str, list[int]] = {}
        for doc_id, members in groups.items():
            best = members[0]
            spans = [
                span
                for chunk in dict.fromkeys(m.passage.chunk_id for m in members)
                for span in _spans(
                    sorted(
                        (m for m in members if m.passage.chunk_id == chunk),
                        key=lambda c: c.sentence.start,
                    )
                )
            ]
            quoted = next(span for span in spans if best in span)
            passage = best.passage
            citations.append(
                Citation(
                    doc_id=doc_id,
                    title=passage.title,
                    quote=passage.text[quoted[0].sentence.start : quoted[-1].sentence.end],
                    url=passage.url,
                    chunk_id=passage.chunk_id,
                )
            )
            number = len(citations)
            markers[doc_id] = [number]
            for span in sorted(spans, key=lambda sp: sp is not quoted):
                said = " ".join(_plain(c) for c in span)
                said_parts.append(f"{said} [{number}]")
        text = " ".join(said_parts)
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
        if unanswered:
            notes.append(f"{NOTE_UNANSWERED}: {len(unanswered)}")
            asked = "; ".join(f'"{p.text}"' for p in unanswered)
            text += f"\n\nI found nothing in the sources about this part of the question: {asked}."
        confidence = sum(p.confidence for p in parts) / len(parts)
        confidence *= UNANSWERED_PART_FACTOR ** len(unanswered)
        return ModelAnswer(
            text=text,
            citations=tuple(citations),
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            backend=self.name,
            notes=tuple(notes),
        )


def _within_range(answer: ModelAnswer, question: str, passages: Sequence[Passage]) -> ModelAnswer:
    """When the quote is a row of a table of ranges ("More than 10% and up to 25%") and the
    question names a number, the row whose range holds it: words alone cannot tell 20 %
    from 30 %."""
    asked = sorted(numbers(question))
    if not asked or not answer.citations:
        return answer
    found = range_row(answer.citations[:1], passages, asked)
    if found is None or found[0].quote == answer.citations[0].quote:
        return answer
    citation, said = found
    return replace(answer, text=f"{said} [1]", citations=(citation,))


def _meaning(passage: Passage, sentence: Sentence) -> float:
    """The similarity of meaning of the segment holding `sentence` (0 without vectors)."""
    best = 0.0
    for start, end, similarity in passage.segment_scores:
        if start <= sentence.start < end or start < sentence.end <= end:
            best = max(best, similarity)
    return best


def _resolve(word: QuestionWord, documents: Sequence[set[str]]) -> list[str]:
    """The term(s) to look for: the word itself, or the words of a compound the sources
    only write apart ("locked out" -> "lock" when no source says "locked out")."""
    parts = word.surface.split()
    if len(parts) < 2 or any(word.term in d for d in documents):
        return [word.term]
    stems = [stem(p) for p in parts if p not in STOPWORDS and len(p) > 1]
    found = [s for s in stems if any(s in d for d in documents)]
    return found or [word.term]


def _coverage(chosen: Sequence[_Candidate], weights: TermWeights) -> float:
    """The best single quote's coverage plus half of what the other quotes of its document
    add to it. Quotes from other documents do not add: scattered words matched across
    unrelated documents are not an answer."""

    def covered(group: Sequence[_Candidate]) -> float:
        matched = set().union(*(c.matched for c in group))
        context = set().union(*(c.context for c in group))
        return weights.coverage(matched, context, partial_credit=CONTEXT_CREDIT)

    best = max(chosen, key=lambda c: covered([c]))
    single = covered([best])
    together = covered([c for c in chosen if c.passage.doc_id == best.passage.doc_id])
    return single + 0.5 * (together - single)


def _with_continuation(chosen: list[_Candidate], sources: Sequence[_Source]) -> list[_Candidate]:
    """The chosen quotes, with the sentences around the best one in its paragraph: the one
    after it (it often carries the figure or the condition: "They issue a code...", "The
    limit is..."), and up to `CONTEXT_BEFORE` before it. A quote of the surrounding
    sentences costs a reader a line; a quote that stops short of the fact costs trust."""
    best = chosen[0]
    source = next(s for s in sources if s.passage is best.passage)
    sentences = source.sentences
    extra: list[_Candidate] = []
    wanted = [best.position + 1 + i for i in range(CONTEXT_AFTER)]
    wanted += [best.position - 1 - i for i in range(CONTEXT_BEFORE)]
    for position in wanted:
        if not 0 <= position < len(sentences):
            continue
        neighbour = sentences[position]
        low, high = sorted((neighbour, best.sentence), key=lambda x: x.start)
        gap = best.passage.text[low.end : high.start]
        if neighbour.kind != "sentence" or best.sentence.kind != "sentence" or "\n\n" in gap:
            continue
        if any(c.passage is best.passage and c.sentence == neighbour for c in chosen):
            continue
        extra.append(
            _Candidate(
                rank=best.rank,
                passage=best.passage,
                sentence=neighbour,
                position=position,
                matched=frozenset(),
                context=frozenset(),
                terms=frozenset(content_terms(neighbour.text)),
                score=best.score,
                header=None,
            )
        )
    return [best, *extra, *chosen[1:]]


def _same(a: _Candidate, b: _Candidate) -> bool:
    return a.passage.chunk_id == b.passage.chunk_id and a.sentence.start == b.sentence.start


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
