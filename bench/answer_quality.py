"""Answer quality of the offline path on every corpus with a question set.

    python3 bench/answer_quality.py [--verbose] [--corpus NAME] [--postgres URL]
                                    [--retrieval] [--curve] [--dump FILE] [--as word|pdf]

Corpora (tests/question_sets.py): the real public ones in bench/corpora/*/ (text nobody on
the team wrote, questions written blind), the held-out ones the team wrote in
tests/data/workspaces/*/, and the bundled demo. Every question is asked as its asker would
ask it, through the real pipeline (`answer_question`: identity, access, retrieval, the
extractive answerer, the "I don't know" gate), against a fresh index of the corpus.
Nothing is tuned per corpus: every workspace runs with its own trellis.yml.

The pipeline runs with the gate's threshold at 0 so every case gets its would-be answer
and confidence; each figure then applies a threshold afterwards (the workspace's own
`answers.min_confidence` for the main table), so one run gives the whole curve.

Per corpus:
    right      answerable cases answered citing a gold source, with every expected fact
    refused    unanswerable (and restricted) cases that got `no_answer`
    wrong src  answers given (by status) that cite a document outside the case's gold
               sources (any citation, for a case that should have had no answer)
    leaks      cases that showed a reader anything outside their access
    follow-ups the same figures for the cases asked in a thread after an earlier question
               (`after:` in the question set), on a line of their own
    --retrieval  hit@1, hit@5 and MRR of the first gold document among what the asker may
                 see, by keyword, meaning (dense) and both (hybrid)
    --curve      for each threshold: answered right / answered wrong / wrongly refused
    --postgres   the same run on PostgreSQL too, and how often the two agree
    --dump       one JSON line per case with the gate's inputs, for fitting it
    --as word    every Markdown page converted to a Word document (.docx) by pandoc first,
                 in a scratch copy of the corpus: the same questions on the same text,
                 read through the Word loader (needs `pandoc`, Debian's package)
    --as pdf     the same, then each Word document printed to PDF by LibreOffice (needs
                 `libreoffice-writer-nogui` too): read through the PDF loader
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
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
    real_corpora,
)

LEAK_MIN_CHARS = 40
"""A hidden document's sentence shorter than this is too generic to count as leaked."""
CURVE = (0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8)
MODES = ("keyword", "dense", "rrf", "hybrid")


@dataclass
class Outcome:
    case: Case
    result: dict[str, Any]
    leaked_docs: list[str] = field(default_factory=list)
    ranks: dict[str, int | None] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)

    def replies(self) -> list[dict[str, Any]]:
        private = self.result.get("private")
        return [self.result, *([private] if private else [])]

    def answered_at(self, threshold: float) -> list[dict[str, Any]]:
        """The replies that would have been given as answers at `threshold`."""
        return [
            r
            for r in self.replies()
            if r["citations"] and r["confidence"] > 0 and r["confidence"] >= threshold
        ]

    def judge(self, threshold: float) -> str:
        """right | wrong | refused_ok | refused_wrong | other, at `threshold`."""
        if self.result["status"] == "refused":
            return "refused_ok" if self.case.expect_status == "refused" else "other"
        given = self.answered_at(threshold)
        expect = self.case.expect_status
        if not given:
            return "refused_wrong" if expect == "answered" else "refused_ok"
        if expect != "answered":
            return "wrong"
        docs = {c["doc_id"] for r in given for c in r["citations"]}
        text = " ".join(r["answer"] for r in given).casefold()
        gold = set(self.case.expect_sources)
        facts = all(t.casefold() in text for t in self.case.expect_text)
        if gold and not docs & gold:
            return "wrong"
        return "right" if facts else "other"

    def wrong_source(self, threshold: float) -> bool:
        given = self.answered_at(threshold)
        docs = {c["doc_id"] for r in given for c in r["citations"]}
        gold = set(self.case.expect_sources)
        return bool(given) and (self.case.expect_status != "answered" or bool(docs - gold))


