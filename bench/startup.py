"""How long the command line takes before it does anything: `trellis --help`, and `trellis
check` on the demo workspace (which reads and checks every file of it).

    python3 bench/startup.py [--repeats 7] [--tree PATH[=LABEL] ...]

Each tree (the current one by default; `--tree /path/to/other/checkout=before` adds a
baseline) runs every command in turn, alternating trees within each repeat so that a busy
machine slows them alike. Prints the median wall time of each command per tree, and each
tree's ratio to the first. Wall time, since that is what the person typing waits for.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"--help": ["--help"], "check": ["check"], "check --help": ["check", "--help"]}


def timed(tree: Path, args: list[str]) -> float:
    environ = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=tree,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tree", action="append", help="PATH[=LABEL]; the current tree by default")
    args = parser.parse_args()
    trees: list[tuple[str, Path]] = []
    for spec in args.tree or [f"{ROOT}=now"]:
        path, _, label = spec.partition("=")
        trees.append((label or path, Path(path).resolve()))
    times: dict[tuple[str, str], list[float]] = {}
    for _, tree in trees:  # a first run of each fills the disk cache
        for args_ in COMMANDS.values():
            timed(tree, args_)
    for _ in range(args.repeats):
        for command, args_ in COMMANDS.items():
            for label, tree in trees:
                times.setdefault((label, command), []).append(timed(tree, args_))
    first = trees[0][0]
    print(f"median wall time of {args.repeats} runs, seconds (ratio to {first})")
    print(f"{'command':16}" + "".join(f"{label:>20}" for label, _ in trees))
    for command in COMMANDS:
        cells = []
        for label, _ in trees:
            median = statistics.median(times[(label, command)])
            ratio = median / statistics.median(times[(first, command)])
            cells.append(f"{median:8.2f} ({ratio:4.2f})")
        print(f"{command:16}" + "".join(f"{cell:>20}" for cell in cells))


if __name__ == "__main__":
    main()
