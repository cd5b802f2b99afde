"""CPU of the gate's reading of a question (the offline answer's reading), on the demo.

    python3 bench/reading_cpu.py [ROUNDS]
    PYTHONPATH=OTHER_TREE python3 OTHER_TREE/bench/reading_cpu.py   # a build to compare

The golden set's questions are searched once as a reader of the demo's everyday documents;
then each is read by the gate (`gate.read`: sentence choice, coverage, the answer's text)
as a new question (word comparisons kept for an earlier question are dropped first), five
times a round, and the median over ROUNDS of the event loop thread's CPU per reading is
printed. Builds are compared by running each in turn, several times, alternating.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from demo_index import demo_index, golden_passages

from app.answering import gate, near_words

READINGS = 5
"""Readings of every question in one round."""


def as_new() -> None:
    """Drop what an earlier reading of the same question kept (not in older builds)."""
    table = getattr(near_words, "_table", None)
    if table is not None:
        table.cache_clear()


async def main(rounds: int) -> None:
    workspace, database = await demo_index()
    found = await golden_passages(workspace, database)
    spent = []
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(READINGS):
            for question, passages in found:
                as_new()
                gate.read(question, passages)
        spent.append((time.thread_time() - started) / (READINGS * len(found)) * 1000)
    print(f"{len(found)} questions: {statistics.median(spent):.2f} ms CPU per reading")
    await database.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6))