# --- running a corpus --------------------------------------------------------------------


WITHOUT_IMAGES = "function Image(image) return image.caption end\n"
"""A pandoc filter: an image is its alt text (pandoc would fetch it to embed it)."""


@contextmanager
def converted(corpus: Corpus, to: str):
    """A scratch copy of `corpus` whose Markdown pages are Word documents, or PDFs printed
    from them (pandoc keeps the title of the front matter in the document's properties;
    ids come from the paths)."""
    needs = ["pandoc", *(["soffice"] if to == "pdf" else [])]
    missing = [tool for tool in needs if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"--as {to} needs {', '.join(missing)} (pandoc, libreoffice-writer-nogui)")
    with tempfile.TemporaryDirectory(prefix="trellis-convert-") as scratch:
        root = Path(scratch) / corpus.name
        shutil.copytree(corpus.workspace, root)
        images = Path(scratch) / "without-images.lua"
        images.write_text(WITHOUT_IMAGES)
        pages = sorted((root / "knowledge").rglob("*.md"))
        for page in pages:
            # Two steps, so that the filter has removed the images before the Word writer
            # would fetch them.
            parsed = subprocess.run(
                ["pandoc", "--from", "markdown", "--to", "json", "--lua-filter", str(images),
                 str(page)],
                check=True, capture_output=True,
            )  # fmt: skip
            subprocess.run(
                ["pandoc", "--from", "json", "--to", "docx", "-o", str(page.with_suffix(".docx"))],
                input=parsed.stdout, check=True,
            )  # fmt: skip
            page.unlink()
        if to == "pdf":
            for folder in sorted({page.parent for page in pages}):
                documents = sorted(folder.glob("*.docx"))
                subprocess.run(
                    ["soffice", f"-env:UserInstallation=file://{scratch}/office", "--headless",
                     "--convert-to", "pdf", "--outdir", str(folder), *map(str, documents)],
                    check=True, capture_output=True,
                )  # fmt: skip
                for document in documents:
                    document.unlink()
        yield replace(corpus, workspace=root)


@asynccontextmanager
async def scratch_database(postgres: str | None):
    from app.db.migrate import upgrade
    from app.db.session import Database

    if postgres is None:
        with tempfile.TemporaryDirectory(prefix="trellis-bench-") as scratch:
            database = Database(f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}")
            await upgrade(database)
            try:
                yield database
            finally:
                await database.dispose()
        return
    import asyncpg

    name = f"trellis_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = postgres.rsplit("/", 1)[0]
    database = Database(f"{base}/{name}")
    try:
        await upgrade(database)
        yield database
    finally:
        await database.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run_corpus(
    corpus: Corpus, *, postgres: str | None = None, retrieval: bool = False
) -> list[Outcome]:
    """Ask every case of `corpus` through the real pipeline, in a scratch database."""
    from app.cli.operations import offline_services
    from app.config.settings import Settings
    from app.config.workspace import load_workspace
    from app.identity import access
    from app.knowledge.ingest import ingest
    from app.pipeline import Question, answer_question
    from app.slack_people import SlackChannel

    workspace = load_workspace(corpus.workspace)
    # Every would-be answer is kept; thresholds are applied afterwards (see the docstring).
    answers = workspace.config.answers.model_copy(update={"min_confidence": 0.0})
    workspace = replace(workspace, config=workspace.config.model_copy(update={"answers": answers}))
    outcomes = []
    async with scratch_database(postgres) as database:
        await _ingest(ingest, database, workspace)
        services = offline_services(Settings(workspace=corpus.workspace), workspace, database)
        for case in corpus.cases:
            person = workspace.directory.by_email(case.asker)
            channel = (
                await services.slack.channel(case.channel)
                if case.channel
                else SlackChannel(id="bench", name="bench", is_im=True)
            )
            asked = partial(
                Question,
                channel=channel,
                person=person,
                slack_user_id=person.slack_id if person else f"bench:{case.asker}",
            )
            thread = {}
            if case.after:
                # A follow-up: the earlier question is asked and answered in a thread first,
                # its answer recorded as posted, so the follow-up reads it as the thread's.
                n = len(outcomes) + 1
                first = asked(case.after, message_ts=f"{n}.000001", answer_ts=f"{n}.000002")
                await answer_question(services, first)
                thread = {
                    "thread_ts": first.message_ts,
                    "message_ts": f"{n}.000003",
                    "answer_ts": f"{n}.000004",
                }
            outcome = await answer_question(services, asked(case.question, **thread))
            found = Outcome(case, _as_json(outcome))
            if person is not None:
                audience = await access.audience_for(
                    asker=person, channel=channel, slack=services.slack, identity=services.identity
                )
                found.leaked_docs = await _hidden_shown(database, outcome, audience)
                found.features = await _gate_inputs(
                    database, case.question, audience.scope, earlier=case.after
                )
                if retrieval and case.expect_sources:
                    found.ranks = await _ranks(database, case, audience.asker_scope)
            outcomes.append(found)
    return outcomes


