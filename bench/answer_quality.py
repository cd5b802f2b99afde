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

The question-set format is described in tests/question_sets.py. Cases marked `known_gap`
count like any other: the figures include them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.question_sets import (  # noqa: E402
    Case,
    Corpus,
    cited,
    demo_corpus,
    held_out_corpora,
    overall_status,
    problems,
)

LEAK_MIN_CHARS = 40
"""A hidden document's sentence shorter than this is too generic to count as leaked."""


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


THRESHOLDS = (0.25, 0.30, 0.35, 0.40, 0.45)


def threshold_sweep(outcomes: Sequence[Outcome]) -> dict[float, float]:
    """Status accuracy had `answers.min_confidence` been each of `THRESHOLDS`.

    A reply counts as answered when its confidence reaches the threshold: the pipeline
    turns any reply below `min_confidence` into `no_answer`, and the answerer gives
    confidence 0 when it has nothing to quote. (A several-part question keeps the parts
    the answerer itself found supported.)
    """
    def status_at(result: dict[str, Any], threshold: float) -> str:
        if result["status"] == "refused":
            return "refused"
        replies = [result, *([result["private"]] if result.get("private") else [])]
        supported = any(r["confidence"] > 0 and r["confidence"] >= threshold for r in replies)
        return "answered" if supported else "no_answer"

    judged = [o for o in outcomes if o.case.expect_status != "needs_approval"]
    return {t: round(sum(status_at(o.result, t) == o.case.expect_status for o in judged)
                     / len(judged), 3) for t in THRESHOLDS}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case")
    parser.add_argument("--corpus", action="append", help="only these corpora (repeatable)")
    args = parser.parse_args(argv)
    everything = [*held_out_corpora(), demo_corpus()]
    selected = [c for c in everything if not args.corpus or c.name in args.corpus]
    header = (f"{'corpus':8} {'cases':>5} {'status':>6} {'ans P':>6} {'ans R':>6} "
              f"{'src P':>6} {'src R':>6} {'facts':>6} {'leaks':>5}  passed by kind")
    lines = [header]
    failures = []
    everything_asked: list[Outcome] = []
    for corpus in selected:
        outcomes = asyncio.run(run_corpus(corpus))
        everything_asked += outcomes
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
    sweep = threshold_sweep(everything_asked)
    print("\nStatus accuracy of all cases by min_confidence: "
          + ", ".join(f"{t:.2f}: {a:.3f}" for t, a in sweep.items()))
    if failures:
        print("\nFailed cases:")
        print("\n".join(f"  {f}" for f in failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
