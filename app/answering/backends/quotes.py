"""The sentences the extractive answerer quotes, and how they are chosen.

Every sentence, list item and table row of every usable passage is scored against one
part of a question (`scored_sentences`): the weights of the question terms it contains,
0.75 of the weight of terms found only in its context (document title, section heading,
the document's id or folder, a table header), a bonus for question word pairs it repeats
in order and for words of an earlier question or another part of this one. A part that
wants a kind of answer ("how long", "who", "where", see `answer_kind`) prefers sentences
that state one (x1.25, else /1.25). Current documents are preferred (deprecated x0.6,
draft x0.85), long sentences are damped, and the retriever's ranking breaks ties.

`select` keeps the best few: each after the first must cover a question term the others
do not, score at least half of the best, and not repeat an earlier one. `conflicting`
finds current documents whose best sentences give different figures for one thing, and
`with_continuation` adds the sentences around the best one in its section. `resolve`
says which terms a question word is looked for as, and `coverage` how much of the part
the chosen quotes cover.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from app.answering.base import describe_source
from app.answering.near_words import NearTable, surfaces
from app.answering.questions import states_kind
from app.answering.weights import TermWeights
from app.domain import DocumentStatus, Passage
from app.text.numbers import quantities
from app.text.sentences import Sentence, split_sentences
from app.text.words import (
    FRAMING_STEMS,
    STOPWORDS,
    QuestionWord,
    bigrams,
    content_term_set,
    question_sequence,
    stem,
    term_sequence,
)

STATUS_FACTOR: dict[str, float] = {
    DocumentStatus.CURRENT: 1.0,
    DocumentStatus.DRAFT: 0.85,
    DocumentStatus.DEPRECATED: 0.6,
}
CONTEXT_CREDIT = 0.75
"""Credit for a question term found only in the sentence's context (title, heading...)."""
KIND_BONUS = 1.25
"""Sentence score factor when the part wants a kind of answer and the sentence states one."""
MEANING_WEIGHT = 2.0
"""How much a sentence's similarity of meaning with the question counts, against the
weighted share of the question's words it contains (0..1)."""
MEANING_FLOOR = 0.35
"""A sentence sharing no word with the question is quoted only from this similarity up."""
RANK_STEP = 0.1
"""Each place further down the retrieval ranking costs a sentence this share of its score."""
CONTEXT_AFTER = 1
"""Sentences after the best one (same section) quoted with it."""
CONTEXT_BEFORE = 1
"""Sentences before the best one (same section) quoted with it."""
LISTED_ITEMS, LISTED_CHARS = 6, 400
"""At most this many lines, and characters past the first, of what a colon introduces."""


@dataclass(frozen=True)
class Source:
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
        return content_term_set(f"{describe_source(self.passage)}\n{names}")

    @cached_property
    def terms(self) -> frozenset[str]:
        return self.context_terms | content_term_set(self.passage.text)


@dataclass(frozen=True)
class Candidate:
    """A sentence that could answer a part of the question, with its score."""

    rank: int
    passage: Passage
    sentence: Sentence
    position: int
    matched: frozenset[str]
    context: frozenset[str]
    terms: frozenset[str]
    score: float
    header: Sentence | None = None
    near: tuple[tuple[str, float], ...] = ()
    """Question terms the sentence writes in other words, with their credit (0..1)."""

    @property
    def order(self) -> tuple[float, int, int]:
        return (-self.score, self.rank, self.position)


def scored_sentences(
    question: str,
    sources: Sequence[Source],
    weights: TermWeights,
    earlier: frozenset[str],
    kind: str | None,
) -> list[Candidate]:
    """Every sentence of `sources` that could answer `question`, best first."""
    asked = set(weights.weights)
    pairs = bigrams(question_sequence(question))
    near_table = NearTable.of(
        {
            t: w
            for t, w in surfaces(question).items()
            if t in asked and t not in FRAMING_STEMS and not t.isdigit()
        }
    )
    # Every word of the passages compared with the question's at once.
    near_table.compare(w for source in sources for w in surfaces(source.passage.text).values())
    candidates = []
    for source in sources:
        passage, rank = source.passage, source.rank
        heading_terms: frozenset[str] = frozenset()
        header: Sentence | None = None
        for position, sentence in enumerate(source.sentences):
            if sentence.is_heading:
                heading_terms = content_term_set(sentence.text)
                continue
            if sentence.kind == "header":
                header = sentence
                continue
            if sentence.kind != "row":
                header = None
            if len(sentence.text.split()) < 3:
                continue
            terms = content_term_set(sentence.text)
            matched = asked & terms
            meaning = _meaning(passage, sentence)
            near = near_table.sentence_credits(sentence.text, terms) if meaning > 0 else {}
            if not matched - FRAMING_STEMS and not near and meaning < MEANING_FLOOR:
                continue
            around = source.context_terms | heading_terms
            if header is not None:
                around = around | content_term_set(header.text)
            context = (asked & around) - matched
            words = weights.of(matched) + CONTEXT_CREDIT * weights.of(context)
            words += sum(
                weights.weights[t] * max(c - (CONTEXT_CREDIT if t in context else 0.0), 0.0)
                for t, c in near.items()
            )
            sequence = term_sequence(sentence.text)
            for left, right in pairs & bigrams(sequence):
                words += 0.25 * (weights.weights[left] + weights.weights[right])
            words += 0.3 * len(earlier & (terms | around))
            score = words / max(weights.total, 1e-9) + MEANING_WEIGHT * max(meaning, 0.0)
            if kind:
                score *= KIND_BONUS ** (1 if states_kind(sentence.text, kind, question) else -1)
            score *= STATUS_FACTOR.get(passage.status, 1.0)
            score /= 1.0 + max(0, len(sequence) - 35) / 35
            score *= 1.0 - RANK_STEP * min(rank, 10)
            candidates.append(
                Candidate(
                    rank=rank,
                    passage=passage,
                    sentence=sentence,
                    position=position,
                    matched=frozenset(matched),
                    context=frozenset(context),
                    terms=frozenset(terms),
                    score=score,
                    header=header,
                    near=tuple(sorted(near.items())),
                )
            )
    candidates.sort(key=lambda c: c.order)
    return candidates


