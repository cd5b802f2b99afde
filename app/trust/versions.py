"""Configuration versions and the eval gate.

A version is the content of the workspace's configuration files (trellis.yml, rules.yml,
the directory, prompts/, evals/), named by their hash (`Workspace.version`). Every
version Trellis sees is stored in `config_versions` with a snapshot of those files, its
eval scores and its status: live (exactly one), refused, or retired. Every answer
records the version it used in its audit record.

When the files change (`trellis reload`, or the watcher in `serve`), `consider` decides:

    unchanged   the files are the live version
    broken      a file does not load: the live version stays, the owners hear file and line
    live        the eval set passes the thresholds and scores no worse than the live
                version on the same cases: it goes live
    refused     otherwise: the live version stays and the owners hear why

The live version's scores are measured on the candidate's eval cases, so adding a hard
case to evals/ does not look like a regression. A version with no eval cases tested
nothing: it goes live (with a warning everywhere it is reported) only while the live
version had none either, so emptying evals/ is not a way past the gate. A version already
refused is not evaluated again unless forced; one already marked live (by another process
or by `rollback`) is switched to without evaluating.

A version's files are read, hashed and written back by `app/config/snapshots.py`; which
version a starting process serves is `app/trust/serving.py`; `rollback` is
`app/trust/rollback.py`; the command-line side (`trellis reload`, `versions`, `rollback`)
is `app/cli/versions.py`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog

from app.answering.base import Answerer
from app.config.sandbox import SANDBOX_FILE
from app.config.settings import Settings
from app.config.snapshots import files_version, materialize, snapshot
from app.config.workspace import Workspace, load_workspace
from app.db.models.versions import ConfigVersion
from app.db.repositories.versions import VersionRepository
from app.db.session import Database
from app.domain import VersionStatus
from app.errors import WorkspaceError
from app.slack_people import SlackDirectory
from app.trust.audit import AuditLog
from app.trust.evals import UNTESTED, EvalReport, EvalScores, cases_hash, record_run, run_evals

log = structlog.get_logger(__name__)

Outcome = Literal["unchanged", "broken", "live", "refused"]
Evaluate = Callable[..., Awaitable[EvalReport]]
GATED_SCORES = ("status_accuracy", "source_recall")


# --- The gate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    version: str
    reason: str = ""
    report: EvalReport | None = None
    baseline: EvalScores | None = None
    repeated: bool = False
    """The same verdict was already recorded earlier (nothing new to tell anyone)."""

    @property
    def untested(self) -> bool:
        """Evaluated on no cases at all: passing said nothing about this version."""
        return self.report is not None and self.report.untested


@dataclass
class Gate:
    """Everything `consider` needs, none of it tied to a running app."""

    settings: Settings
    database: Database
    audit: AuditLog
    answerer_for: Callable[[Workspace], Answerer]
    directory_for: Callable[[Workspace], SlackDirectory]
    """Who a version's eval cases are asked as (see `run_evals`)."""
    evaluate: Evaluate = run_evals
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def consider(
        self, root: Path, *, live_version: str | None, force: bool = False
    ) -> tuple[Verdict, Workspace | None]:
        try:
            files = snapshot(root)
        except WorkspaceError as exc:
            return await self._broken("unreadable", {}, exc), None
        version = files_version(files)
        if version == live_version and not force:
            return Verdict("unchanged", version), None
        try:  # first: a folder that does not load is broken each time, never "refused"
            candidate = load_workspace(root)
        except WorkspaceError as exc:
            return await self._broken(version, files, exc), None
        if candidate.version != version:
            return Verdict("unchanged", version, "the files changed while being read"), None
        async with self.database.session() as session:
            known = await VersionRepository(session).get(version)
        if known is not None and not force and known.status == VersionStatus.REFUSED:
            return Verdict("refused", version, known.reason, repeated=True), None
        if known is not None and not force and known.status == VersionStatus.LIVE:
            return Verdict("live", version, "already live", repeated=True), candidate

        report = await self.evaluate(
            self.settings,
            candidate,
            directory=self.directory_for(candidate),
            answerer=self.answerer_for(candidate),
            production=self.database,
        )
        await record_run(self.audit, report, purpose="gate")
        baseline = await self._baseline(candidate, root)
        reasons = report.shortfalls() + _regressions(report, baseline)
        if report.untested and (tested := await self._live_cases(root)):
            reasons.append(
                f"it has no eval cases, so nothing was tested, while the live version was "
                f"tested on {tested}; add cases to evals/ (a version may not drop its eval set)"
            )
        if reasons:
            reasons += report.advice()
        outcome: Outcome = "refused" if reasons else "live"
        reason = "; ".join(reasons) if reasons else _scores_text(report.scores)
        await self._save(version, files, outcome, reason, report.scores.as_dict())
        return Verdict(outcome, version, reason, report, baseline), candidate

    async def _baseline(self, candidate: Workspace, root: Path) -> EvalScores | None:
        """The live version's scores on the candidate's eval cases."""
        async with self.database.session() as session:
            live = await VersionRepository(session).live()
        if live is None or live.version == candidate.version or not candidate.evals:
            return None
        stored = EvalScores.from_dict(live.eval_scores)
        report_cases = candidate.evals
        if stored is not None and stored.cases_hash == cases_hash(report_cases):
            return stored
        try:
            workspace = stored_workspace(live, root)
        except WorkspaceError as exc:
            log.warning("live_version_unloadable", version=live.version, error=str(exc))
            return None
        report = await self.evaluate(
            self.settings,
            workspace,
            directory=self.directory_for(workspace),
            answerer=self.answerer_for(workspace),
            cases=report_cases,
            production=self.database,
        )
        await record_run(self.audit, report, purpose="baseline")
        if stored is None and report.scores.cases_hash == cases_hash(workspace.evals):
            async with self.database.session() as session:
                await VersionRepository(session).set_scores(live.version, report.scores.as_dict())
        return report.scores

    async def _live_cases(self, root: Path) -> int:
        """How many eval cases the live version has (0 when there is none)."""
        async with self.database.session() as session:
            live = await VersionRepository(session).live()
        if live is None:
            return 0
        try:
            return len(stored_workspace(live, root).evals)
        except WorkspaceError:
            scores = EvalScores.from_dict(live.eval_scores)
            return scores.cases if scores else 0

    async def _broken(self, version: str, files: dict[str, str], exc: WorkspaceError) -> Verdict:
        reason = exc.summary()
        if files:
            async with self.database.session() as session:
                known = await VersionRepository(session).get(version)
            if (
                known is not None
                and known.status == VersionStatus.REFUSED
                and known.reason == reason
            ):
                return Verdict("broken", version, reason, repeated=True)
            await self._save(version, files, "refused", reason, None)
        return Verdict("broken", version, reason)

    async def _save(
        self,
        version: str,
        files: dict[str, str],
        outcome: str,
        reason: str,
        scores: dict[str, Any] | None,
    ) -> ConfigVersion:
        status = VersionStatus.LIVE if outcome == "live" else VersionStatus.REFUSED
        async with self.database.session() as session:
            return await VersionRepository(session).save(
                version=version,
                files=json.dumps(files, sort_keys=True),
                status=status,
                reason=reason,
                eval_scores=scores,
                now=self.clock(),
            )

    async def live_version(self) -> str | None:
        async with self.database.session() as session:
            live = await VersionRepository(session).live()
        return live.version if live else None

    async def live_workspace(self, root: Path) -> Workspace | None:
        """The live version as it answers from the folder `root`; None when no version is
        live, or its stored files no longer load."""
        async with self.database.session() as session:
            live = await VersionRepository(session).live()
        if live is None:
            return None
        try:
            return stored_workspace(live, root)
        except WorkspaceError as exc:
            log.warning("live_version_unloadable", version=live.version, error=str(exc))
            return None

    async def versions(self) -> list[ConfigVersion]:
        async with self.database.session() as session:
            return list(await VersionRepository(session).all())


