"""Time of one hybrid ranking by the in-process search index, source trees side by side.

    python3 bench/rank_speed.py [--chunks 100000] [--segments 1] [--questions 200]
                                [--repeats 3] [--tree PATH[=LABEL] ...]

Synthetic rows (about 60 stems per chunk from a 20,000-word vocabulary, `--segments`
random unit vectors per chunk) are built into a `SearchIndex` in a fresh child process per
tree and repeat, with that tree first on the import path; the child then ranks
`--questions` seeded questions (two to four words and a random unit vector each) for one
audience that may see about half of the documents, and prints the p50 and p95 of
`SearchIndex.rank` in ms. Trees alternate within each repeat; the medians are printed.
No database and no model: this is the ranking alone (bench/latency.py times the whole
search and answer).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def child(chunks: int, segments: int, questions: int) -> None:
    from app.db.repositories.knowledge import IndexRow
    from app.knowledge.embeddings import DIMENSIONS
    from app.knowledge.index import SearchIndex

    rng = random.Random(7)
    vectors = np.random.default_rng(7)
    words = [f"w{i}" for i in range(20000)]

    def units(count: int) -> np.ndarray:
        rows = vectors.standard_normal((count, DIMENSIONS)).astype(np.float32)
        unit: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return unit

    rows = [
        IndexRow(
            i,
            f"doc-{i // 4:06d}",
            f"Title {i // 4}",
            "Heading",
            " ".join(rng.choices(words, k=60)),
            [[k * 100, k * 100 + 90] for k in range(segments)],
            units(segments).astype(np.float16).tobytes(),
        )
        for i in range(chunks)
    ]
    index = SearchIndex(rows, 1)
    del rows
    allowed = [doc for number, doc in enumerate(index.doc_ids) if number % 2 == 0]
    asked = [
        (" ".join(rng.choices(words, k=rng.randint(2, 4))), units(1)[0]) for _ in range(questions)
    ]
    index.rank(query=asked[0][0], allowed_docs=allowed, question_vector=asked[0][1], limit=8)
    times = []
    for query, vector in asked:
        start = time.perf_counter()
        index.rank(query=query, allowed_docs=allowed, question_vector=vector, limit=8)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(json.dumps({"p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95)]}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100000)
    parser.add_argument("--segments", type=int, default=1)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", action="append", help="PATH or PATH=LABEL (repeatable)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.chunks, args.segments, args.questions)
        return 0
    trees = [spec.partition("=") for spec in args.tree or [str(ROOT)]]
    results: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for path, _, label in trees:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    f"--chunks={args.chunks}",
                    f"--segments={args.segments}",
                    f"--questions={args.questions}",
                ],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(Path(path).resolve())},
            )
            results.setdefault(label or path, []).append(json.loads(out.stdout.splitlines()[-1]))
    print(f"{args.chunks} chunks x {args.segments} segments, medians of {args.repeats}, ms")
    for label, runs in results.items():
        p50 = statistics.median(r["p50"] for r in runs)
        p95 = statistics.median(r["p95"] for r in runs)
        print(f"{label:12} rank p50 {p50:7.2f}  p95 {p95:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
