"""`trellis reload`, `trellis versions` and `trellis rollback`: the eval gate from the
command line (see `app/trust/versions.py`). A running Trellis follows what these record.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from app.cli.operations import offline_directory
from app.config.settings import Settings
from app.config.snapshots import files_version, snapshot
from app.config.workspace import load_workspace
from app.db.migrate import open_database
from app.db.models.versions import ConfigVersion
from app.db.session import Database
from app.errors import WorkspaceError
from app.services import build_answerer, check_anthropic_key
from app.slack_api import SlackGateway, retrying_client
from app.trust.audit import AuditLog
from app.trust.versions import Gate, Verdict, refusal_text

log = structlog.get_logger(__name__)


def _gate(settings: Settings, database: Database) -> Gate:
    return Gate(
        settings=settings,
        database=database,
        audit=AuditLog(database),
        answerer_for=lambda ws: build_answerer(settings, ws),
        directory_for=offline_directory,
    )


async def reload_from_cli(settings: Settings, *, force: bool = False) -> Verdict:
    """`trellis reload`: gate the folder; a running Trellis follows what is recorded here."""
    root = settings.workspace_path()
    await check_anthropic_key(settings)
    async with open_database(settings.database_url) as database:
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
    token = settings.slack_bot_token
    if not settings.slack_enabled or token is None:
        return
    try:
        channel = load_workspace(root).config.owners_channel
    except WorkspaceError:
        channel = None
    if not channel:
        return
    client = retrying_client(token.get_secret_value(), base_url=settings.slack_api_url)
    text = refusal_text(verdict, live_version=live or "the last good one")
    try:
        await SlackGateway(client).post(channel=channel, text=text)
    except Exception:
        log.exception("owners_notice_failed", channel=channel)


async def list_versions(settings: Settings) -> tuple[list[ConfigVersion], str | None]:
    """Every version seen, newest first, and the version of the folder as it is now."""
    async with open_database(settings.database_url) as database:
        rows = await _gate(settings, database).versions()
    try:
        current = files_version(snapshot(settings.workspace_path()))
    except WorkspaceError:
        current = None
    return rows, current


async def rollback_from_cli(settings: Settings, version: str) -> ConfigVersion:
    async with open_database(settings.database_url) as database:
        return await _gate(settings, database).rollback(settings.workspace_path(), version)
