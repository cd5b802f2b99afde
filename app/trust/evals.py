"""The golden set: run a workspace's eval cases through the real pipeline and score them.

Each case (evals/*.yml: id, question, asker, channel, expect_status, expect_sources,
expect_facts) is
asked as its asker would ask it, through `answer_question`, in a scratch SQLite database
holding an index of the workspace's knowledge brought up to date from production's (only
documents changed since production's last ingest are read and embedded again). Who the askers are and who is in each
channel comes from the directory the caller passes in (the CLI and the runtime pass the
sandbox's, built from the workspace's people and sandbox.yml), never from the live Slack.
Production tables, audit trail and metrics are never touched; the only trace in
production is one `eval.run` audit record (see `record_run`), which measurement leaves out.

For each case: the status must match; every expected source must be cited (and nothing
cited when none is expected); every expected fact must be stated, in the answer or the
asker's fuller private one; and nothing may leak: no cited document, and no sentence
of a document, that the asker (or, for the channel answer, a member of the channel) may
not see. The scores:

    status accuracy    cases with the expected status / cases
    source precision   cited documents that were expected / cited documents (all cases)
    source recall      expected documents that were cited / expected documents (all cases)
    fact recall        expected facts the answers state / expected facts (all cases)

A run passes when status accuracy, source recall and fact recall reach trellis.yml's
`evals: {min_status_accuracy, min_source_recall, min_fact_recall}` and nothing leaked. A run of no cases
tested nothing: it passes the thresholds but is `untested`, which every report of it says
(the gate lets such a version go live only while the live one had no cases either).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from app.answering.base import Answerer
from app.answering.pricing import cost_of, usage_from
from app.config.settings import Settings
from app.config.workspace import EvalCase, EvalsConfig, Workspace
from app.db.migrate import upgrade
from app.db.repositories.measurements import MeasurementRepository, chunk_texts, copy_tables
from app.db.session import Database
from app.domain import AccessScope, Usage
from app.identity import access
from app.knowledge.ingest import ingest
from app.knowledge.limits import MAX_DOCUMENT_CHARS
from app.knowledge.search import get_documents
from app.pipeline import Outcome, Question, answer_question
from app.services import Services, build_answerer, build_services
from app.slack_people import SlackChannel, SlackDirectory
from app.trust.audit import AuditLog

CARRIED_TABLES = ("curated_answers",)
"""Production tables an eval run starts from, when they exist."""
INDEX_TABLES = ("documents", "document_access", "chunks", "knowledge_state")
"""Production's index of the knowledge folder, which an eval run starts from: only what
changed since production's last ingest is read and embedded again."""

LEAK_MIN_CHARS = 60
"""Sentences shorter than this are too generic to count as leaked text."""

UNTESTED = "untested: it has no eval cases, so nothing was tested"


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    question: str
    expected_status: str
    status: str
    expected_sources: tuple[str, ...]
    cited: tuple[str, ...]
    leaked: tuple[str, ...] = ()
    answer: str = ""
    error: str | None = None
    unknown_sources: tuple[str, ...] = ()
    """Expected sources no indexed document has as its id (moved, renamed or gone from
    knowledge/, or a file ingest could not read)."""
    expected_facts: tuple[str, ...] = ()
    missing_facts: tuple[str, ...] = ()
    """Expected facts the answer does not state."""

    @property
    def status_ok(self) -> bool:
        return self.status == self.expected_status

    @property
    def sources_ok(self) -> bool:
        if not self.expected_sources:
            return not self.cited
        return set(self.expected_sources) <= set(self.cited)

    @property
    def facts_ok(self) -> bool:
        return not self.missing_facts

    @property
    def passed(self) -> bool:
        return self.status_ok and self.sources_ok and self.facts_ok and not self.leaked


@dataclass(frozen=True)
class EvalScores:
    cases: int
    status_accuracy: float
    source_precision: float
    source_recall: float
    leaks: int
    cases_hash: str
    cost_usd: float = 0.0
    fact_recall: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EvalScores | None:
        if not data:
            return None
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        try:
            return cls(**known)
        except TypeError:
            return None