def stored_workspace(row: ConfigVersion, root: Path) -> Workspace:
    """A stored version loaded as it would run from the folder `root`: its own configuration
    files, the folder's knowledge and sandbox.yml (neither is part of a version)."""
    with tempfile.TemporaryDirectory(prefix="trellis-version-") as scratch:
        into = Path(scratch)
        if (root / SANDBOX_FILE).is_file():
            shutil.copyfile(root / SANDBOX_FILE, into / SANDBOX_FILE)
        return materialize(json.loads(row.files), like=root, into=into)


def refusal_text(verdict: Verdict, *, live_version: str) -> str:
    if verdict.outcome == "broken":
        return (
            f":warning: A workspace change could not be loaded: {verdict.reason}. "
            f"Trellis keeps answering with version `{live_version}`. Fix the file and save "
            "it again (or run `trellis reload`)."
        )
    failed = [r.case_id for r in verdict.report.results if not r.passed] if verdict.report else []
    cases = f" Failing eval cases: {', '.join(failed[:10])}." if failed else ""
    return (
        f":no_entry: Version `{verdict.version}` did not go live: {verdict.reason}. "
        f"Trellis keeps answering with version `{live_version}`.{cases} "
        "Run `trellis eval` to see every case."
    )


def _regressions(report: EvalReport, baseline: EvalScores | None) -> list[str]:
    if baseline is None:
        return []
    allowed = report.thresholds.allowed_regression
    reasons = []
    for name in GATED_SCORES:
        new, old = getattr(report.scores, name), getattr(baseline, name)
        if new < old - allowed - 1e-9:
            reasons.append(
                f"{name.replace('_', ' ')} {new:.0%} is below the live version's {old:.0%}"
            )
    return reasons


def _scores_text(scores: EvalScores) -> str:
    if not scores.cases:
        return UNTESTED
    return (
        f"status accuracy {scores.status_accuracy:.0%}, source precision "
        f"{scores.source_precision:.0%}, source recall {scores.source_recall:.0%}, "
        f"fact recall {scores.fact_recall:.0%} on {scores.cases} cases"
    )
