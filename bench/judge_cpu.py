"""What the judge costs per answer: one run of the cross-encoder over question and quotes.

    python3 bench/judge_cpu.py [ROUNDS]

The golden set's questions are searched and read as `reading_cpu.py` does; then the judge
(`app/answering/judge.py`) scores each reading's quotes with nothing kept from an earlier
score, as a new question would be. Prints, per answer, the median over ROUNDS of the
process's CPU and of the wall time, and the judge's tokens (question and quotes together,
at most `judge.MAX_TOKENS`). `question_cpu.py` and `slack_load.py` ask the same questions
again and again, so the judge's kept scores hide its cost there; this is its cost for a
question never asked.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from demo_index import demo_index, golden_passages

from app.answering import gate, judge
from app.answering.citations import without_markers


async def main(rounds: int) -> None:
    workspace, database = await demo_index()
    pairs = []
    for question, passages in await golden_passages(workspace, database):
        _, reading = gate.read(question, passages)
        if reading.text:
            pairs.append((question, without_markers(reading.text).strip()))
    model = judge.AnswerJudge(cache_size=0)
    model.warm_up()
    cpu, wall = [], []
    for _ in range(rounds):
        started, started_wall = time.process_time(), time.perf_counter()
        for question, quote in pairs:
            model.score(question, quote)
        cpu.append((time.process_time() - started) / len(pairs) * 1000)
        wall.append((time.perf_counter() - started_wall) / len(pairs) * 1000)
    tokenizer = model._tokenizer
    tokens = [len(tokenizer.encode(q, a).ids) for q, a in pairs] if tokenizer else [0]
    print(
        f"{len(pairs)} answers: {statistics.median(cpu):.1f} ms CPU, "
        f"{statistics.median(wall):.1f} ms wall per answer judged "
        f"({statistics.median(tokens):.0f} tokens, median)"
    )
    await database.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
