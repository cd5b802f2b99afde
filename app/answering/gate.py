"""The "I don't know" gate: how likely the retrieved passages answer the question.

No answer beats a wrong one, so before any answer is shown (by either backend) the gate
turns three measurements into one probability, the answer's `confidence`:

    similarity   the best segment's cosine similarity with the question (meaning)
    coverage     how much of the question the best passages' words cover, weighted by how
                 specific each word is across the audience's documents (the extractive
                 answerer's coverage, see `extractive.py`): names and rare words that no
                 passage mentions pull it down, and so does matching only words many
                 documents use
    judged       the judge's logit for the quotes the reading would give, read together
                 with the question by a cross-encoder (`judge.py`): quotes on the
                 question's topic that do not state what it asks score low

`confidence = 0.85^unanswered parts / (1 + exp(-(w0 + w1 similarity + w2 coverage + w3
judged)))`: a logistic model of "the answer would be right", fitted on every measured
corpus and checked on each with weights fitted on the others, leaving it out
(bench/fit_gate.py --train all; bench/RESULTS.md, "The judge"). Summed over the nine
corpora (480 cases, each judged by weights fitted without it), at the default threshold
it gave 189 right answers, 60 wrong ones and 110 wrongly refused questions, against 178,
65 and 119 for the same fit without the judge: more right answers, fewer wrong ones and
fewer refusals at once. With the judge, words count for half as much (w2 from 3.2 to 1.6):
the judge reads them better.
`answers.min_confidence` in trellis.yml is the threshold; its default, 0.5, answers when
right is likelier than not.

Without the judge's model (see `judge.py`) the two-input model (`WEIGHTS`) decides, as
before the judge; it also reads each document for the owners of a question nobody could
answer (`compose.about_question`), where judging every document would cost a model run each.

`standing` (how many standard deviations the best segment stands above the typical one
in scope) is measured and logged, but left out of the model: it grows with the size of
the corpus, so weights fitted on one workspace would not carry to another. Without
vectors (`retrieval: keyword`) a model of the coverage alone, fitted the same way, decides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from app.answering.backends.written import UNANSWERED_PART_FACTOR
from app.answering.base import NOTE_UNANSWERED
from app.answering.citations import without_markers
from app.answering.corpus import corpus_of, evidence_of
from app.answering.judge import shared_judge
from app.domain import ModelAnswer, Passage, Turn

JUDGED_WEIGHTS = (-2.680, 3.444, 1.590, 0.174)
"""(intercept, similarity, coverage, judged), fitted by bench/fit_gate.py on every corpus:
the gate that decides whether an answer is shown."""
WEIGHTS = (-5.342, 7.249, 3.201)
"""(intercept, similarity, coverage), fitted by bench/fit_gate.py on every corpus: the gate
without the judge (when its model is missing), and the reading of each document for the
owners of a question nobody answered (`compose.about_question`, which does not run the
judge for every document)."""
DOCUMENT_WEIGHTS = (-4.688, 4.395, 6.392)
"""The weights the drafter judges each document by, for one section of a request (a
customer's facts, the policy for its kind): fitted on python-faq, as the answer gate's
were before it was fitted across every corpus. There a request's words matter more than
its meaning: another customer's summary is as near in meaning to "Alpine Co." as
Alpine's own, and with the answer gate's weights it passed for Alpine's reply."""
KEYWORD_WEIGHTS = (-2.354, 7.441)
"""(intercept, coverage) for indexes without vectors, fitted the same way."""
KEYWORD_EVEN_COVERAGE = -KEYWORD_WEIGHTS[0] / KEYWORD_WEIGHTS[1]
"""The coverage at which the keyword model calls an answer as likely right as not (0.316)."""


@dataclass(frozen=True)
class GateInputs:
    similarity: float
    standing: float
    coverage: float
    has_vectors: bool
    unanswered_parts: int = 0
    judged: float | None = None
    """The judge's logit for the reading's quotes as an answer to the question
    (`judge.py`); None when it did not read them (no vectors, no quotes, no model)."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def gate_inputs(
    question: str, passages: Sequence[Passage], *, history: Sequence[Turn] = ()
) -> GateInputs:
    """The gate's measurements: the evidence retrieval gathered, and the extractive
    answerer's reading of the passages (its coverage, and the parts it found nothing for)."""
    return read(question, passages, history=history)[0]


def read(
    question: str, passages: Sequence[Passage], *, history: Sequence[Turn] = ()
) -> tuple[GateInputs, ModelAnswer]:
    """The gate's measurements and the extractive reading they come from, which is also
    the offline answer. A follow-up in a thread is read with the thread's earlier turns,
    as the answer to it is composed: the gate judges the quotes that would be shown."""
    evidence = evidence_of(passages)
    from app.answering.backends.extractive import ExtractiveAnswerer

    reading = ExtractiveAnswerer().compose(
        question=question, passages=passages, history=history, corpus=corpus_of(passages)
    )
    unanswered = sum(
        int(note.split(":")[1]) for note in reading.notes if note.startswith(NOTE_UNANSWERED)
    )
    # Vectors count only when some segment was actually compared with the question.
    vectors = evidence if evidence is not None and evidence.best_similarity != 0.0 else None
    inputs = GateInputs(
        similarity=vectors.best_similarity if vectors is not None else 0.0,
        standing=vectors.standing if vectors is not None else 0.0,
        coverage=reading.confidence,
        has_vectors=vectors is not None,
        unanswered_parts=unanswered,
    )
    return inputs, reading


def judged(
    question: str, inputs: GateInputs, reading: ModelAnswer, *, history: Sequence[Turn] = ()
) -> GateInputs:
    """`inputs` with the judge's reading of the quotes (blocking: the model runs; use a
    thread). Only with vectors: an index without them has no model to judge with either.
    A follow-up is judged after the thread's last question, as it was searched: "By when
    do I have to take them?" says nothing of what "them" are."""
    if not inputs.has_vectors or inputs.coverage <= 0.0:
        return inputs
    asked = " ".join([*(turn.question for turn in history[-1:]), question])
    return replace(
        inputs, judged=shared_judge().score(asked, without_markers(reading.text).strip())
    )


def ceiling(passages: Sequence[Passage]) -> float:
    """The most `confidence` can give these passages, whatever the reading finds in them
    (the reading's coverage is at most 1): with vectors, their best similarity bounds it;
    without, nothing does (1)."""
    evidence = evidence_of(passages)
    if evidence is None or evidence.best_similarity == 0.0:
        return 1.0
    w0, w1, w2 = WEIGHTS
    return 1.0 / (1.0 + math.exp(-(w0 + w1 * evidence.best_similarity + w2)))


def confidence(inputs: GateInputs, weights: tuple[float, float, float] | None = None) -> float:
    """The probability that an answer from these passages is right (0 with no coverage:
    nothing to quote). `weights`: (intercept, similarity, coverage) with vectors, in place
    of the judged model (`JUDGED_WEIGHTS`, when the judge read the quotes) or `WEIGHTS`."""
    if inputs.coverage <= 0.0:
        return 0.0
    if inputs.has_vectors and weights is None and inputs.judged is not None:
        w0, w1, w2, w3 = JUDGED_WEIGHTS
        z = w0 + w1 * inputs.similarity + w2 * inputs.coverage + w3 * inputs.judged
    elif inputs.has_vectors:
        w0, w1, w2 = weights or WEIGHTS
        z = w0 + w1 * inputs.similarity + w2 * inputs.coverage
    else:
        w0, w1 = KEYWORD_WEIGHTS
        z = w0 + w1 * inputs.coverage
    return UNANSWERED_PART_FACTOR**inputs.unanswered_parts / (1.0 + math.exp(-z))
