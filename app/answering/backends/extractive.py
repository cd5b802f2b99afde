"""The offline answerer: it quotes the sentences of the passages that answer the question.

No model and no key: the answer is made of sentences copied from the passages, each
followed by a numbered marker [1], [2] that matches the citation order. It is
deterministic: the same question and passages always give the same answer.

What the question asks
    A question asking for a summary of one document by its title ("What are the main
    points of the Return Policy?") is answered by `summary.py` with the first statement of
    each of its sections. Any other question is split into its parts ("When is the desk open on Saturdays, and what time
    does the canteen close?" is two, see `questions.py`); each part is answered on its own.
    A part's terms are its content words, stopwords dropped and lightly stemmed (see
    `app.text.words`). Question and framing words ("how far ahead", "allowed", "policy")
    never count as missing: a source answers "How far ahead must a vessel request a berth?"
    without saying "far" or "ahead". A compound the sources write apart ("locked out",
    "e-filing") falls back to its words.

How much each term weighs
    Its idf over everything the audience may see, when the retriever passed corpus
    statistics along (`RetrievedPassages`), otherwise over the given passages: a word the
    knowledge base uses everywhere ("staff") says little, a rare one ("OneDrive") a lot.
    A term that no passage mentions is *missing* and weighs double; framing words and bare
    numbers weigh half.

Words written another way
    With hybrid retrieval, a question term a sentence lacks is credited for the nearest
    word it has, by meaning ("food" for "meals": `near_words.py`), in score and coverage.

How sentences are chosen
    Every sentence, list item and table row of every usable passage is scored against the
    part: the weights of the question terms it contains and of those in its context, its
    kind of answer, its document's status and its rank (see `quotes.py`). At most 3
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
    Last, the words the quotes match must weigh at least as much as one word only one
    document uses (`singling_weight`); below that it is scaled down in proportion: quotes
    that match only words many documents use ("When can you start?" and "the backup job
    starts") do not single out a document that answers.

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.answering.backends.quotes import (
    Candidate,
    Source,
    conflicting,
    coverage,
    resolve,
    same,
    scored_sentences,
    select,
    with_continuation,
)
from app.answering.backends.summary import summarise
from app.answering.base import (
    NOTE_CONFLICT,
    NOTE_DEPRECATED,
    NOTE_UNANSWERED,
    drop_superseded,
    no_answer,
)
from app.answering.corpus import CorpusStatistics, corpus_of
from app.answering.near_words import prepare_for
from app.answering.questions import answer_kind, question_parts, states_kind
from app.answering.ranges import range_row
from app.answering.weights import TermWeights, singling_weight
from app.domain import Citation, DocumentStatus, ModelAnswer, Passage, Turn
from app.text.numbers import numbers
from app.text.words import FRAMING_STEMS, content_terms, question_words
from app.trust import tracing

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


@dataclass(frozen=True)
class _Part:
    """One part of the question, the quotes that answer it and how well they do."""

    text: str
    chosen: tuple[Candidate, ...] = ()
    conflict: tuple[Candidate, ...] = ()
    confidence: float = 0.0


def _answered_by(part: _Part, answered: Sequence[_Part]) -> bool:
    """True when a quote chosen for another part answers `part` too: it gives the kind of
    answer the part wants and speaks of its topic, all but one of its content terms ("The
    contract runs until 31 March 2028" answers "when does the contract end")."""
    kind = answer_kind(part.text)
    terms = {w.term for w in question_words(part.text)} - FRAMING_STEMS
    if kind is None or not terms:
        return False
    spare = 1 if len(terms) > 1 else 0
    return any(
        states_kind(c.sentence.text, kind) and len(terms - content_terms(c.sentence.text)) <= spare
        for other in answered
        for c in other.chosen
    )


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
        with tracing.model_call(operation="extract") as span:
            answer = self.compose(
                question=question, passages=passages, history=history, corpus=corpus_of(passages)
            )
            self._describe(span, answer)
        return answer

    def reuse(self, reading: ModelAnswer) -> ModelAnswer:
        """The answer, when the gate has already read the same passages for the same
        question with no earlier turns (`gate.read`): the reading is not done twice."""
        with tracing.model_call(operation="extract") as span:
            self._describe(span, reading)
        return reading

    def _describe(self, span: Any, answer: ModelAnswer) -> None:
        tracing.attributes(
            span,
            {
                "trellis.answer.backend": self.name,
                "trellis.answer.citations": len(answer.citations),
                "trellis.answer.confidence": answer.confidence,
            },
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
        if (summary := summarise(question, usable, self.name)) is not None:
            return summary
        sources = [Source(rank, passage) for rank, passage in enumerate(usable)]
        prepare_for(question, usable)  # at once when the caller prepared them (compose.py)
        idf = corpus.idf if corpus is not None and corpus.documents else None
        texts = question_parts(question)
        earlier = self._earlier_terms(history)
        documents = corpus.documents if idf is not None and corpus is not None else None
        singling = singling_weight(documents or len({p.doc_id for p in usable}))
        parts = []
        for index, text in enumerate(texts):
            others = {w.term for j, t in enumerate(texts) if j != index for w in question_words(t)}
            parts.append(self._answer_part(text, sources, idf, earlier | others, singling))
        answered = [p for p in parts if p.chosen and p.confidence >= self.part_support]
        if len(parts) == 1 or not answered:
            best = max(parts, key=lambda p: p.confidence)
            if not best.chosen:
                return no_answer(self.name)
            return _within_range(self._compose([best], []), question, usable)
        rest = [p for p in parts if all(p is not a for a in answered)]
        return self._compose(answered, [p for p in rest if not _answered_by(p, answered)])

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
        sources: Sequence[Source],
        idf: Callable[[str], float | None] | None,
        earlier: set[str] | frozenset[str],
        singling: float,
    ) -> _Part:
        words = question_words(text)
        documents = [set(source.terms) for source in sources]
        resolved = [(word, resolve(word, documents)) for word in words]
        terms = list(dict.fromkeys(t for _, found in resolved for t in found))
        names = {t for word, found in resolved if word.name_like for t in found}
        weights = TermWeights.for_question(
            terms, documents, framing=FRAMING_STEMS, corpus_idf=idf, missing_weight=MISSING_WEIGHT
        )
        if not weights.weights:
            return _Part(text)
        kind = answer_kind(text)
        candidates = scored_sentences(text, sources, weights, frozenset(earlier) - set(terms), kind)
        if not candidates:
            return _Part(text)
        chosen = select(
            candidates, max_sentences=self.max_sentences, max_documents=self.max_documents
        )
        conflict = conflicting(candidates, weights)
        if conflict:
            # Both sides of a disagreement are quoted, whatever else has to make room.
            others = [c for c in chosen if c not in conflict]
            room = max(self.max_sentences - len(conflict), 0)
            chosen = sorted([*conflict, *others[:room]], key=lambda c: c.order)
        chosen = with_continuation(chosen, sources)
        confidence = coverage(chosen, weights)
        confidence *= MISSING_NAME_FACTOR ** len(weights.missing & names)
        if kind and not any(states_kind(c.sentence.text, kind) for c in chosen):
            confidence *= MISSING_KIND_FACTOR
        if len(set(weights.weights) - FRAMING_STEMS) <= 1:
            confidence *= 0.8
        found = set().union(*(c.matched | c.context for c in chosen)) - weights.missing
        confidence *= min(1.0, weights.of(found) / singling)
        if conflict:
            confidence *= 0.85
        if all(c.passage.status == DocumentStatus.DEPRECATED for c in chosen):
            confidence *= 0.8
        return _Part(text, tuple(chosen), tuple(conflict), max(0.0, min(1.0, confidence)))

    # --- composing ---------------------------------------------------------------------------

    def _compose(self, parts: list[_Part], unanswered: list[_Part]) -> ModelAnswer:
        chosen: list[Candidate] = []
        conflict: list[Candidate] = []
        for part in parts:
            chosen += [c for c in part.chosen if not any(same(c, o) for o in chosen)]
            conflict += [c for c in part.conflict if not any(same(c, o) for o in conflict)]
        # One citation per document: its best quote; its other sentences carry its number.
        groups: dict[str, list[Candidate]] = {}
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


def _spans(members: list[Candidate]) -> list[list[Candidate]]:
    spans: list[list[Candidate]] = []
    for candidate in members:
        if spans and candidate.sentence.start - spans[-1][-1].sentence.end <= MERGE_GAP_CHARS:
            spans[-1].append(candidate)
        else:
            spans.append([candidate])
    return spans


def _plain(candidate: Candidate) -> str:
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
