"""Peak memory of building the in-process search index, without the model or a database.

    python3 bench/index_memory.py [--chunks 40000] [--segments 4] [--repeats 3]

Synthetic rows shaped like what ingest stores (about 120 stems per chunk, `--segments`
vectors of 384 float16 values per chunk) are built into a `SearchIndex` in a fresh child
process each time, a batch at a time as `search` reads them from the database; the child
prints its resident memory before the first batch, with the index built, and its peak.
The medians of the repeats are printed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys

import numpy as np


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(chunks: int, segments: int) -> None:
    from app.db.repositories.knowledge import INDEX_BATCH, IndexRow
    from app.knowledge.embeddings import DIMENSIONS
    from app.knowledge.index import IndexBuilder

    rng = random.Random(7)
    words = [f"w{i}" for i in range(20000)]
    vectors = np.random.default_rng(7).standard_normal((segments, DIMENSIONS)).astype(np.float16)

    def rows(first: int, count: int) -> list[IndexRow]:
        return [
            IndexRow(
                i,
                f"doc-{i // 4}",
                f"Title {i // 4}",
                "Heading",
                " ".join(rng.choices(words, k=120)),
                [[k * 100, k * 100 + 90] for k in range(segments)],
                (vectors + np.float16(i % 7)).tobytes(),
            )
            for i in range(first, min(first + count, chunks))
        ]

    # As `search` builds it: the rows come from the database a batch at a time.
    before = _rss_mb()
    builder = IndexBuilder(chunks * segments)
    for first in range(0, chunks, INDEX_BATCH):
        builder.add(rows(first, INDEX_BATCH))
    index = builder.build(1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    built = _rss_mb()
    print(
        json.dumps(
            {"before_mb": before, "peak_mb": peak, "built_mb": built, "vectors": len(index.vectors)}
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=40000)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.chunks, args.segments)
        return 0
    runs = []
    for _ in range(args.repeats):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                f"--chunks={args.chunks}",
                f"--segments={args.segments}",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.chunks} chunks x {args.segments} segments, median of {args.repeats}")
    for figure in ("before_mb", "built_mb", "peak_mb"):
        print(f"{figure:10} {statistics.median(r[figure] for r in runs):8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
