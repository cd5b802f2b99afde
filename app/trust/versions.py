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
case to evals/ does not look like a regression. A version already refused is not
evaluated again unless forced; one already marked live (by another process or by
`rollback`) is switched to without evaluating.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import structlog

from app.answering.base import Answerer
from app.cli.operations import open_database
from app.config.settings import Settings
from app.config.workspace import (
    DIRECTORY_FILES,
    PROMPT_SUFFIXES,
    RULES_FILE,
    TRELLIS_FILE,
    Workspace,
    load_workspace,
)
from app.db.models.versions import ConfigVersion
from app.db.repositories.versions import LIVE, REFUSED, VersionRepository
from app.db.session import Database
from app.errors import TrellisError, WorkspaceError
from app.services import build_answerer
from app.slack_api import SlackGateway, retrying_client
from app.trust.audit import AuditLog
from app.trust.evals import EvalReport, EvalScores, cases_hash, record_run, run_evals

log = structlog.get_logger(__name__)

Outcome = Literal["unchanged", "broken", "live", "refused"]
Evaluate = Callable[..., Awaitable[EvalReport]]
GATED_SCORES = ("status_accuracy", "source_recall")


# --- Files ------------------------------------------------------------------------------


def versioned_paths(root: Path) -> list[Path]:
    """The files a version is made of, as `workspace_version` hashes them."""
    paths = [root / TRELLIS_FILE, root / RULES_FILE, *(root / name for name in DIRECTORY_FILES)]
    for folder, suffixes in (("prompts", PROMPT_SUFFIXES), ("evals", (".yml",))):
        if (root / folder).is_dir():
            paths += [
                p
                for p in (root / folder).iterdir()
                if p.is_file() and not p.name.startswith(".") and p.suffix in suffixes
            ]
    return sorted((p for p in paths if p.is_file()), key=lambda p: p.relative_to(root).as_posix())


def snapshot(root: Path) -> dict[str, str]:
    """{relative path: text} of every versioned file."""
    files = {}
    for path in versioned_paths(root):
        name = path.relative_to(root).as_posix()
        try:
            files[name] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(name, f"is not UTF-8 text ({exc.reason})") from exc
    return files


def files_version(files: dict[str, str]) -> str:
    """The version of a snapshot: the same hash `workspace_version` gives the folder."""
    digest = hashlib.sha256()
    for name in sorted(files):
        content = files[name].encode("utf-8").replace(b"\r\n", b"\n")
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:12]


def signature(root: Path) -> tuple:
    """Cheap change detection for the watcher: names, sizes and modification times."""
    marks = []
    for path in versioned_paths(root):
        stat = path.stat()
        marks.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(marks)


def restore(root: Path, files: dict[str, str]) -> None:
    """Write a snapshot back into the folder; versioned files it does not have are removed."""
    for path in versioned_paths(root):
        if path.relative_to(root).as_posix() not in files:
            path.unlink()
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))


def materialize(files: dict[str, str], *, like: Path, into: Path) -> Workspace:
    """Load a snapshot as a Workspace that answers from the knowledge of the folder `like`."""
    restore(into, files)
    (into / "knowledge").mkdir(exist_ok=True)
    loaded = load_workspace(into)
    real = like.resolve()
    return dataclasses.replace(loaded, root=real, knowledge_dir=real / "knowledge")


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


