"""CPU of the gate's reading of a follow-up, read alone and read with its thread.

    python3 bench/follow_up_reading.py [REPEATS]

A follow-up in a thread is read twice (on its own words, and with the earlier question's
words, app/answering/backends/extractive.py), where before this it was read once, alone.
On the bundled demo workspace, a few follow-ups are searched once as the pipeline searches
them (the earlier question in front), then `gate.read` runs on the same passages alone and
with the thread, alternating, and the median of REPEATS rounds is printed for each.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from demo_index import EVERYONE, demo_index

from app.answering import gate, near_words
from app.domain import Turn
from app.knowledge.search import search

THREADS = [
    ("How many unused PTO days carry over into next year?", "By when do I have to take them?"),
    ("When is Trail Day in 2026?", "Is the office closed that day?"),
    ("Can a customer return unused gear after 30 days?", "And gear used outdoors?"),
    ("Who approves a wholesale discount of up to 10%?", "And above 25%?"),
]
READINGS = 40
"""Readings of every follow-up in one round."""


async def main(repeats: int) -> None:
    workspace, database = await demo_index()
    scope = EVERYONE
    found = []
    for earlier, follow_up in THREADS:
        passages = await search(database, query=f"{earlier} {follow_up}", scope=scope)
        near_words.prepare_for(follow_up, passages)
        found.append((earlier, follow_up, passages))
    rounds: dict[str, list[float]] = {"alone": [], "with the thread": []}
    for _ in range(repeats):
        for label in rounds:
            started = time.process_time()
            for _ in range(READINGS):
                for earlier, follow_up, passages in found:
                    history = (Turn(earlier, ""),) if label != "alone" else ()
                    gate.read(follow_up, passages, history=history)
            spent = time.process_time() - started
            rounds[label].append(spent / (READINGS * len(found)) * 1000)
    alone = statistics.median(rounds["alone"])
    for label, times in rounds.items():
        median = statistics.median(times)
        print(f"{label:16} {median:.2f} ms CPU per reading (ratio {median / alone:.2f})")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