def select(
    candidates: list[Candidate], *, max_sentences: int, max_documents: int
) -> list[Candidate]:
    """The best candidate and the few others that add a question term to it."""
    best = candidates[0]
    chosen = [best]
    covered = set(best.matched)
    documents = {best.passage.doc_id}
    for candidate in candidates[1:]:
        if len(chosen) >= max_sentences or candidate.score < 0.5 * best.score:
            break
        if candidate.passage.doc_id not in documents and (
            len(documents) >= max_documents or candidate.score < 0.7 * best.score
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


def conflicting(candidates: list[Candidate], weights: TermWeights) -> list[Candidate]:
    """The best sentences of current documents that state different figures for one thing.

    Two documents conflict when their best sentences are both strong answers (each at
    least 60% of the top score), match mostly the same question terms, and give
    disjoint values for the same counted thing ("25 days" against "20 days").
    """
    top = candidates[0].score
    best_by_doc: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate.passage.status == DocumentStatus.CURRENT:
            best_by_doc.setdefault(candidate.passage.doc_id, candidate)
    strong = [c for c in best_by_doc.values() if c.score >= 0.6 * top]
    clashing: list[Candidate] = []
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


def _meaning(passage: Passage, sentence: Sentence) -> float:
    """The similarity of meaning of the segment holding `sentence` (0 without vectors)."""
    best = 0.0
    for start, end, similarity in passage.segment_scores:
        if start <= sentence.start < end or start < sentence.end <= end:
            best = max(best, similarity)
    return best


def resolve(word: QuestionWord, documents: Sequence[set[str]]) -> list[str]:
    """The term(s) to look for: the word itself, or the words of a compound the sources
    only write apart ("locked out" -> "lock" when no source says "locked out")."""
    parts = word.surface.split()
    if len(parts) < 2 or any(word.term in d for d in documents):
        return [word.term]
    stems = [stem(p) for p in parts if p not in STOPWORDS and len(p) > 1]
    found = [s for s in stems if any(s in d for d in documents)]
    return found or [word.term]


def coverage(chosen: Sequence[Candidate], weights: TermWeights) -> float:
    """The best single quote's coverage plus half of what the other quotes of its document
    add to it. Quotes from other documents do not add: scattered words matched across
    unrelated documents are not an answer."""

    def covered(group: Sequence[Candidate]) -> float:
        matched = set().union(*(c.matched for c in group))
        context = set().union(*(c.context for c in group))
        near: dict[str, float] = {}
        for candidate in group:
            for term, credit in candidate.near:
                near[term] = max(near.get(term, 0.0), credit)
        return weights.coverage(matched, context, partial_credit=CONTEXT_CREDIT, credits=near)

    best = max(chosen, key=lambda c: covered([c]))
    single = covered([best])
    together = covered([c for c in chosen if c.passage.doc_id == best.passage.doc_id])
    return single + 0.5 * (together - single)


def with_continuation(chosen: list[Candidate], sources: Sequence[Source]) -> list[Candidate]:
    """The chosen quotes, with the sentences around the best one: the one after it (it
    often carries the figure or the condition: "They issue a code...", "The limit is...",
    or a question's answer in the next paragraph), and up to `CONTEXT_BEFORE` before it.
    They may lie across a paragraph break, but not across a heading or in a table. A
    quote of the surrounding sentences costs a reader a line; a quote that stops short of
    the fact costs trust (bench/RESULTS.md: across paragraph breaks, +2 to +3.5 points of
    right answers on the real corpora, answers a quarter longer). Any quote that ends with
    a colon is followed by what it introduces (`_listed_after`)."""
    best = chosen[0]
    source = next(s for s in sources if s.passage is best.passage)
    listed = _listed_after(source.passage.text, source.sentences, best.position)
    if not listed and best.position + 1 < len(source.sentences):
        # The sentence after it introduces a list ("The platforms are:"): both are quoted.
        following = _listed_after(source.passage.text, source.sentences, best.position + 1)
        listed = [best.position + 1, *following] if following else []
    wanted = listed or [best.position + 1 + i for i in range(CONTEXT_AFTER)]
    wanted += [best.position - 1 - i for i in range(CONTEXT_BEFORE)]
    around = [
        position
        for position in wanted
        if 0 <= position < len(source.sentences)
        and best.sentence.kind == source.sentences[position].kind == "sentence"
        and (position in listed or says_something(source.sentences[position].text))
    ]
    quoted = [best, *(_quoted_with(best, source, position) for position in around)]
    for candidate in chosen[1:]:
        quoted.append(candidate)
        source = next(s for s in sources if s.passage is candidate.passage)
        listed = _listed_after(source.passage.text, source.sentences, candidate.position)
        quoted += [_quoted_with(candidate, source, position) for position in listed]
    # Each sentence once; one chosen on its own merits keeps its place (its terms count).
    kept: list[Candidate] = []
    for c in quoted:
        own = c in chosen or not any(same(c, o) for o in chosen)
        if own and not any(same(c, o) for o in kept):
            kept.append(c)
    return kept


def _quoted_with(quote: Candidate, source: Source, position: int) -> Candidate:
    """The sentence at `position` of `quote`'s passage, quoted with it (no coverage)."""
    sentence = source.sentences[position]
    return Candidate(
        rank=quote.rank,
        passage=quote.passage,
        sentence=sentence,
        position=position,
        matched=frozenset(),
        context=frozenset(),
        terms=content_term_set(sentence.text),
        score=quote.score,
        header=None,
    )


def _listed_after(text: str, sentences: Sequence[Sentence], position: int) -> list[int]:
    """The positions of what a sentence ending with a colon introduces ("Links can be made
    to:" and its list "GitHub Sponsors", "Polar"), which it promises and stops short of:
    the lines after it, within `LISTED_ITEMS` and `LISTED_CHARS`, not past a heading, a
    table, a question, or a sentence after items that are not sentences (the paragraph
    after the list). Empty for any other sentence."""
    lead = sentences[position]
    if lead.kind != "sentence" or not lead.text.rstrip().strip("*_").endswith(":"):
        return []
    listed: list[int] = []
    lines = chars = 0
    end = lead.end
    fragments = False  # items that are not sentences: a sentence after them ends the list
    for following in range(position + 1, len(sentences)):
        sentence = sentences[following]
        said = sentence.text.rstrip()
        if sentence.kind != "sentence" or said.endswith("?"):
            break
        new_line = "\n" in text[end : sentence.start]  # a sentence on a line of its own
        lines += new_line
        chars += len(sentence.text) if listed else 0
        if lines > LISTED_ITEMS or chars > LISTED_CHARS:
            break
        if new_line and fragments and said.endswith((".", "!")):
            break
        fragments = fragments or (lines == 1 and not said.endswith((".", "!", ";")))
        listed.append(following)
        end = sentence.end
    return listed


_NAVIGATION = re.compile(r"^\W*(?:[<«←‹]|(?:next|previous|back|prev)\b)|[>»→›]\W*$", re.IGNORECASE)
"""A page's links to the next or previous page: "Next to Complete your profile >"."""
CONTEXT_WORDS = 5
"""Fewer words than this, with no full stop and no figure, make a title or a call to action
("Staff Parking", "Work your week!"), not a fact to quote beside the best sentence."""


def says_something(text: str) -> bool:
    """Whether a sentence next to the best one is worth quoting with it: not a question
    (another topic's heading, in handbooks and FAQs), not a page's navigation, not a line
    that introduces what follows (it ends with a colon), and not a title. A short sentence
    that ends with a full stop ("Yes.", "Bring photo ID.") or holds a figure ("Year 4:
    $200") is kept."""
    plain = text.strip().strip("*_").strip()
    if not plain or plain[-1] in "?:" or _NAVIGATION.search(plain):
        return False
    short = len(plain.split()) < CONTEXT_WORDS
    return not short or plain.endswith(".") or any(ch.isdigit() for ch in plain)


def same(a: Candidate, b: Candidate) -> bool:
    return a.passage.chunk_id == b.passage.chunk_id and a.sentence.start == b.sentence.start


def _similar(a: Candidate, b: Candidate) -> bool:
    """Near-duplicates: the same sentence in two chunks, or mostly the same words."""
    if a.sentence.text == b.sentence.text:
        return True
    union = a.terms | b.terms
    return bool(union) and len(a.terms & b.terms) / len(union) >= 0.7
