"""`trellis reload`, `trellis versions` and `trellis rollback`: the eval gate from the
command line (see `app/trust/versions.py`). A running Trellis follows what these record.
"""

from __future__ import annotations

from app.cli.operations import offline_directory, tell_owners_from_cli
from app.config.settings import Settings
from app.config.snapshots import files_version, snapshot
from app.db.migrate import open_database
from app.db.models.versions import ConfigVersion
from app.db.session import Database
from app.errors import WorkspaceError
from app.knowledge.sync import check_served
from app.services import check_anthropic_key
from app.trust import serving
from app.trust.rollback import RolledBack, rollback
from app.trust.versions import Gate, Verdict


def _gate(settings: Settings, database: Database) -> Gate:
    return serving.gate(settings, database, directory_for=offline_directory)


async def reload_from_cli(settings: Settings, *, force: bool = False) -> Verdict:
    """`trellis reload`: gate the folder; a running Trellis follows what is recorded here."""
    root = settings.workspace_path()
    await check_anthropic_key(settings)
    async with open_database(settings.database_url) as database:
        await check_served(database, root)  # before the gate records anything in it
        gate = _gate(settings, database)
        live = await gate.live_version()
        verdict, _ = await gate.consider(root, live_version=live, force=force)
        if verdict.repeated or verdict.outcome == "unchanged":
            return verdict
        await serving.record_verdict(gate, verdict, previous=live, by="cli")
        if verdict.outcome != "live":
            await tell_owners_from_cli(settings, verdict, live=live)
    return verdict


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