@dataclass(frozen=True)
class EvalReport:
    version: str
    results: tuple[CaseResult, ...]
    scores: EvalScores
    thresholds: EvalsConfig
    usage: Usage = field(default_factory=Usage)

    def shortfalls(self) -> list[str]:
        """Why this run fails the thresholds, in words; empty when it passes."""
        reasons = []
        s, t = self.scores, self.thresholds
        if s.status_accuracy < t.min_status_accuracy:
            reasons.append(
                f"status accuracy {s.status_accuracy:.0%} is below the minimum "
                f"{t.min_status_accuracy:.0%}"
            )
        if s.source_recall < t.min_source_recall:
            reasons.append(
                f"source recall {s.source_recall:.0%} is below the minimum "
                f"{t.min_source_recall:.0%}"
            )
        if s.fact_recall < t.min_fact_recall:
            reasons.append(
                f"fact recall {s.fact_recall:.0%} is below the minimum {t.min_fact_recall:.0%}"
            )
        if s.leaks:
            reasons.append(f"{s.leaks} answer(s) showed a document to someone who may not see it")
        return reasons

    @property
    def passed(self) -> bool:
        return not self.shortfalls()

    def advice(self) -> list[str]:
        """What to change when cases expect documents the index does not have: the cases no
        longer fit the documents, whatever the answers."""
        unknown = sorted({s for r in self.results for s in r.unknown_sources})
        cases = [r.case_id for r in self.results if r.unknown_sources]
        if not unknown:
            return []
        return [
            f"{len(cases)} case(s) ({', '.join(cases)}) expect documents the index does not "
            f"have ({', '.join(unknown)}): change their expect_sources in evals/ to the "
            "documents that answer them now, or fix the files ingest could not read "
            "(`trellis check` names each line)"
        ]

    @property
    def untested(self) -> bool:
        """No case ran: the scores say nothing about this version."""
        return not self.results