async def _ingest(ingest, database, workspace) -> None:
    """Index the corpus; also with an older Trellis (before retrieval modes), to compare."""
    retrieval = getattr(workspace.config, "retrieval", None)
    if retrieval is None:
        await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    else:
        await ingest(
            database, workspace.knowledge_dir, workspace_root=workspace.root, retrieval=retrieval
        )


async def _ranks(database, case: Case, scope) -> dict[str, int | None]:
    from app.knowledge.search import RetrievalMode, search

    ranks: dict[str, int | None] = {}
    for mode in MODES:
        found = await search(
            database,
            query=" ".join(filter(None, (case.after, case.question))),
            scope=scope,
            limit=20,
            mode=RetrievalMode.KEYWORD if mode == "keyword" else RetrievalMode.HYBRID,
            fusion={"dense": "dense", "rrf": "rrf"}.get(mode, "blend"),
        )
        docs = list(dict.fromkeys(p.doc_id for p in found))
        ranks[mode] = next((i + 1 for i, d in enumerate(docs) if d in case.expect_sources), None)
    return ranks


async def _gate_inputs(database, question: str, scope, *, earlier: str | None) -> dict[str, float]:
    """What the gate reads for `question` (asked after `earlier` in a thread, if given),
    searched as the pipeline searches: with the thread's last question in front."""
    try:
        from app.answering.gate import gate_inputs
    except ImportError:  # an older Trellis, run for comparison: no gate to feed
        return {}
    from app.domain import Turn
    from app.knowledge.search import search

    query = " ".join(filter(None, (earlier, question)))
    passages = await search(database, query=query, scope=scope)
    history = (Turn(earlier, ""),) if earlier else ()
    try:
        inputs = gate_inputs(question, passages, history=history)
    except TypeError:  # a Trellis whose gate reads the question alone
        inputs = gate_inputs(question, passages)
    try:
        from app.answering.gate import judged, read
    except ImportError:  # a Trellis without the judge
        pass
    else:
        reading = read(question, passages, history=history)[1]
        inputs = judged(question, inputs, reading, history=history)
        if inputs.judged is not None:
            extra = _judged_in_place(" ".join(filter(None, (earlier, question))), passages, reading)
            return {**inputs.as_dict(), **_standing_out(question, passages), **extra}
    return {**inputs.as_dict(), **_standing_out(question, passages)}


def _judged_in_place(asked: str, passages, reading) -> dict[str, float]:
    """A candidate gate input, logged to be measured: the judge reading the quotes with
    the cited document's title and the quoted passage's heading in front of them, as a
    reader sees them (not used by the gate; see bench/RESULTS.md)."""
    from app.answering.citations import without_markers
    from app.answering.judge import shared_judge

    if not reading.citations:
        return {}
    first = reading.citations[0]
    passage = next((p for p in passages if p.chunk_id == first.chunk_id), None)
    place = " > ".join(filter(None, (first.title, passage.heading if passage else None)))
    quote = without_markers(reading.text).strip()
    judge = shared_judge()
    scores = {
        "judged_in_place": judge.score(asked, f"{place}: {quote}"),
        "judged_passage": judge.score(asked, f"{place}: {passage.text}") if passage else None,
    }
    return {name: score for name, score in scores.items() if score is not None}


