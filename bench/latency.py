"""Speed and size of the offline path at a larger scale than the demo.

    python3 bench/latency.py [--docs 2000] [--questions 200] [--postgres URL]

Builds a synthetic workspace (documents in several access groups, a directory of people),
then measures: ingest time and rate, a second (unchanged) ingest, search latency, and the
whole `answer_question` chain (identity, scope, retrieval, answer, audit) per question,
with the peak memory of the process. Prints the figures; bench/RESULTS.md records them.
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

from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import Database
from app.domain import AccessScope
from app.knowledge.ingest import ingest
from app.knowledge.search import search
from app.pipeline import Question, answer_question
from app.services import build_services
from app.slack_api import SlackChannel
from app.workspace import load_workspace

GROUPS = ["sales", "support", "finance", "engineering", "legal", "hr"]
WORDS = [
    "policy", "request", "approval", "customer", "invoice", "refund", "shipment", "warranty",
    "contract", "renewal", "discount", "budget", "laptop", "password", "incident", "release",
    "holiday", "travel", "expense", "payroll", "badge", "onboarding", "training", "vendor",
    "quote", "escalation", "outage", "backup", "audit",
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
    front = {"id": f"doc-{i}", "title": f"{topic[0].title()} {topic[1]} guide {i}",
             "owner": group, "access": [group] if i % 3 else ["everyone"]}
    return f"---\n{yaml.safe_dump(front)}---\n# {front['title']}\n\n" + "\n\n".join(paragraphs)


def _workspace(root: Path, docs: int, rng: random.Random) -> None:
    people = [{"email": f"p{i}@bench.example", "name": f"Person {i}",
               "groups": [GROUPS[i % len(GROUPS)]]} for i in range(60)]
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


async def main(docs: int, questions: int, database_url: str | None) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _workspace(root, docs, rng)
        workspace = load_workspace(root)
        database = Database(database_url or f"sqlite+aiosqlite:///{root / 'bench.db'}")
        await upgrade(database)

        started = time.perf_counter()
        report = await ingest(database, workspace.knowledge_dir, workspace_root=root)
        took = time.perf_counter() - started
        print(f"database            {database.dialect}")
        print(f"ingest              {report.added} documents, {report.chunks} chunks in {took:.1f} s "
              f"({report.added / took:.0f} documents/s)")
        started = time.perf_counter()
        await ingest(database, workspace.knowledge_dir, workspace_root=root)
        print(f"re-ingest unchanged {time.perf_counter() - started:.1f} s")

        person = workspace.directory.by_email("p1@bench.example")
        scope = AccessScope.for_person(person)
        search_ms = []
        for _ in range(questions):
            query = " ".join(rng.sample(WORDS, 3))
            t = time.perf_counter()
            await search(database, query=query, scope=scope, limit=8)
            search_ms.append((time.perf_counter() - t) * 1000)
        print(f"search              {_percentiles(search_ms)}")

        services = build_services(Settings(database_url=database.url), workspace, database)
        chain_ms = []
        for _ in range(questions):
            text = f"How many days for the {rng.choice(WORDS)} {rng.choice(WORDS)} case?"
            t = time.perf_counter()
            await answer_question(services, Question(text=text, person=person,
                                                     channel=SlackChannel(id="D0BENCH", is_im=True)))
            chain_ms.append((time.perf_counter() - t) * 1000)
        print(f"answer_question     {_percentiles(chain_ms)}")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory         {peak_mb:.0f} MB")
        await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--postgres", metavar="URL", help="run on this PostgreSQL database")
    args = parser.parse_args()
    asyncio.run(main(args.docs, args.questions, args.postgres))