def cases_hash(cases: Sequence[EvalCase]) -> str:
    # A case naming no facts hashes as it did before facts could be named.
    dumped = [c.model_dump(exclude=None if c.expect_facts else {"expect_facts"}) for c in cases]
    canonical = json.dumps(dumped, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


async def run_evals(
    settings: Settings,
    workspace: Workspace,
    *,
    directory: SlackDirectory,
    answerer: Answerer | None = None,
    cases: Sequence[EvalCase] | None = None,
    production: Database | None = None,
) -> EvalReport:
    """Run `cases` (default: the workspace's own) against `workspace` in a scratch database.

    `directory` answers for the workspace's people and channels, channels by name too.
    With `production`, what owners curated there (accepted corrections) is carried into
    the scratch database, so the eval cases written for corrections test them.
    """
    cases = tuple(workspace.evals if cases is None else cases)
    if not cases:  # nothing to ask, so no index to build
        return EvalReport(workspace.version, (), _score((), (), 0.0), workspace.config.evals)
    with tempfile.TemporaryDirectory(prefix="trellis-eval-") as scratch:
        database = Database(f"sqlite+aiosqlite:///{Path(scratch) / 'eval.db'}")
        try:
            await upgrade(database)
            if production is not None:
                await copy_tables(production, database, INDEX_TABLES)
            await ingest(
                database,
                workspace.knowledge_dir,
                workspace_root=workspace.root,
                retrieval=workspace.config.retrieval,
                allowed_url_prefixes=workspace.config.knowledge.allowed_url_prefixes,
                max_document_chars=(
                    workspace.config.knowledge.max_document_chars or MAX_DOCUMENT_CHARS
                ),
            )
            if production is not None:
                await copy_tables(production, database, CARRIED_TABLES)
            services = build_services(
                settings,
                workspace,
                database,
                slack=directory,
                answerer=answerer or build_answerer(settings, workspace),
            )
            indexed = {document.id for document in await get_documents(database)}
            results = [
                replace(
                    await _run_case(services, directory, case),
                    unknown_sources=tuple(s for s in case.expect_sources if s not in indexed),
                )
                for case in cases
            ]
            usage, cost = await _spend(services.audit)
        finally:
            await database.dispose()
    return EvalReport(
        workspace.version,
        tuple(results),
        _score(results, cases, cost),
        workspace.config.evals,
        usage,
    )


async def record_run(audit: AuditLog, report: EvalReport, *, purpose: str) -> None:
    """One `eval.run` record in production: what was evaluated, how it scored, what it cost."""
    await audit.record(
        kind="eval.run",
        subject_id=report.version,
        payload={
            "version": report.version,
            "purpose": purpose,
            "scores": report.scores.as_dict(),
            "passed": report.passed,
            "failed_cases": [r.case_id for r in report.results if not r.passed],
            "usage": report.usage.__dict__,
        },
    )


async def _run_case(services: Services, directory: SlackDirectory, case: EvalCase) -> CaseResult:
    person = services.workspace.directory.by_email(case.asker)
    base = CaseResult(  # an error until the case has run
        case_id=case.id,
        question=case.question,
        expected_status=case.expect_status,
        status="error",
        expected_sources=tuple(case.expect_sources),
        cited=(),
        expected_facts=tuple(case.expect_facts),
        missing_facts=tuple(case.expect_facts),
    )
    try:
        channel = (
            await directory.channel(case.channel)
            if case.channel
            else SlackChannel(id="eval", name="eval", is_im=True)
        )
    except LookupError:
        return replace(base, error=f"channel {case.channel} is not in sandbox.yml")
    try:
        outcome = await answer_question(
            services,
            Question(
                text=case.question,
                channel=channel,
                person=person,
                slack_user_id=person.slack_id if person else f"eval:{case.asker}",
            ),
        )
    except Exception as exc:  # a crash is a failed case, not a failed run
        return replace(base, error=f"{type(exc).__name__}: {exc}")
    cited = [c.doc_id for c in outcome.public.citations]
    stated = outcome.public.text
    if outcome.private is not None:
        cited += [c.doc_id for c in outcome.private.citations]
        stated += "\n" + outcome.private.text
    leaked = await _leaks(services, outcome, channel) if person is not None else ()
    return replace(
        base,
        status=outcome.status.value,
        cited=tuple(dict.fromkeys(cited)),
        leaked=leaked,
        answer=outcome.public.text,
        missing_facts=tuple(f for f in case.expect_facts if _normal(f) not in _normal(stated)),
    )


async def _leaks(services: Services, outcome: Outcome, channel: SlackChannel) -> tuple[str, ...]:
    """Documents shown to someone who may not see them, by citation or by their text."""
    person = outcome.person
    assert person is not None
    audience = await access.audience_for(
        asker=person, channel=channel, slack=services.slack, identity=services.identity
    )
    asker_scope = AccessScope.for_person(person)
    documents = await get_documents(services.database)
    leaked: list[str] = []
    shown = [(outcome.public, audience.scope)]
    if outcome.private is not None:
        shown.append((outcome.private, asker_scope))
    async with services.database.session() as session:
        for reply, scope in shown:
            hidden = {d.id for d in documents if not scope.allows(d.access)}
            leaked += [c.doc_id for c in reply.citations if c.doc_id in hidden]
            answer = _normal(reply.text)
            suspects = {
                doc_id: [s for s in _sentences(" ".join(texts)) if s in answer]
                for doc_id, texts in (await chunk_texts(session, hidden)).items()
            }
            suspects = {doc_id: found for doc_id, found in suspects.items() if found}
            if not suspects:
                continue
            # A sentence that a visible document also contains is not a leak.
            visible = await chunk_texts(session, {d.id for d in documents} - hidden)
            visible_text = _normal(" ".join(t for texts in visible.values() for t in texts))
            leaked += [
                doc_id
                for doc_id, found in suspects.items()
                if any(s not in visible_text for s in found)
            ]
    return tuple(dict.fromkeys(leaked))


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [s for s in (_normal(p) for p in parts) if len(s) >= LEAK_MIN_CHARS]


async def _spend(audit: AuditLog) -> tuple[Usage, float]:
    usage, cost = Usage(), 0.0
    async with audit.database.session() as session:
        async for record in MeasurementRepository(session).records_since(None):
            used = usage_from(record.payload.get("usage"))
            usage += used
            cost += cost_of(used, record.payload.get("model")).total
    return usage, cost


def _score(results: Sequence[CaseResult], cases: Sequence[EvalCase], cost: float) -> EvalScores:
    total = len(results)
    right_status = sum(r.status_ok for r in results)
    hits = sum(len(set(r.cited) & set(r.expected_sources)) for r in results)
    cited = sum(len(set(r.cited)) for r in results)
    expected = sum(len(set(r.expected_sources)) for r in results)
    facts = sum(len(r.expected_facts) for r in results)
    stated = facts - sum(len(r.missing_facts) for r in results)
    return EvalScores(
        cases=total,
        status_accuracy=round(right_status / total, 4) if total else 1.0,
        source_precision=round(hits / cited, 4) if cited else 1.0,
        source_recall=round(hits / expected, 4) if expected else 1.0,
        leaks=sum(1 for r in results if r.leaked),
        cases_hash=cases_hash(cases),
        cost_usd=round(cost, 6),
        fact_recall=round(stated / facts, 4) if facts else 1.0,
    )
