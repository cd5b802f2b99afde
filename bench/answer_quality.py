"""Answer quality of the offline path on every corpus with a question set.

    python3 bench/answer_quality.py [--verbose] [--corpus NAME]

Each corpus is a workspace: the held-out ones in tests/data/workspaces/*/ (questions in
their questions.yml) and the bundled demo (its evals/golden.yml). Every question is asked
as its asker would ask it, through the real pipeline (`answer_question`: identity, access,
retrieval, the extractive answerer, the confidence threshold), against a fresh SQLite
index of the corpus. Nothing is tuned per corpus: every workspace runs with its own
trellis.yml.

Per corpus it prints:

    status      accuracy, and precision / recall of `answered` (an answer that should not
                have been given costs precision; a missed answer costs recall)
    sources     precision / recall of cited documents against the expected ones
    facts       answered cases whose answer contains every expected fact
    leaks       cases where the output showed a reader anything outside their access: a
                restricted fact of the case (`never_text`), a citation of a hidden document,
                or a sentence of one

A case file entry (YAML) has the golden-set keys (id, question, asker, channel,
expect_status, expect_sources) and may add `kind` (answerable | restricted | unanswerable |
mixed), `expect_text` (facts the answer must contain), `never_text` (facts that must not
appear anywhere in the output) and `expect_public_status` (the channel reply's own status,
when the asker gets a fuller answer privately).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKSPACES = ROOT / "tests" / "data" / "workspaces"
DEMO = ROOT / "app" / "demo"
LEAK_MIN_CHARS = 40
"""A hidden document's sentence shorter than this is too generic to count as leaked."""


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    asker: str
    expect_status: str
    kind: str = "answerable"
    channel: str | None = None
    expect_sources: tuple[str, ...] = ()
    expect_text: tuple[str, ...] = ()
    never_text: tuple[str, ...] = ()
    expect_public_status: str | None = None


@dataclass(frozen=True)
class Corpus:
    name: str
    workspace: Path
    cases: tuple[Case, ...]


def load_cases(path: Path) -> tuple[Case, ...]:
    """The cases of a question file (questions.yml or a golden evals/*.yml)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = []
    for raw in data.get("cases", []):
        kind = raw.get("kind") or _kind_of(raw)
        cases.append(Case(
            id=raw["id"], question=raw["question"], asker=raw["asker"].lower(),
            expect_status=raw["expect_status"], kind=kind, channel=raw.get("channel"),
            expect_sources=tuple(raw.get("expect_sources") or ()),
            expect_text=tuple(raw.get("expect_text") or ()),
            never_text=tuple(raw.get("never_text") or ()),
            expect_public_status=raw.get("expect_public_status"),
        ))
    return tuple(cases)


def _kind_of(raw: dict[str, Any]) -> str:
    if raw["expect_status"] == "answered":
        return "answerable"
    return raw["expect_status"]


def corpora() -> list[Corpus]:
    """Every held-out workspace with a questions.yml, then the demo's golden set."""
    found = [Corpus(path.parent.name, path.parent, load_cases(path))
             for path in sorted(WORKSPACES.glob("*/questions.yml"))]
    golden = [c for p in sorted((DEMO / "evals").glob("*.yml")) for c in load_cases(p)]
    found.append(Corpus("demo", DEMO, tuple(golden)))
    return found


# --- judging one result -------------------------------------------------------------------


def output_text(result: dict[str, Any]) -> str:
    """Everything a result shows, public and private, as one string."""
    return json.dumps(result, ensure_ascii=False)


def overall_status(result: dict[str, Any]) -> str:
    """What the asker gets: a private fuller answer counts as answered."""
    private = result.get("private")
    if private and private.get("status") == "answered":
        return "answered"
    return result["status"]


def cited(result: dict[str, Any]) -> list[str]:
    docs = [c["doc_id"] for c in result["citations"]]
    if result.get("private"):
        docs += [c["doc_id"] for c in result["private"]["citations"]]
    return list(dict.fromkeys(docs))


