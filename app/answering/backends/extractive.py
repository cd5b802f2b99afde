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

A follow-up in a thread
    "And for a plain list?" after "How do I copy an object?" takes its topic from the
    thread. Each part is read twice, on its own words and with the earlier question's
    content words added at half their weight (`THREAD_WEIGHT`), and the reading with the
    higher confidence answers. In the thread's reading the earlier words help choose the
    sentences, but the follow-up's own content words, when it has any, judge them: a quote
    that speaks only of the thread's topic does not answer "Which version should we pick?".
    A follow-up asking for a kind of answer ("How long does that take?", "Who signs it?")
    is not answered in the thread's reading by quotes that state none.

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
    issue a code") is quoted with it. `written.py` writes the chosen quotes out as the
    answer, one citation per document.

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
from typing import Any

from app.answering.backends.quotes import (
    Source,
    conflicting,
    coverage,
    resolve,
    scored_sentences,
    select,
    with_continuation,
)
from app.answering.backends.summary import summarise
from app.answering.backends.written import Part, within_range, written
from app.answering.base import drop_superseded, no_answer
from app.answering.corpus import CorpusStatistics, corpus_of
from app.answering.near_words import prepare_for
from app.answering.questions import answer_kind, question_parts, states_kind
from app.answering.weights import TermWeights, singling_weight
from app.domain import DocumentStatus, ModelAnswer, Passage, Turn
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
THREAD_WEIGHT = 0.5
"""How much the earlier question's words weigh in reading a follow-up, against its own."""


def _answered_by(part: Part, answered: Sequence[Part]) -> bool:
    """True when a quote chosen for another part answers `part` too: it gives the kind of
    answer the part wants and speaks of its topic, all but one of its content terms ("The
    contract runs until 31 March 2028" answers "when does the contract end")."""
    kind = answer_kind(part.text)
    terms = {w.term for w in question_words(part.text)} - FRAMING_STEMS
    if kind is None or not terms:
        return False
    spare = 1 if len(terms) > 1 else 0
    return any(
        states_kind(c.sentence.text, kind, part.text)
        and len(terms - content_terms(c.sentence.text)) <= spare
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
        question and earlier turns (`gate.read`): the reading is not done twice."""
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
            part = self._answer_part(text, sources, idf, earlier | others, singling)
            if earlier:
                # A follow-up takes its topic from the thread ("And for a plain list?"
                # after "How do I copy an object?"): read with the earlier question's
                # words too, it is answered when that reading supports it better.
                threaded = self._answer_part(text, sources, idf, others, singling, earlier)
                part = max(part, threaded, key=lambda p: p.confidence)
            parts.append(part)
        answered = [p for p in parts if p.chosen and p.confidence >= self.part_support]
        if len(parts) == 1 or not answered:
            best = max(parts, key=lambda p: p.confidence)
            if not best.chosen:
                return no_answer(self.name)
            return within_range(written([best], [], self.name), question, usable)
        rest = [p for p in parts if all(p is not a for a in answered)]
        return written(answered, [p for p in rest if not _answered_by(p, answered)], self.name)

    # --- scoring -----------------------------------------------------------------------------

    @staticmethod
    def _earlier_terms(history: Sequence[Turn]) -> frozenset[str]:
        """Content terms of the previous question, which give a short follow-up its topic."""
        if not history:
            return frozenset()
        return frozenset(w.term for w in question_words(history[-1].question)) - FRAMING_STEMS

    def _answer_part(
        self,
        text: str,
        sources: Sequence[Source],
        idf: Callable[[str], float | None] | None,
        earlier: set[str] | frozenset[str],
        singling: float,
        thread: frozenset[str] = frozenset(),
    ) -> Part:
        words = question_words(text)
        documents = [set(source.terms) for source in sources]
        resolved = [(word, resolve(word, documents)) for word in words]
        terms = list(dict.fromkeys(t for _, found in resolved for t in found))
        names = {t for word, found in resolved if word.name_like for t in found}
        own = TermWeights.for_question(
            terms, documents, framing=FRAMING_STEMS, corpus_idf=idf, missing_weight=MISSING_WEIGHT
        )
        weights = judged = own
        if thread - set(terms):
            # The thread's words choose the sentences; the follow-up's own words, when it
            # has any, judge them: "Which version should we pick?" is not answered by a
            # quote that only speaks of the thread's code of conduct.
            weights = own.with_context(
                TermWeights.for_question(list(thread - set(terms)), documents, corpus_idf=idf),
                THREAD_WEIGHT,
            )
            terms += [t for t in weights.weights if t not in terms]
            if not set(own.weights) - FRAMING_STEMS:
                judged = weights
        if not weights.weights:
            return Part(text)
        kind = answer_kind(text)
        candidates = scored_sentences(text, sources, weights, frozenset(earlier) - set(terms), kind)
        if not candidates:
            return Part(text)
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
        confidence = coverage(chosen, judged)
        confidence *= MISSING_NAME_FACTOR ** len(judged.missing & names)
        if kind and not any(states_kind(c.sentence.text, kind, text) for c in chosen):
            if weights is not own:
                # Read in the thread, the topic is the thread's; what the follow-up adds is
                # the kind of answer it wants ("How long does that take?"): unstated, the
                # follow-up is not answered.
                return Part(text)
            confidence *= MISSING_KIND_FACTOR
        if len(set(judged.weights) - FRAMING_STEMS) <= 1:
            confidence *= 0.8
        found = set().union(*(c.matched | c.context for c in chosen)) - judged.missing
        confidence *= min(1.0, judged.of(found) / singling)
        if conflict:
            confidence *= 0.85
        if all(c.passage.status == DocumentStatus.DEPRECATED for c in chosen):
            confidence *= 0.8
        return Part(text, tuple(chosen), tuple(conflict), max(0.0, min(1.0, confidence)))
