"""Changing the live configuration of a running Trellis: reload, switch, tell the owners.

`reload(services)` puts the workspace folder through the eval gate (app/trust/versions.py).
When the new version goes live, the workspace, the identity resolver (the directory) and
the answerer (prompts, model routing) are switched together, between two awaits, so a
question sees either the old version or the new one, never a mix. Otherwise the live
version keeps answering and the owners channel is told why.

`watch` polls the folder every couple of seconds. When a versioned file changes it
reloads, so a saved configuration change goes through the gate by itself. When a file of
knowledge/ changes (its name, size or modification time), it brings the index in line,
as the start does (`sync_knowledge`: only changed documents are read and embedded again),
so answers follow a saved document with no command; while another replica re-indexes the
same database, it tries again at the next look. A file of knowledge/ that cannot be read
(`trellis check` lists the same problems) is told to the owners channel once, not at every
look: the last good version of its documents keeps being served until it is fixed, and a
problem fixed and made again is told again. `start` begins it once a starting process
has chosen what to serve (`app/trust/serving.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import structlog

from app.answering.base import Answerer
from app.config.snapshots import signature
from app.config.workspace import Workspace
from app.db.repositories.records import AuditRepository
from app.db.session import unavailable as database_unavailable
from app.knowledge.report import IngestReport
from app.knowledge.sync import Marks, knowledge_marks, reindexer, reindexing, sync_knowledge
from app.notifications import Delivery, KnowledgeUnreadable, VersionChanged
from app.services import Services, build_answerer, build_identity
from app.trust import owners
from app.trust.audit import AuditLog
from app.trust.serving import Served
from app.trust.versions import Gate, Verdict

log = structlog.get_logger(__name__)

POLL_SECONDS = 2.0
SETTLE_SECONDS = 0.3

Look = TypeVar("Look")


def gate_for(
    services: Services, *, answerer_for: Callable[[Workspace], Answerer] | None = None
) -> Gate:
    if services.eval_directory is None:
        raise ValueError("reloading needs services built with an eval_directory")
    return Gate(
        settings=services.settings,
        database=services.database,
        audit=services.audit,
        answerer_for=answerer_for or (lambda ws: build_answerer(services.settings, ws)),
        directory_for=services.eval_directory,
        clock=services.clock,
    )


def go_live(services: Services, workspace: Workspace, answerer: Answerer) -> None:
    services.live.switch(
        workspace=workspace, identity=build_identity(workspace, services.slack), answerer=answerer
    )


async def reload(
    services: Services,
    *,
    force: bool = False,
    answerer_for: Callable[[Workspace], Answerer] | None = None,
) -> Verdict:
    gate = gate_for(services, answerer_for=answerer_for)
    live = services.workspace
    verdict, candidate = await gate.consider(live.root, live_version=live.version, force=force)
    services.metrics.reloads.labels(outcome=verdict.outcome).inc()
    if verdict.outcome == "live" and candidate is not None:
        go_live(services, candidate, gate.answerer_for(candidate))
        scores = verdict.report.scores.as_dict() if verdict.report else None
        services.metrics.observe_version(version=candidate.version, scores=scores)
        log.info("version_live", version=candidate.version, previous=live.version)
        if not verdict.repeated:
            await services.audit.record(
                kind="version.live",
                subject_id=candidate.version,
                payload={
                    "version": candidate.version,
                    "previous": live.version,
                    "scores": scores,
                    "reason": verdict.reason,
                },
            )
            await tell_owners(services, VersionChanged(verdict, previous=live.version))
    elif verdict.outcome in ("refused", "broken") and not verdict.repeated:
        log.warning("version_refused", version=verdict.version, reason=verdict.reason)
        await services.audit.record(
            kind="version.refused",
            subject_id=verdict.version,
            payload={
                "version": verdict.version,
                "live": live.version,
                "broken": verdict.outcome == "broken",
                "reason": verdict.reason,
                "failed_cases": [r.case_id for r in verdict.report.results if not r.passed]
                if verdict.report
                else [],
            },
        )
        await tell_owners(services, VersionChanged(verdict, previous=live.version))
    return verdict


async def tell_owners(services: Services, news: VersionChanged | KnowledgeUnreadable) -> None:
    """Post `news` to the owners channel; a failure is logged, never raised."""
    about = news.verdict.version if isinstance(news, VersionChanged) else "knowledge"
    try:
        channel = await owners.owners_channel(services)
        if channel is None:
            log.info("owners_not_told", about=about, news=type(news).__name__)
            return
        await services.notifier.tell_owners(Delivery(channel), news)
    except Exception:
        log.exception("owners_notice_failed", about=about)


PROBLEMS_TOLD = "knowledge.problems_told"
"""The audit record of the knowledge problems the owners know of, written whenever that set
changes."""


class ToldProblems:
    """The knowledge problems the owners have been told of, so that each is told once: by
    one process of several on the database, and not again after a restart. The set lives in
    the audit trail (`PROBLEMS_TOLD`), read and written under the chain's lock."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    async def news(self, report: IngestReport) -> KnowledgeUnreadable | None:
        """The problems of `report` not told yet, and the files told of before that have
        none now; None when there is nothing new. A problem that is gone is forgotten, so
        that it is told again should it come back."""
        current = sorted({str(error) for error in report.errors})
        async with self.audit.database.session() as session:
            records = AuditRepository(session)
            await records.lock_chain()
            last = await records.latest(PROBLEMS_TOLD)
            told = set(last.payload.get("problems") or []) if last is not None else set()
            if set(current) == told:
                return None
            await self.audit.append(session, kind=PROBLEMS_TOLD, payload={"problems": current})
        fresh = tuple(problem for problem in current if problem not in told)
        still = {_file_of(problem) for problem in current}
        fixed = tuple(sorted({_file_of(p) for p in told} - still))
        return KnowledgeUnreadable(fresh, fixed=fixed) if fresh or fixed else None


