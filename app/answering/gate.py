"""The "I don't know" gate: how likely the retrieved passages answer the question.

No answer beats a wrong one, so before any answer is shown (by either backend) the gate
turns three measurements into one probability, the answer's `confidence`:

    similarity   the best segment's cosine similarity with the question (meaning)
    standing     how many standard deviations that segment stands above the typical
                 segment the audience may see: a question about something the documents
                 never discuss finds nothing that stands out, whatever its raw score
    coverage     how much of the question the best passages' words cover, weighted by how
                 specific each word is across the audience's documents (the extractive
                 answerer's coverage, see `extractive.py`): names and rare words that no
                 passage mentions pull it down

`confidence = 1 / (1 + exp(-(w0 + w1*similarity + w2*standing + w3*coverage)))`, a
logistic model whose weights were fitted on one corpus and checked on the others (see
bench/RESULTS.md, "The gate"); `answers.min_confidence` in trellis.yml is the threshold.
Without vectors (`retrieval: keyword`) the coverage alone decides, as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from app.answering.corpus import corpus_of, evidence_of
from app.domain import Passage

WEIGHTS = (-6.0, 6.0, 0.5, 4.0)
"""(intercept, similarity, standing, coverage): fitted by bench/fit_gate.py."""


@dataclass(frozen=True)
class GateInputs:
    similarity: float
    standing: float
    coverage: float
    has_vectors: bool

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def gate_inputs(
    question: str, passages: Sequence[Passage], *, coverage: float | None = None
) -> GateInputs:
    """The gate's measurements; `coverage` when the extractive answer already gave it."""
    evidence = evidence_of(passages)
    if coverage is None:
        from app.answering.extractive import ExtractiveAnswerer

        coverage = ExtractiveAnswerer().compose(
            question=question, passages=passages, corpus=corpus_of(passages)
        ).confidence
    has_vectors = evidence is not None and evidence.best_similarity != 0.0
    return GateInputs(
        similarity=evidence.best_similarity if has_vectors else 0.0,
        standing=evidence.standing if has_vectors else 0.0,
        coverage=coverage,
        has_vectors=has_vectors,
    )


def confidence(inputs: GateInputs) -> float:
    """The probability that an answer from these passages is right."""
    if not inputs.has_vectors:
        return inputs.coverage
    w0, w1, w2, w3 = WEIGHTS
    z = w0 + w1 * inputs.similarity + w2 * inputs.standing + w3 * inputs.coverage
    return 1.0 / (1.0 + math.exp(-z))