def problems(case: Case, result: dict[str, Any]) -> list[str]:
    """Why `result` is not what `case` expects, in words; empty when it is."""
    found = []
    status = overall_status(result)
    if status != case.expect_status:
        found.append(f"status {status}, expected {case.expect_status}")
    if case.expect_public_status and result["status"] != case.expect_public_status:
        found.append(f"channel reply {result['status']}, expected {case.expect_public_status}")
    docs = cited(result)
    missing = [d for d in case.expect_sources if d not in docs]
    if missing:
        found.append(f"missing sources {missing} (cited {docs})")
    if not case.expect_sources and docs:
        found.append(f"cited {docs}, expected none")
    answers = result["answer"] + " " + (result.get("private") or {}).get("answer", "")
    absent = [t for t in case.expect_text if t not in answers]
    if absent and status == "answered":
        found.append(f"answer lacks {absent}")
    shown = output_text(result)
    leaked = [t for t in case.never_text if t in shown]
    if leaked:
        found.append(f"LEAK {leaked}")
    return found


# --- running a corpus --------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    result: dict[str, Any]
    problems: list[str]
    leaked_docs: list[str] = field(default_factory=list)

    @property
    def leaked(self) -> bool:
        return bool(self.leaked_docs) or any(p.startswith("LEAK") for p in self.problems)


async def run_corpus(corpus: Corpus) -> list[Outcome]:
    """Ask every case of `corpus` through the real pipeline, in a scratch database."""
    from app import access
    from app.config import Settings
    from app.db.migrate import upgrade
    from app.db.session import Database
    from app.knowledge.ingest import ingest
    from app.operations import offline_services
    from app.pipeline import Question, answer_question
    from app.slack_api import SlackChannel
    from app.workspace import load_workspace

    workspace = load_workspace(corpus.workspace)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="trellis-bench-") as scratch:
        database = Database(f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}")
        try:
            await upgrade(database)
            await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
            services = offline_services(Settings(workspace=corpus.workspace), workspace, database)
            for case in corpus.cases:
                person = workspace.directory.by_email(case.asker)
                channel = (await services.slack.channel(case.channel) if case.channel
                           else SlackChannel(id="bench", name="bench", is_im=True))
                outcome = await answer_question(services, Question(
                    text=case.question, channel=channel, person=person,
                    slack_user_id=person.slack_id if person else f"bench:{case.asker}"))
                result = _as_json(outcome)
                leaked: list[str] = []
                if person is not None:
                    audience = await access.audience_for(
                        asker=person, channel=channel, slack=services.slack,
                        identity=services.identity)
                    leaked = await _hidden_shown(database, outcome, audience)
                outcomes.append(Outcome(case, result, problems(case, result), leaked))
        finally:
            await database.dispose()
    return outcomes


def _as_json(outcome) -> dict[str, Any]:
    def reply(r) -> dict[str, Any]:
        return {"status": r.status.value, "answer": r.text, "confidence": round(r.confidence, 3),
                "citations": [c.as_dict() for c in r.citations]}

    result = reply(outcome.public)
    if outcome.private is not None:
        result["private"] = reply(outcome.private)
    return result


async def _hidden_shown(database, outcome, audience) -> list[str]:
    """Documents a reply showed (cited or quoted) to readers who may not see them."""
    from app.db.repositories.measurements import chunk_texts
    from app.knowledge.search import get_documents

    documents = await get_documents(database)
    shown = [(outcome.public, audience.scope)]
    if outcome.private is not None:
        shown.append((outcome.private, audience.asker_scope))
    leaked: list[str] = []
    async with database.session() as session:
        texts = await chunk_texts(session, {d.id for d in documents})
    for reply, scope in shown:
        hidden = {d.id for d in documents if not scope.allows(d.access)}
        visible = _normal(" ".join(t for d, ts in texts.items() if d not in hidden for t in ts))
        leaked += [c.doc_id for c in reply.citations if c.doc_id in hidden]
        answer = _normal(reply.text + " " + " ".join(c.quote for c in reply.citations))
        for doc_id in hidden:
            sentences = _sentences(" ".join(texts.get(doc_id, [])))
            if any(s in answer and s not in visible for s in sentences):
                leaked.append(doc_id)
    return list(dict.fromkeys(leaked))


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [s for s in (_normal(p) for p in parts) if len(s) >= LEAK_MIN_CHARS]