def _file_of(problem: str) -> str:
    """The file a `file:line: problem` is about."""
    return problem.split(":", 1)[0]


async def tell_knowledge_problems(
    services: Services, report: IngestReport, told: ToldProblems
) -> None:
    """Tell the owners channel about the files of knowledge/ `report` could not read that
    it was not told of yet, and about those it was told of that are read again. A failure is logged, never raised: they are told when
    knowledge/ is next indexed."""
    try:
        news = await told.news(report)
    except Exception:
        log.exception("knowledge_problems_not_told")
        return
    if news is not None:
        await tell_owners(services, news)


async def watch(
    services: Services,
    *,
    stop: asyncio.Event,
    interval_s: float = POLL_SECONDS,
    answerer_for: Callable[[Workspace], Answerer] | None = None,
    indexed: Marks | None = None,
    told: ToldProblems | None = None,
) -> None:
    """Reload whenever a versioned file of the workspace changes, and bring the index in
    line whenever a file of knowledge/ changes, until `stop` is set. `indexed`: the marks
    of knowledge/ the index was last brought in line with (None: at the first look);
    `told`: the knowledge problems the owners already know of."""
    root = services.workspace.root
    holder = reindexer("watcher")
    told = told or ToldProblems(services.audit)
    seen: tuple[tuple[str, int, int], ...] | None = (
        None  # the first look compares the folder with the live version
    )
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
            return
        except TimeoutError:
            pass
        current = signature(root)
        if current != seen:
            seen = await _settled(signature, root, current)
            try:
                verdict = await reload(services, answerer_for=answerer_for)
            except Exception:
                log.exception("reload_failed")
            else:
                if verdict.outcome == "live":  # its settings may index differently
                    indexed = None
        knowledge_dir = services.workspace.knowledge_dir
        marks = await asyncio.to_thread(knowledge_marks, knowledge_dir)
        if marks != indexed:
            marks = await _settled(knowledge_marks, knowledge_dir, marks)
            if await reindex(services, holder=holder, told=told):
                indexed = marks


async def _settled(look: Callable[[Path], Look], folder: Path, current: Look) -> Look:
    """What `look` sees in `folder` once an editor has finished writing (two looks alike)."""
    while True:
        await asyncio.sleep(SETTLE_SECONDS)
        settled = await asyncio.to_thread(look, folder)
        if settled == current:
            return current
        current = settled


async def reindex(services: Services, *, holder: str, told: ToldProblems) -> bool:
    """Bring the index in line with the live workspace's knowledge/, unless another process
    is re-indexing it now, and tell the owners of the files it could not read (`told`).
    False when it should be tried again at the next look."""
    try:
        async with reindexing(services.database, holder=holder, wait=False) as held:
            if not held:
                log.info("reindex_left_to_another_process")
                return False
            report = await sync_knowledge(services.database, services.workspace, leased=True)
    except Exception as error:
        if database_unavailable(error):
            log.warning("reindex_waits_for_database", error=repr(error))
            return False
        log.exception("reindex_failed")
        return True  # tried again when knowledge/ changes again
    log.info(
        "knowledge_reindexed",
        added=report.added,
        updated=report.updated,
        removed=report.removed,
        unchanged=report.unchanged,
        errors=[str(error) for error in report.errors],
    )
    await tell_knowledge_problems(services, report, told)
    return True


async def start(
    services: Services,
    *,
    stop: asyncio.Event,
    served: Served | None = None,
    indexed: Marks | None = None,
    knowledge: IngestReport | None = None,
) -> asyncio.Task[None]:
    """Tell the owners what the start decided about the folder's files (`served`, chosen
    by `serving.choose` before the services were built on it) and which files of
    knowledge/ the start's indexing (`knowledge`) could not read, then watch the folder
    (`indexed`: the marks of knowledge/ taken before the start indexed it)."""
    verdict = served.verdict if served else None
    report = verdict.report if verdict else None
    scores = report.scores.as_dict() if report and verdict and verdict.outcome == "live" else None
    services.metrics.observe_version(version=services.workspace.version, scores=scores)
    if served is not None and verdict is not None and not verdict.repeated:
        previous = services.workspace.version if verdict.outcome != "live" else served.previous
        await tell_owners(services, VersionChanged(verdict, previous=previous or "none"))
    told = ToldProblems(services.audit)
    if knowledge is not None:
        await tell_knowledge_problems(services, knowledge, told)
    return asyncio.create_task(
        watch(services, stop=stop, indexed=indexed, told=told), name="trellis-workspace-watcher"
    )


async def finish(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
