"""CPU of a question nobody's documents answer: the gate's reading and the owners' reading.

    python3 bench/no_answer_reading.py [REPEATS]

A question the gate turns down is read again, one owned document at a time, to find the
owners it should go to (`compose.about_question`). On the bundled demo workspace, the
golden set's questions are searched once; then the gate's reading and `about_question`
run on the same passages by three builds, alternating: `before` (every owned document
read, each reading comparing the question's words with the sentences' words afresh),
`kept comparisons` (one question's word comparisons kept across its readings) and `now`
(that, and documents too far from the question in meaning not read at all); each question
starts afresh. The median of REPEATS rounds is printed.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from demo_index import EVERYONE, demo_index

from app.answering import compose, gate, near_words
from app.knowledge.search import search

READINGS = 10
"""Readings of every question in one round."""


@contextmanager
def build(label: str) -> Iterator[None]:
    """`before`: both changes undone; `kept comparisons`: only the second one made."""
    ceiling, of = gate.ceiling, near_words.NearTable.of
    if label != "now":
        gate.ceiling = lambda passages: 1.0  # type: ignore[assignment]
    if label == "before":
        near_words.NearTable.of = classmethod(lambda cls, asked: cls(asked))  # type: ignore[assignment]
    try:
        yield
    finally:
        gate.ceiling, near_words.NearTable.of = ceiling, of  # type: ignore[method-assign]


async def main(repeats: int) -> None:
    workspace, database = await demo_index()
    scope = EVERYONE
    found = []
    for case in workspace.evals:
        passages = await search(database, query=case.question, scope=scope)
        near_words.prepare_for(case.question, passages)
        inputs, _ = gate.read(case.question, passages)
        if gate.confidence(inputs) < workspace.config.answers.min_confidence:
            found.append((case.question, passages))
    with build("before"):
        owners_before = [compose.about_question(q, p) for q, p in found]
    rounds: dict[str, list[float]] = {"before": [], "kept comparisons": [], "now": []}
    for _ in range(repeats):
        for label in rounds:
            with build(label):
                started = time.process_time()
                for _ in range(READINGS):
                    for question, passages in found:
                        near_words._table.cache_clear()  # each question read as new
                        gate.read(question, passages)
                        compose.about_question(question, passages)
                spent = time.process_time() - started
            rounds[label].append(spent / (READINGS * len(found)) * 1000)
    same = owners_before == [compose.about_question(q, p) for q, p in found]
    print(f"{len(found)} questions the gate turns down; the same owners found: {same}")
    before = statistics.median(rounds["before"])
    for label, times in rounds.items():
        median = statistics.median(times)
        print(f"{label:16} {median:.2f} ms CPU per question (ratio {median / before:.2f})")
    await database.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
