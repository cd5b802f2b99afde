"""What the embedding model costs per question and per indexed chunk, with ONNX Runtime's
constant folding on (the int8 weights turned into float ones once, at load) and off (the
weights dequantized again on every run), side by side in the same run.

    python3 bench/embedding_speed.py [--repeats 3] [--questions 200] [--chunks 200]

Each configuration runs in a fresh child process, so its resident memory is its own; the
two alternate, `--repeats` times each, and the medians over repeats are printed with the
ratio folded / not folded. Questions are short (10-20 tokens) and embedded one at a time,
as a question is; chunks are ~120 tokens, embedded in the model's batches, as at ingest.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

from index_memory import _rss_mb  # bench/, on the path when a script here runs


def measure(fold: bool, questions: int, chunks: int) -> dict[str, float]:
    from app.knowledge.embeddings import Embedder

    before = _rss_mb()
    embedder = Embedder(threads=2, cache_size=0, fold_constants=fold)
    started = time.perf_counter()
    embedder.warm_up()
    load_s = time.perf_counter() - started
    loaded = _rss_mb()
    times = []
    for i in range(questions):
        text = f"How many days of parental leave does someone in team {i} get after a year?"
        started = time.perf_counter()
        embedder.embed_one(text)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    passage = (
        "Employees may carry over up to five unused vacation days into the next calendar "
        "year, provided their manager approves the request before the end of December. "
    ) * 3
    started = time.perf_counter()
    embedder.embed([f"{passage} ({i})" for i in range(chunks)])
    ingest_s = time.perf_counter() - started
    return {
        "load_s": load_s,
        "question_p50_ms": statistics.median(times),
        "question_p95_ms": times[int(len(times) * 0.95) - 1],
        "chunks_per_s": chunks / ingest_s,
        "rss_model_mb": loaded - before,
        "rss_end_mb": _rss_mb(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--child", choices=["folded", "unfolded"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        figures = measure(args.child == "folded", args.questions, args.chunks)
        print(json.dumps(figures))
        return
    runs: dict[str, list[dict[str, float]]] = {"folded": [], "unfolded": []}
    for _ in range(args.repeats):
        for config in ("unfolded", "folded"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", config]
                + ["--questions", str(args.questions), "--chunks", str(args.chunks)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs[config].append(json.loads(out.strip().splitlines()[-1]))
    print(f"medians of {args.repeats} alternating runs, 2 threads")
    print(f"{'figure':<20}{'folded':>12}{'not folded':>12}{'ratio':>10}")
    for name in runs["folded"][0]:
        folded = statistics.median(run[name] for run in runs["folded"])
        unfolded = statistics.median(run[name] for run in runs["unfolded"])
        ratio = folded / unfolded if unfolded else float("nan")
        print(f"{name:<20}{folded:>12.1f}{unfolded:>12.1f}{ratio:>10.2f}")


if __name__ == "__main__":
    main()
