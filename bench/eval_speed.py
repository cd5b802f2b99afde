"""What an eval run costs, starting from production's index or from nothing.

    python3 bench/eval_speed.py [--workspace DIR] [--repeats N]

A production database is built once with the workspace's knowledge ingested (as
`trellis ingest` leaves it), and ingested again with nothing changed (what every
`trellis ask` and start does first). Then the workspace's eval cases are run (`run_evals`, what
`trellis eval`, `trellis reload` and the gate do) in turns: from production's index, which
the run brings up to date (only changed documents are read and embedded again), and from
an empty scratch database, as every run did before. Prints the wall time of each, the
median over the repeats, and their ratio; and checks both scored every case alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from app.config.settings import Settings
from app.config.workspace import default_workspace_path, load_workspace
from app.db.migrate import upgrade
from app.db.session import Database
from app.knowledge.ingest import ingest
from app.sandbox.company import SandboxDirectory
from app.trust.evals import run_evals


async def main(root: Path, repeats: int) -> None:
    workspace = load_workspace(root)
    directory = SandboxDirectory.for_workspace(workspace)
    settings = Settings()
    with tempfile.TemporaryDirectory() as scratch:
        production = Database(f"sqlite+aiosqlite:///{Path(scratch) / 'production.db'}")
        await upgrade(production)
        started = time.perf_counter()
        report = await ingest(production, workspace.knowledge_dir, workspace_root=workspace.root)
        print(
            f"{workspace.root.name}: {len(workspace.evals)} cases, "
            f"{report.added} documents ({report.chunks} chunks) ingested into production in "
            f"{time.perf_counter() - started:.1f} s"
        )
        again = []
        for _ in range(repeats):
            started = time.perf_counter()
            await ingest(production, workspace.knowledge_dir, workspace_root=workspace.root)
            again.append(time.perf_counter() - started)
        print(
            f"  ingest again, nothing changed: median {statistics.median(again):.2f} s "
            f"(runs {[round(t, 2) for t in again]})"
        )
        await run_evals(settings, workspace, directory=directory, production=production)  # warm
        times: dict[str, list[float]] = {"from production's index": [], "from nothing": []}
        verdicts: dict[str, set[tuple]] = {name: set() for name in times}
        for _ in range(repeats):
            for name, source in (("from production's index", production), ("from nothing", None)):
                started = time.perf_counter()
                result = await run_evals(
                    settings, workspace, directory=directory, production=source
                )
                times[name].append(time.perf_counter() - started)
                verdicts[name].add(tuple((r.case_id, r.status, r.cited) for r in result.results))
        await production.dispose()
    for name, seconds in times.items():
        print(f"  {name:26} median {statistics.median(seconds):6.2f} s  runs {seconds}")
    fast, slow = (statistics.median(s) for s in times.values())
    print(f"  ratio {fast / slow:.2f}")
    same = verdicts["from production's index"] == verdicts["from nothing"]
    print(f"  every case scored alike: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, default=default_workspace_path())
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.workspace, arguments.repeats))
