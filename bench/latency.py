"""Speed and size of the offline path at a larger scale than the demo.

    python3 bench/latency.py [--docs 2000] [--questions 200] [--postgres URL] [--mode M]
                             [--vectors model|synthetic]

Builds a synthetic workspace (documents in several access groups, a directory of people),
then measures, once with hybrid retrieval (the embedding model on) and once with keyword
retrieval as the baseline, in the same run: ingest time and rate (chunks per second,
embeddings included), a second (unchanged) ingest, search latency, and the whole
`answer_question` chain (identity, scope, retrieval with the question's embedding, the
gate, the answer, audit) per question, with the peak memory of the process. Prints the
figures and the ratios; bench/RESULTS.md records them.

`--vectors synthetic` stores a seeded random unit vector per segment instead of running the
model at ingest (embedding 100,000 chunks with the model takes most of an hour on two
cores), and `search` is timed with a synthetic question vector too; `embed_p50/p95` then
time the model on the same questions, to add back. The whole-answer chain still embeds its
question with the model. Keyword search, the access filter and everything else are real.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.config.workspace import Workspace, load_workspace
from app.db.migrate import upgrade
from app.db.session import Database
from app.domain import AccessScope
from app.knowledge.embeddings import DIMENSIONS, TextEmbedder, shared_embedder
from app.knowledge.ingest import ingest
from app.knowledge.search import RetrievalMode, search
from app.memory import limit_heaps
from app.pipeline import Question, answer_question
from app.services import build_services
from app.slack_people import SlackChannel

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


class SyntheticEmbedder:
    """A stand-in for the model: each text's vector is a unit vector drawn from a generator
    seeded by the text, so a text always gets the same one. Right shape and dtype, no
    meaning: for timing only."""

    model_id = "synthetic-random-384"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        result = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest())
            vector = np.random.default_rng(seed).standard_normal(DIMENSIONS)
            result[i] = vector / np.linalg.norm(vector)
        return result

    def warm_up(self) -> None:
        pass

    def embed_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector


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


async def run(
    root: Path,
    workspace: Workspace,
    questions: int,
    database_url: str | None,
    retrieval: str,
    embedder: TextEmbedder | None = None,
) -> dict[str, float]:
    """One pass over the workspace with `retrieval` (hybrid or keyword); figures in ms.
    `embedder` (default: the model) embeds the chunks at ingest and the questions of
    `search`."""
    rng = random.Random(11)
    database = Database(database_url or f"sqlite+aiosqlite:///{root / f'bench-{retrieval}.db'}")
    await upgrade(database)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    report = await ingest(
        database,
        workspace.knowledge_dir,
        workspace_root=root,
        retrieval=retrieval,
        embedder=embedder,
    )
    took = time.perf_counter() - started
    figures.update(
        docs=report.added,
        chunks=report.chunks,
        ingest_s=took,
        chunks_per_s=report.chunks / took,
        rss_after_ingest_mb=_rss_mb(),
        peak_after_ingest_mb=_peak_mb(),
    )
    started = time.perf_counter()
    await ingest(
        database,
        workspace.knowledge_dir,
        workspace_root=root,
        retrieval=retrieval,
        embedder=embedder,
    )
    figures["reingest_s"] = time.perf_counter() - started
    figures["peak_after_reingest_mb"] = _peak_mb()

    person = workspace.directory.by_email("p1@bench.example")
    assert person is not None, "the bench directory has p1"
    scope = AccessScope.for_person(person)
    mode = RetrievalMode(retrieval)
    await search(
        database, query="warm up the index", scope=scope, limit=8, mode=mode, embedder=embedder
    )
    figures["rss_index_built_mb"] = _rss_mb()
    figures["peak_index_built_mb"] = _peak_mb()
    search_ms = []
    queries = [" ".join(rng.sample(WORDS, 3)) for _ in range(questions)]
    for query in queries:
        t = time.perf_counter()
        await search(database, query=query, scope=scope, limit=8, mode=mode, embedder=embedder)
        search_ms.append((time.perf_counter() - t) * 1000)
    figures.update(_percentiles("search", search_ms))
    if embedder is not None and mode == RetrievalMode.HYBRID:
        # What the model would have added to each search: its run on the same questions.
        model = shared_embedder()
        await asyncio.to_thread(model.warm_up)
        embed_ms = []
        for query in queries:
            t = time.perf_counter()
            await asyncio.to_thread(model.embed_one, query)
            embed_ms.append((time.perf_counter() - t) * 1000)
        figures.update(_percentiles("embed", embed_ms))

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
    figures["peak_rss_mb"] = _peak_mb()
    await database.dispose()
    return figures


def _peak_mb() -> float:
    """The process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


async def main(
    docs: int, questions: int, database_url: str | None, modes: list[str], vectors: str
) -> None:
    embedder = SyntheticEmbedder() if vectors == "synthetic" else None
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _workspace(root, docs, rng)
        workspace = load_workspace(root)
        results = {}
        for retrieval in modes:
            results[retrieval] = await run(
                root, workspace, questions, database_url, retrieval, embedder
            )
            if database_url and len(modes) > 1:
                print("note: one PostgreSQL database is reused across modes")
    dialect = "postgresql" if database_url else "sqlite"
    print(f"{docs} documents, {questions} questions, {dialect}, vectors: {vectors}")
    if vectors == "synthetic":
        print(
            "synthetic: the stored segment vectors and the question vectors of search_*"
            " (embed_* is the model on the same questions); answer_* embeds with the model"
        )
    print(
        f"{'figure':16}"
        + "".join(f"{m:>12}" for m in modes)
        + ("       ratio" if len(modes) == 2 else "")
    )
    for key in dict.fromkeys(k for m in modes for k in results[m]):
        values = [results[m].get(key, 0.0) for m in modes]
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
    parser.add_argument(
        "--vectors",
        choices=["model", "synthetic"],
        default="model",
        help="segment vectors from the model, or seeded random ones (timing only)",
    )
    args = parser.parse_args()
    modes = args.mode or ["hybrid", "keyword"]
    limit_heaps()  # as the trellis command does when it starts (app/memory.py)
    asyncio.run(main(args.docs, args.questions, args.postgres, modes, args.vectors))
