"""Peak memory of building the in-process search index, without the model or a database.

    python3 bench/index_memory.py [--chunks 40000] [--segments 4] [--repeats 3]

Synthetic rows shaped like what ingest stores (about 120 stems per chunk, `--segments`
vectors of 384 float16 values per chunk) are built into a `SearchIndex` in a fresh child
process each time; the child prints its resident memory with the rows loaded and its peak
after the build. The median of the repeats is printed: the build's own transient is
`peak - rows`.
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
    from app.db.repositories.knowledge import IndexRow
    from app.knowledge.embeddings import DIMENSIONS
    from app.knowledge.index import SearchIndex

    rng = random.Random(7)
    words = [f"w{i}" for i in range(20000)]
    vectors = np.random.default_rng(7).standard_normal((segments, DIMENSIONS)).astype(np.float16)
    rows = [
        IndexRow(
            i,
            f"doc-{i // 4}",
            f"Title {i // 4}",
            "Heading",
            " ".join(rng.choices(words, k=120)),
            [[k * 100, k * 100 + 90] for k in range(segments)],
            (vectors + np.float16(i % 7)).tobytes(),
        )
        for i in range(chunks)
    ]
    loaded = _rss_mb()
    index = SearchIndex(rows, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows_mb": loaded, "peak_mb": peak, "index_vectors": len(index.vectors)}))


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
    rows = statistics.median(r["rows_mb"] for r in runs)
    peak = statistics.median(r["peak_mb"] for r in runs)
    print(f"{args.chunks} chunks x {args.segments} segments, median of {args.repeats}")
    print(f"rows_loaded_mb {rows:8.1f}")
    print(f"peak_mb        {peak:8.1f}")
    print(f"build_extra_mb {peak - rows:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