def _standing_out(question: str, passages) -> dict[str, float]:
    """Candidate gate inputs, logged to be measured (none is used by the gate; see
    bench/RESULTS.md): the question's words no document in scope uses, how clearly one
    document stands out among the retrieved passages, whether meaning and words agree on
    it, and whether the would-be answer cites it."""
    from app.answering.gate import read

    if not passages:
        return {}
    by_meaning = max(passages, key=lambda p: p.similarity)
    by_words = max(passages, key=lambda p: p.score)
    other = [p.similarity for p in passages if p.doc_id != by_meaning.doc_id]
    other_score = [p.score for p in passages if p.doc_id != by_words.doc_id]
    _, reading = read(question, passages)
    cited = reading.citations[0].doc_id if reading.citations else None
    evidence = getattr(passages, "evidence", None)
    frequencies = evidence.document_frequencies if evidence is not None else {}
    unknown = [t for t, df in frequencies.items() if df == 0]
    return {
        "unknown_terms": float(len(unknown)),
        "unknown_share": len(unknown) / len(frequencies) if frequencies else 0.0,
        "doc_margin": by_meaning.similarity - max(other, default=0.0),
        "score_margin": (by_words.score - max(other_score, default=0.0)) / (by_words.score or 1),
        "agree": float(by_meaning.doc_id == by_words.doc_id),
        "cited_top": float(cited == by_meaning.doc_id),
        "cited_first": float(cited == passages[0].doc_id),
    }


def _as_json(outcome) -> dict[str, Any]:
    def reply(r) -> dict[str, Any]:
        return {
            "status": r.status.value,
            "answer": r.text,
            "confidence": round(r.confidence, 4),
            "citations": [c.as_dict() for c in r.citations],
        }

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


def _share(hit: int, total: int) -> str:
    return f"{hit / total:.3f}" if total else "  -  "


def summary(outcomes: Sequence[Outcome], threshold: float) -> dict[str, Any]:
    answerable = [o for o in outcomes if o.case.expect_status == "answered"]
    declinable = [o for o in outcomes if o.case.expect_status == "no_answer"]
    given = [o for o in outcomes if o.answered_at(threshold)]
    return {
        "cases": len(outcomes),
        "right": _share(sum(o.judge(threshold) == "right" for o in answerable), len(answerable)),
        "refused": _share(sum(not o.answered_at(threshold) for o in declinable), len(declinable)),
        "wrong_src": _share(sum(o.wrong_source(threshold) for o in given), len(given)),
        "leaks": sum(1 for o in outcomes if o.leaked_docs),
        "n": f"{len(answerable)}/{len(declinable)}",
    }


def retrieval_table(outcomes: Sequence[Outcome]) -> dict[str, tuple[float, float, float]]:
    ranked = [o for o in outcomes if o.ranks]
    table = {}
    for mode in MODES:
        ranks = [o.ranks.get(mode) for o in ranked]
        if not ranks:
            continue
        table[mode] = (
            sum(r == 1 for r in ranks) / len(ranks),
            sum(r is not None and r <= 5 for r in ranks) / len(ranks),
            sum(1 / r for r in ranks if r) / len(ranks),
        )
    return table


