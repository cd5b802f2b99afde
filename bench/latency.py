"""Speed and size of the offline path at a larger scale than the demo.

    python3 bench/latency.py [--docs 2000] [--questions 200] [--postgres URL] [--mode M]

Builds a synthetic workspace (documents in several access groups, a directory of people),
then measures, once with hybrid retrieval (the embedding model on) and once with keyword
retrieval as the baseline, in the same run: ingest time and rate (chunks per second,
embeddings included), a second (unchanged) ingest, search latency, and the whole
`answer_question` chain (identity, scope, retrieval with the question's embedding, the
gate, the answer, audit) per question, with the peak memory of the process. Prints the
figures and the ratios; bench/RESULTS.md records them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.config.workspace import load_workspace
from app.db.migrate import upgrade
from app.db.session import Database
from app.domain import AccessScope
from app.knowledge.ingest import ingest
from app.knowledge.search import RetrievalMode, search
from app.pipeline import Question, answer_question
from app.services import build_services
from app.slack_api import SlackChannel

GROUPS = ["sales", "support", "finance", "engineering", "legal", "hr"]
WORDS = [
    "policy",
    "request",
    "approval",
    "customer",
    "invoice",
    "refund",
    "shipment",
    "warranty",
    "contract",
    "renewal",
    "discount",
    "budget",
    "laptop",
    "password",
    "incident",
    "release",
    "holiday",
    "travel",
    "expense",
    "payroll",
    "badge",
    "onboarding",
    "training",
    "vendor",
    "quote",
    "escalation",
    "outage",
    "backup",
    "audit",
]


def _document(rng: random.Random, i: int) -> str:
    topic = rng.sample(WORDS, 3)
    group = rng.choice(GROUPS)
    paragraphs = []
    for p in range(4):
        sentences = [
            f"The {topic[0]} {rng.choice(WORDS)} for case {i}-{p} must be filed within {rng.randint(2, 30)} days."
            for _ in range(3)
        ] + [f"Contact the {group} team about {topic[1]} and {topic[2]} item {i * 7 + p}."]
        paragraphs.append(f"## Section {p}\n\n" + " ".join(sentences))
    front = {
        "id": f"doc-{i}",
        "title": f"{topic[0].title()} {topic[1]} guide {i}",
        "owner": group,
        "access": [group] if i % 3 else ["everyone"],
    }
    return f"---\n{yaml.safe_dump(front)}---\n# {front['title']}\n\n" + "\n\n".join(paragraphs)


def _workspace(root: Path, docs: int, rng: random.Random) -> None:
    people = [
        {"email": f"p{i}@bench.example", "name": f"Person {i}", "groups": [GROUPS[i % len(GROUPS)]]}
        for i in range(60)
    ]
    (root / "directory.yml").write_text(yaml.safe_dump({"people": people}))
    knowledge = root / "knowledge"
    for i in range(docs):
        folder = knowledge / GROUPS[i % len(GROUPS)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc-{i}.md").write_text(_document(rng, i))


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {statistics.median(ordered):7.1f} ms  p95 {p(0.95):7.1f} ms  max {ordered[-1]:7.1f} ms"


async def run(
    root: Path, workspace, questions: int, database_url: str | None, retrieval: str
) -> dict[str, float]:
    """One pass over the workspace with `retrieval` (hybrid or keyword); figures in ms."""
    rng = random.Random(11)
    database = Database(database_url or f"sqlite+aiosqlite:///{root / f'bench-{retrieval}.db'}")
    await upgrade(database)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    report = await ingest(
        database, workspace.knowledge_dir, workspace_root=root, retrieval=retrieval
    )
    took = time.perf_counter() - started
    figures.update(
        docs=report.added,
        chunks=report.chunks,
        ingest_s=took,
        chunks_per_s=report.chunks / took,
        rss_after_ingest_mb=_rss_mb(),
    )
    started = time.perf_counter()
    await ingest(database, workspace.knowledge_dir, workspace_root=root, retrieval=retrieval)
    figures["reingest_s"] = time.perf_counter() - started

    person = workspace.directory.by_email("p1@bench.example")
    scope = AccessScope.for_person(person)
    mode = RetrievalMode(retrieval)
    await search(database, query="warm up the index", scope=scope, limit=8, mode=mode)
    figures["rss_index_built_mb"] = _rss_mb()
    search_ms = []
    for _ in range(questions):
        query = " ".join(rng.sample(WORDS, 3))
        t = time.perf_counter()
        await search(database, query=query, scope=scope, limit=8, mode=mode)
        search_ms.append((time.perf_counter() - t) * 1000)
    figures.update(_percentiles("search", search_ms))

    services = build_services(
        Settings(database_url=database.url), workspace, database, answerer=ExtractiveAnswerer()
    )
    chain_ms = []
    for _ in range(questions):
        text = f"How many days for the {rng.choice(WORDS)} {rng.choice(WORDS)} case?"
        t = time.perf_counter()
        await answer_question(
            services,
            Question(text=text, person=person, channel=SlackChannel(id="D0BENCH", is_im=True)),
        )
        chain_ms.append((time.perf_counter() - t) * 1000)
    figures.update(_percentiles("answer", chain_ms))
    figures["rss_end_mb"] = _rss_mb()
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    await database.dispose()
    return figures


def _rss_mb() -> float:
    """The process's resident memory now (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _percentiles(name: str, samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        f"{name}_p50": statistics.median(ordered),
        f"{name}_p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
    }


async def main(docs: int, questions: int, database_url: str | None, modes: list[str]) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _workspace(root, docs, rng)
        workspace = load_workspace(root)
        results = {}
        for retrieval in modes:
            results[retrieval] = await run(root, workspace, questions, database_url, retrieval)
            if database_url and len(modes) > 1:
                print("note: one PostgreSQL database is reused across modes")
    dialect = "postgresql" if database_url else "sqlite"
    print(f"{docs} documents, {questions} questions, {dialect}")
    print(
        f"{'figure':16}"
        + "".join(f"{m:>12}" for m in modes)
        + ("       ratio" if len(modes) == 2 else "")
    )
    for key in results[modes[0]]:
        values = [results[m][key] for m in modes]
        ratio = f"{values[0] / values[1]:>12.2f}" if len(modes) == 2 and values[1] else ""
        print(f"{key:16}" + "".join(f"{v:>12.1f}" for v in values) + ratio)
    print("peak_rss_mb is the process's peak so far: the second column includes the first.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--postgres", metavar="URL", help="run on this PostgreSQL database")
    parser.add_argument(
        "--mode",
        action="append",
        choices=["hybrid", "keyword"],
        help="retrieval modes to run, in order (default: hybrid, keyword)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.docs, args.questions, args.postgres, args.mode or ["hybrid", "keyword"]))
