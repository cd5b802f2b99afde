"""`trellis reload`, `trellis versions` and `trellis rollback`: the eval gate from the
command line (see `app/trust/versions.py`). A running Trellis follows what these record.
`reload` also brings the index in line with knowledge/, as a running Trellis's watcher
does by itself (`app/trust/reload.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.cli.operations import offline_directory, tell_owners_from_cli
from app.config.settings import Settings
from app.config.snapshots import files_version, snapshot
from app.db.migrate import open_database
from app.db.models.versions import ConfigVersion
from app.db.session import Database
from app.errors import WorkspaceError
from app.knowledge.report import IngestReport
from app.knowledge.sync import check_served, sync_knowledge
from app.services import check_anthropic_key
from app.trust import serving
from app.trust.rollback import RolledBack, rollback
from app.trust.versions import Gate, Verdict


def _gate(settings: Settings, database: Database) -> Gate:
    return serving.gate(settings, database, directory_for=offline_directory)


@dataclass(frozen=True)
class Reloaded:
    verdict: Verdict
    """The gate's verdict on the folder's configuration files."""
    knowledge: IngestReport | None
    """What bringing the index in line with knowledge/ changed; None when no version is
    live to answer from it."""
    previous: str | None = None
    """The version live before the verdict; None when none ever went live."""


async def reload_from_cli(settings: Settings, *, force: bool = False) -> Reloaded:
    """`trellis reload`: gate the folder, then bring the index in line with knowledge/ for
    the version that answers; a running Trellis follows what is recorded here."""
    root = settings.workspace_path()
    await check_anthropic_key(settings)
    async with open_database(settings.database_url) as database:
        await check_served(database, root)  # before the gate records anything in it
        gate = _gate(settings, database)
        live = await gate.live_version()
        verdict, candidate = await gate.consider(root, live_version=live, force=force)
        if not verdict.repeated and verdict.outcome != "unchanged":
            await serving.record_verdict(gate, verdict, previous=live, by="cli")
            if verdict.outcome != "live":
                await tell_owners_from_cli(settings, verdict, live=live)
        answering = candidate if verdict.outcome == "live" else None
        answering = answering or await gate.live_workspace(root)
        knowledge = None
        if answering is not None:
            knowledge = await sync_knowledge(database, answering)
    return Reloaded(verdict, knowledge, live)


async def list_versions(settings: Settings) -> tuple[list[ConfigVersion], str | None]:
    """Every version seen, newest first, and the version of the folder as it is now."""
    async with open_database(settings.database_url) as database:
        await check_served(database, settings.workspace_path())
        rows = await _gate(settings, database).versions()
    try:
        current = files_version(snapshot(settings.workspace_path()))
    except WorkspaceError:
        current = None
    return rows, current


async def rollback_from_cli(
    settings: Settings, version: str, *, force: bool = False, allow_refused: bool = False
) -> RolledBack:
    async with open_database(settings.database_url) as database:
        await check_served(database, settings.workspace_path())
        return await rollback(
            _gate(settings, database),
            settings.workspace_path(),
            version,
            force=force,
            allow_refused=allow_refused,
        )