# --- scoring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    cases: int
    status_accuracy: float
    answered_precision: float
    answered_recall: float
    source_precision: float
    source_recall: float
    facts: str
    leaks: int
    failed: tuple[str, ...]


def score(outcomes: Sequence[Outcome]) -> Scores:
    def ratio(hit: int, total: int) -> float:
        return round(hit / total, 3) if total else 1.0

    statuses = [(o.case.expect_status, overall_status(o.result)) for o in outcomes]
    answered = [e for e, got in statuses if got == "answered"]
    expected_answered = [got for e, got in statuses if e == "answered"]
    hits = sum(len(set(cited(o.result)) & set(o.case.expect_sources)) for o in outcomes)
    cited_total = sum(len(cited(o.result)) for o in outcomes)
    expected_total = sum(len(set(o.case.expect_sources)) for o in outcomes)
    with_facts = [o for o in outcomes if o.case.expect_text and o.case.expect_status == "answered"]
    facts_ok = sum(1 for o in with_facts if not any("answer lacks" in p or p.startswith("status")
                                                    for p in o.problems))
    return Scores(
        cases=len(outcomes),
        status_accuracy=ratio(sum(e == got for e, got in statuses), len(statuses)),
        answered_precision=ratio(answered.count("answered"), len(answered)),
        answered_recall=ratio(expected_answered.count("answered"), len(expected_answered)),
        source_precision=ratio(hits, cited_total),
        source_recall=ratio(hits, expected_total),
        facts=f"{facts_ok}/{len(with_facts)}",
        leaks=sum(1 for o in outcomes if o.leaked),
        failed=tuple(o.case.id for o in outcomes if o.problems or o.leaked),
    )


def by_kind(outcomes: Sequence[Outcome]) -> dict[str, str]:
    kinds: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        kinds.setdefault(outcome.case.kind, []).append(outcome)
    return {kind: f"{sum(not (o.problems or o.leaked) for o in group)}/{len(group)}"
            for kind, group in sorted(kinds.items())}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case")
    parser.add_argument("--corpus", action="append", help="only these corpora (repeatable)")
    args = parser.parse_args(argv)
    selected = [c for c in corpora() if not args.corpus or c.name in args.corpus]
    header = (f"{'corpus':8} {'cases':>5} {'status':>6} {'ans P':>6} {'ans R':>6} "
              f"{'src P':>6} {'src R':>6} {'facts':>6} {'leaks':>5}  passed by kind")
    lines = [header]
    failures = []
    for corpus in selected:
        outcomes = asyncio.run(run_corpus(corpus))
        s = score(outcomes)
        kinds = ", ".join(f"{k} {v}" for k, v in by_kind(outcomes).items())
        lines.append(f"{corpus.name:8} {s.cases:>5} {s.status_accuracy:>6.3f} "
                     f"{s.answered_precision:>6.3f} {s.answered_recall:>6.3f} "
                     f"{s.source_precision:>6.3f} {s.source_recall:>6.3f} {s.facts:>6} "
                     f"{s.leaks:>5}  {kinds}")
        for outcome in outcomes:
            bad = outcome.problems + [f"LEAK of {d}" for d in outcome.leaked_docs]
            if bad:
                failures.append(f"{corpus.name}/{outcome.case.id}: {'; '.join(bad)}")
            if args.verbose:
                r = outcome.result
                conf = r["confidence"]
                private = r.get("private")
                extra = f" private {private['confidence']}" if private else ""
                mark = "FAIL" if bad else "ok  "
                print(f"{mark} {corpus.name}/{outcome.case.id}: {overall_status(r)} "
                      f"{conf}{extra} {cited(r)} | {outcome.case.question}")
                if bad:
                    print(f"       {r['answer'][:200]!r}")
    print("\n".join(lines))
    if failures:
        print("\nFailed cases:")
        print("\n".join(f"  {f}" for f in failures))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