def curve(outcomes: Sequence[Outcome]) -> list[tuple[float, float, float, float]]:
    """(threshold, answered right, answered wrong, wrongly refused), shares of all cases."""
    judged = [o for o in outcomes if o.case.expect_status in ("answered", "no_answer")]
    rows = []
    for t in CURVE:
        verdicts = [o.judge(t) for o in judged]
        rows.append(
            (
                t,
                verdicts.count("right") / len(judged),
                verdicts.count("wrong") / len(judged),
                verdicts.count("refused_wrong") / len(judged),
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case")
    parser.add_argument("--corpus", action="append", help="only these corpora (repeatable)")
    parser.add_argument("--postgres", help="also run on this PostgreSQL server URL")
    parser.add_argument("--retrieval", action="store_true", help="hit@k and MRR by mode")
    parser.add_argument("--curve", action="store_true", help="the no-answer curve")
    parser.add_argument("--dump", type=Path, help="write the gate's inputs per case (JSONL)")
    parser.add_argument(
        "--as",
        dest="convert",
        choices=("word", "pdf"),
        help="Markdown pages as .docx or .pdf first",
    )
    args = parser.parse_args(argv)
    from app.config.workspace import load_workspace

    everything = [*real_corpora(), *held_out_corpora(), demo_corpus()]
    selected = [c for c in everything if not args.corpus or c.name in args.corpus]
    print(
        f"{'corpus':14} {'db':8} {'right':>6} {'refused':>7} {'wrong src':>9} {'leaks':>5}"
        f"  answerable/declinable"
    )
    dump = args.dump.open("w") if args.dump else None
    for chosen in selected:
        scratch = ExitStack()
        corpus = scratch.enter_context(converted(chosen, args.convert)) if args.convert else chosen
        threshold = load_workspace(corpus.workspace).config.answers.min_confidence
        runs = {"sqlite": asyncio.run(run_corpus(corpus, retrieval=args.retrieval))}
        if args.postgres:
            runs["postgres"] = asyncio.run(run_corpus(corpus, postgres=args.postgres))
        for db, outcomes in runs.items():
            # Follow-ups in a thread are reported on a line of their own, so the figures of
            # questions asked alone stay comparable with the rounds before them.
            alone = [o for o in outcomes if not o.case.after]
            follow = [o for o in outcomes if o.case.after]
            for name, group in ((corpus.name, alone), ("  follow-ups", follow)):
                if not group:
                    continue
                s = summary(group, threshold)
                print(
                    f"{name:14} {db:8} {s['right']:>6} {s['refused']:>7} "
                    f"{s['wrong_src']:>9} {s['leaks']:>5}  {s['n']}"
                )
        if args.postgres:
            a, b = runs["sqlite"], runs["postgres"]
            same = sum(x.judge(threshold) == y.judge(threshold) for x, y in zip(a, b, strict=True))
            print(f"{'':14} {'agree':8} {same / len(a):.3f} of cases judged alike")
        outcomes = runs["sqlite"]
        if args.retrieval:
            for mode, (h1, h5, mrr) in retrieval_table(outcomes).items():
                print(f"{'':14}   {mode:8} hit@1 {h1:.3f}  hit@5 {h5:.3f}  MRR {mrr:.3f}")
        if args.curve:
            for t, right, wrong, refused in curve(outcomes):
                print(
                    f"{'':14}   t={t:.2f} right {right:.3f} wrong {wrong:.3f} "
                    f"wrongly refused {refused:.3f}"
                )
        for o in outcomes:
            verdict = o.judge(threshold)
            if dump is not None:
                # The gate is fitted on what Trellis would say without it: the verdict at 0.
                dump.write(
                    json.dumps(
                        {
                            "corpus": corpus.name,
                            "id": o.case.id,
                            "expect": o.case.expect_status,
                            "verdict": o.judge(0.0),
                            "confidence": o.result["confidence"],
                            "gold_rank": o.ranks.get("hybrid"),
                            "question": o.case.question,
                            "after": o.case.after,
                            "answer": o.result["answer"],
                            **o.features,
                        }
                    )
                    + "\n"
                )
            if args.verbose and verdict not in ("right", "refused_ok"):
                print(
                    f"  {verdict:13} {corpus.name}/{o.case.id} conf {o.result['confidence']} "
                    f"cited {cited(o.result)} | {o.case.question}"
                )
                print(f"                {o.result['answer'][:220]!r}")
        scratch.close()
    if dump is not None:
        dump.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
