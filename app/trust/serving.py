"""Which workspace version a command that answers serves: `trellis run`, `trellis ask`.

The folder's files are served only once the eval gate has let them go live. `choose`
puts a folder Trellis has not judged yet through the gate (as `trellis reload` would),
then decides:

    the folder's version is live     serve the folder
    the folder's version was refused serve the live version from its stored files, and say
                                     so: which version, why, and how to change it
    nothing ever went live           refuse to start (`NothingLive`); a trial (`trellis
                                     ask`) answers from the folder, and says it may not
                                     go live

A folder that does not load at all stops the command with the file and line, before
anything is chosen. Knowledge and sandbox.yml are not part of a version: they always
come from the folder. A read-only report (`trellis about`) asks with `evaluate=False`: it
describes what is live now and never starts an evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.config.settings import Settings
from app.config.workspace import Workspace, load_workspace
from app.db.models.versions import ConfigVersion
from app.db.repositories.versions import VersionRepository
from app.db.session import Database
from app.domain import VersionStatus
from app.errors import SetupError, WorkspaceError
from app.services import build_answerer
from app.slack_people import SlackDirectory
from app.trust.audit import AuditLog
from app.trust.versions import Gate, Verdict, stored_workspace

ATTEMPTS = 3
"""Reads of a folder whose files keep changing while they are read, before giving up."""


class NothingLive(SetupError):
    """The folder's version may not go live and no earlier version ever did."""


@dataclass(frozen=True)
class Served:
    workspace: Workspace
    """What answers: the folder's files, or the live version's stored ones."""
    folder_version: str
    verdict: Verdict | None = None
    """The gate's verdict on the folder's files, when they are not the live version."""
    previous: str | None = None
    """The version that was live before the choice."""
    live_since: str = ""
    trial: bool = False
    """The folder's files answer though they did not go live (`choose`'s `trial`)."""

    @property
    def from_folder(self) -> bool:
        return self.workspace.version == self.folder_version

    def notes(self) -> list[str]:
        """What an operator should read at start: which version answers and why; empty
        when the folder's files are live and were tested."""
        notes = []
        verdict = self.verdict
        if self.trial and verdict is not None:
            notes.append(
                f"Version {self.folder_version} did not pass the eval gate ({verdict.reason}) "
                "and no version is live yet: this answer comes from the folder's files as "
                "they are, for you to try; `trellis run` will not answer anyone in Slack from "
                "them until `trellis eval` passes."
            )
        elif not self.from_folder and verdict is not None:
            served = self.workspace.version
            notes.append(
                f"The workspace folder holds version {self.folder_version}, which did not go "
                f"live: {verdict.reason}. Serving version {served}, the live one"
                f"{self.live_since}, from its stored files. To serve the folder's files, fix "
                "them until `trellis eval` passes, then run `trellis reload`; or run "
                f"`trellis rollback {served}` to put the live version's files back."
            )
        elif not self.from_folder:
            notes.append(
                f"The workspace folder holds version {self.folder_version}, which has not been "
                f"through the eval gate: described here is version {self.workspace.version}, "
                f"the live one{self.live_since}. `trellis reload` puts the folder's files "
                "through the gate."
            )
        elif verdict is not None and verdict.outcome == "live" and not verdict.repeated:
            notes.append(f"Version {verdict.version} passed the eval gate and is live.")
        if not self.workspace.evals:
            notes.append(
                f"Version {self.workspace.version} has no eval cases: the eval gate tests "
                "nothing. Add questions to evals/*.yml (the answers and sources you expect)."
            )
        return notes


def gate(
    settings: Settings, database: Database, *, directory_for: Callable[[Workspace], SlackDirectory]
) -> Gate:
    """The eval gate as a command that answers runs it: answering as the settings say,
    asking as `directory_for`'s people."""
    return Gate(
        settings=settings,
        database=database,
        audit=AuditLog(database),
        answerer_for=lambda ws: build_answerer(settings, ws),
        directory_for=directory_for,
    )