@dataclass
class Gate:
    """Everything `consider` needs, none of it tied to a running app."""

    settings: Settings
    database: Database
    audit: AuditLog
    answerer_for: Callable[[Workspace], Answerer]
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
        async with self.database.session() as session:
            known = await VersionRepository(session).get(version)
        if known is not None and not force and known.status == REFUSED:
            return Verdict("refused", version, known.reason, repeated=True), None
        try:
            candidate = load_workspace(root)
        except WorkspaceError as exc:
            return await self._broken(version, files, exc), None
        if candidate.version != version:
            return Verdict("unchanged", version, "the files changed while being read"), None
        if known is not None and not force and known.status == LIVE:
            return Verdict("live", version, "already live", repeated=True), candidate

        report = await self.evaluate(
            self.settings,
            candidate,
            answerer=self.answerer_for(candidate),
            production=self.database,
        )
        await record_run(self.audit, report, purpose="gate")
        baseline = await self._baseline(candidate, root)
        reasons = report.shortfalls() + _regressions(report, baseline)
        outcome: Outcome = "refused" if reasons else "live"
        reason = "; ".join(reasons) if reasons else _scores_text(report.scores)
        await self._save(version, files, outcome, reason, report.scores.as_dict())
        return Verdict(outcome, version, reason, report, baseline), candidate

    async def _baseline(self, candidate: Workspace, root: Path) -> EvalScores | None:
        """The live version's scores on the candidate's eval cases."""
        async with self.database.session() as session:
            live = await VersionRepository(session).live()
        if live is None or live.version == candidate.version:
            return None
        stored = EvalScores.from_dict(live.eval_scores)
        report_cases = candidate.evals
        if stored is not None and stored.cases_hash == cases_hash(report_cases):
            return stored
        with tempfile.TemporaryDirectory(prefix="trellis-live-") as scratch:
            try:
                workspace = materialize(json.loads(live.files), like=root, into=Path(scratch))
            except WorkspaceError as exc:
                log.warning("live_version_unloadable", version=live.version, error=str(exc))
                return None
            report = await self.evaluate(
                self.settings,
                workspace,
                answerer=self.answerer_for(workspace),
                cases=report_cases,
                production=self.database,
            )
        await record_run(self.audit, report, purpose="baseline")
        if stored is None and report.scores.cases_hash == cases_hash(workspace.evals):
            async with self.database.session() as session:
                await VersionRepository(session).set_scores(live.version, report.scores.as_dict())
        return report.scores

    async def _broken(self, version: str, files: dict[str, str], exc: WorkspaceError) -> Verdict:
        reason = exc.user_message
        if files:
            async with self.database.session() as session:
                known = await VersionRepository(session).get(version)
            if known is not None and known.status == REFUSED and known.reason == reason:
                return Verdict("broken", version, reason, repeated=True)
            await self._save(version, files, "refused", reason, None)
        return Verdict("broken", version, reason)

    async def _save(
        self, version: str, files: dict[str, str], outcome: str, reason: str, scores: dict | None
    ) -> ConfigVersion:
        status = LIVE if outcome == "live" else REFUSED
        async with self.database.session() as session:
            return await VersionRepository(session).save(
                version=version,
                files=json.dumps(files, sort_keys=True),
                status=status,
                reason=reason,
                eval_scores=scores,
                now=self.clock(),
            )

    async def register(self, workspace: Workspace) -> None:
        """Record the version a process starts with as live (keeping scores it already has)."""
        files = snapshot(workspace.root)
        version = files_version(files)
        async with self.database.session() as session:
            repo = VersionRepository(session)
            live = await repo.live()
            if live is not None and live.version == version:
                return
            await repo.save(
                version=version,
                files=json.dumps(files, sort_keys=True),
                status=LIVE,
                reason="started with this version",
                now=self.clock(),
            )

    async def rollback(self, root: Path, version: str) -> ConfigVersion:
        """Write an earlier version's files into the folder and make it live."""
        async with self.database.session() as session:
            matches = await VersionRepository(session).find(version)
        if not matches:
            raise TrellisError(f"There is no version {version}. `trellis versions` lists them.")
        if len(matches) > 1:
            raise TrellisError(
                f"{version} could be any of {', '.join(m.version for m in matches)}; "
                "give more of the hash."
            )
        target = matches[0]
        files = json.loads(target.files)
        current = snapshot(root)
        restore(root, files)
        try:
            load_workspace(root)
        except WorkspaceError as exc:
            restore(root, current)
            raise TrellisError(
                f"Version {target.version} no longer loads ({exc.user_message}); "
                "the workspace was left as it was."
            ) from exc
        previous = await self.live_version()
        async with self.database.session() as session:
            row = await VersionRepository(session).save(
                version=target.version,
                files=target.files,
                status=LIVE,
                reason=f"rolled back from {previous or 'nothing'}",
                now=self.clock(),
            )
            await self.audit.append(
                session,
                kind="version.rollback",
                subject_id=target.version,
                payload={"version": target.version, "previous": previous},
            )
        return row

    async def live_version(self) -> str | None:
        async with self.database.session() as session:
            live = await VersionRepository(session).live()
        return live.version if live else None

    async def versions(self) -> list[ConfigVersion]:
        async with self.database.session() as session:
            return list(await VersionRepository(session).all())


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
    return (
        f"status accuracy {scores.status_accuracy:.0%}, source precision "
        f"{scores.source_precision:.0%}, source recall {scores.source_recall:.0%} "
        f"on {scores.cases} cases"
    )


# --- From the command line --------------------------------------------------------------


def _gate(settings: Settings, database: Database) -> Gate:
    return Gate(
        settings=settings,
        database=database,
        audit=AuditLog(database),
        answerer_for=lambda ws: build_answerer(settings, ws),
    )


async def reload_from_cli(settings: Settings, *, force: bool = False) -> Verdict:
    """`trellis reload`: gate the folder; a running Trellis follows what is recorded here."""
    root = settings.workspace_path()
    async with open_database(settings) as database:
        gate = _gate(settings, database)
        live = await gate.live_version()
        verdict, _ = await gate.consider(root, live_version=live, force=force)
        if verdict.repeated or verdict.outcome == "unchanged":
            return verdict
        kind = "version.live" if verdict.outcome == "live" else "version.refused"
        await gate.audit.record(
            kind=kind,
            subject_id=verdict.version,
            payload={
                "version": verdict.version,
                "previous": live,
                "reason": verdict.reason,
                "broken": verdict.outcome == "broken",
                "by": "cli",
                "scores": verdict.report.scores.as_dict() if verdict.report else None,
            },
        )
        if verdict.outcome != "live":
            await _tell_owners_from_cli(settings, root, verdict, live)
    return verdict


async def _tell_owners_from_cli(
    settings: Settings, root: Path, verdict: Verdict, live: str | None
) -> None:
    if not settings.slack_enabled:
        return
    try:
        channel = load_workspace(root).config.owners_channel
    except WorkspaceError:
        channel = None
    if not channel:
        return
    client = retrying_client(
        settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    text = refusal_text(verdict, live_version=live or "the last good one")
    try:
        await SlackGateway(client).post(channel=channel, text=text)
    except Exception:
        log.exception("owners_notice_failed", channel=channel)


async def list_versions(settings: Settings) -> tuple[list[ConfigVersion], str | None]:
    """Every version seen, newest first, and the version of the folder as it is now."""
    async with open_database(settings) as database:
        rows = await _gate(settings, database).versions()
    try:
        current = files_version(snapshot(settings.workspace_path()))
    except WorkspaceError:
        current = None
    return rows, current


async def rollback_from_cli(settings: Settings, version: str) -> ConfigVersion:
    async with open_database(settings) as database:
        return await _gate(settings, database).rollback(settings.workspace_path(), version)