async def choose(
    gate: Gate, root: Path, *, by: str, evaluate: bool = True, trial: bool = False
) -> Served:
    """The version to serve from the folder `root` (see the module's docstring). A new
    verdict is recorded in the audit trail, `by` naming the command; telling the owners is
    the caller's (it knows how to reach them). `trial`: an operator trying the folder out
    (`trellis ask`), who is answered from it when no version ever went live, so a failing
    case can be asked and seen (nobody in Slack is answered from it)."""
    for _ in range(ATTEMPTS):
        folder = load_workspace(root)  # a broken folder stops here, with file and line
        live = await _live(gate)
        if live is not None and live.version == folder.version:
            return Served(folder, folder.version)
        if not evaluate:
            return await _without_evaluating(gate, root, folder, live)
        verdict, candidate = await gate.consider(root, live_version=live.version if live else None)
        if verdict.outcome == "unchanged":
            continue  # the files changed while being read: read them again
        if not verdict.repeated:
            await record_verdict(gate, verdict, previous=live.version if live else None, by=by)
        if verdict.outcome == "live" and candidate is not None:
            return Served(candidate, candidate.version, verdict, live.version if live else None)
        if live is None and trial:
            return Served(folder, folder.version, verdict, trial=True)
        return _live_instead(root, folder.version, verdict, live)
    raise SetupError(
        str(root), "the workspace's files kept changing while they were read; try again"
    )


async def _live(gate: Gate) -> ConfigVersion | None:
    async with gate.database.session() as session:
        return await VersionRepository(session).live()


async def _without_evaluating(
    gate: Gate, root: Path, folder: Workspace, live: ConfigVersion | None
) -> Served:
    if live is None:  # nothing went live yet: the folder is all there is to describe
        return Served(folder, folder.version)
    async with gate.database.session() as session:
        known = await VersionRepository(session).get(folder.version)
    verdict = None
    if known is not None and known.status == VersionStatus.REFUSED:
        verdict = Verdict("refused", folder.version, known.reason, repeated=True)
    workspace = _load_live(root, folder.version, live)
    return Served(workspace, folder.version, verdict, live.version, _since(live))


def _live_instead(
    root: Path, folder_version: str, verdict: Verdict, live: ConfigVersion | None
) -> Served:
    if live is None:
        raise NothingLive(
            str(root),
            f"version {folder_version} did not pass the eval gate ({verdict.reason}) and no "
            "earlier version ever went live, so there is nothing to serve; `trellis eval` "
            "shows each case; fix the workspace until it passes, then start again",
        )
    workspace = _load_live(root, folder_version, live)
    return Served(workspace, folder_version, verdict, live.version, _since(live))


def _load_live(root: Path, folder_version: str, live: ConfigVersion) -> Workspace:
    try:
        return stored_workspace(live, root)
    except WorkspaceError as exc:
        raise NothingLive(
            str(root),
            f"the folder's version {folder_version} is not live, and the live version "
            f"{live.version} no longer loads ({exc.user_message}); fix the folder's files "
            "until `trellis eval` passes, then `trellis reload`",
        ) from exc


def _since(live: ConfigVersion) -> str:
    return f" since {live.live_since:%Y-%m-%d %H:%M} UTC" if live.live_since else ""


async def record_verdict(gate: Gate, verdict: Verdict, *, previous: str | None, by: str) -> None:
    """The audit record of a verdict reached now: `by` names the command that asked."""
    kind = "version.live" if verdict.outcome == "live" else "version.refused"
    await gate.audit.record(
        kind=kind,
        subject_id=verdict.version,
        payload={
            "version": verdict.version,
            "previous": previous,
            "reason": verdict.reason,
            "broken": verdict.outcome == "broken",
            "by": by,
            "scores": verdict.report.scores.as_dict() if verdict.report else None,
            "untested": verdict.untested,
        },
    )
