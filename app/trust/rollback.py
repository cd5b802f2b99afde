"""`trellis rollback VERSION`: write a stored version's files back into the workspace
folder and make that version live, without losing anything on the way.

- The version is named by its hash or an unambiguous start of it, at least `MIN_PREFIX`
  hexadecimal characters (`version_prefix`).
- Files in the folder the database has never seen (edits not yet through `trellis
  reload`) are not overwritten unless forced; forced, they are first kept as a `saved`
  version, which `trellis rollback` brings back like any other.
- A version the eval gate refused goes live only when asked explicitly (`allow_refused`),
  and the audit record says it was refused.
- Owners' accepted corrections (`evals/corrections.yml`) are not undone: a version without
  a corrections file of its own comes back with the folder's, which makes the folder a new
  version the gate judges like any change (a version with its own copy brings that back).
- A saved version never went through the gate: its files come back, the live version stays,
  and the gate judges them as it judges any change (`trellis reload`, or a running Trellis
  within seconds).

The database says the version is live before its files are written, so a running Trellis
that sees the new files finds them live and switches without evaluating them again.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path

from app.config.snapshots import files_version, restore, snapshot
from app.db.models.versions import ConfigVersion
from app.db.repositories.versions import VersionRepository
from app.domain import VersionStatus
from app.errors import TrellisError, WorkspaceError
from app.trust.corrections import CORRECTIONS_FILE
from app.trust.versions import Gate, stored_workspace

MIN_PREFIX = 4
"""The fewest characters of a version a rollback accepts: fewer match too much by chance."""
CORRECTIONS_PATH = f"evals/{CORRECTIONS_FILE}"


@dataclass(frozen=True)
class RolledBack:
    version: str
    status: str
    """The version's status now: live, or saved when only its files came back."""
    previous: str | None
    """The version that was live before."""
    kept: str | None = None
    """The folder's own files, stored as this saved version before they were overwritten."""
    refused: str = ""
    """Why the gate had refused the version, when it went live anyway."""
    removed: tuple[str, ...] = ()
    """Versioned files the folder had and the version has not (kept in the database)."""
    unchanged: bool = False
    """The version was live and its files already in the folder: nothing was done."""
    kept_corrections: str | None = None
    """The folder's version once the owners' corrections file, which the version has not,
    was kept in it; None when the folder holds exactly the version's files."""


def version_prefix(text: str) -> str:
    """A version as typed: its hash or the start of it. ValueError says what is wrong."""
    prefix = text.strip().lower()
    if not prefix:
        raise ValueError("name a version: its hash or its first characters (`trellis versions`)")
    if any(c not in string.hexdigits for c in prefix):
        raise ValueError(
            f"{text.strip()!r} is not a version: versions are hexadecimal hashes, as "
            "`trellis versions` lists them"
        )
    if len(prefix) < MIN_PREFIX:
        raise ValueError(
            f"{prefix!r} is too short: give at least {MIN_PREFIX} characters of the version"
        )
    return prefix


async def rollback(
    gate: Gate, root: Path, prefix: str, *, force: bool = False, allow_refused: bool = False
) -> RolledBack:
    target = await _find(gate, version_prefix(prefix))
    try:
        current: dict[str, str] | None = snapshot(root)
    except WorkspaceError as exc:
        if not force:
            raise TrellisError(
                f"The workspace folder cannot be read ({exc.user_message}), so it cannot be "
                "kept before a rollback overwrites it; add --force to overwrite it anyway."
            ) from exc
        current = None
    async with gate.database.session() as session:
        repo = VersionRepository(session)
        live = await repo.live()
        folder = await repo.get(files_version(current)) if current is not None else None
    previous = live.version if live else None
    if current is not None and target.version == previous == files_version(current):
        return RolledBack(target.version, target.status, previous, unchanged=True)
    # It must load as it will run from this folder (its knowledge, its sandbox.yml); one
    # that does not is said so first, since no flag would make it go live.
    try:
        stored_workspace(target, root)
    except WorkspaceError as exc:
        raise TrellisError(
            f"Version {target.version} no longer loads ({exc.user_message}); the workspace "
            "was left as it was."
        ) from exc
    if target.status == VersionStatus.REFUSED and not allow_refused:
        raise TrellisError(
            f"Version {target.version} was refused by the eval gate: {target.reason}. "
            "Rolling back to it puts live a version that did not pass its eval set; add "
            "--allow-refused to do it anyway."
        )
    kept = None
    if current is not None and folder is None:
        kept = files_version(current)
        if not force:
            raise TrellisError(
                f"The workspace folder has changes that were never put through the eval gate "
                f"(version {kept}: {_changes(current, live)}); a rollback would overwrite "
                "them. Run `trellis reload` first (the gate keeps them as a version, live or "
                f"refused), or add --force to keep them as version {kept} and roll back."
            )
    return await _apply(gate, root, target, current, live, kept)


async def _find(gate: Gate, prefix: str) -> ConfigVersion:
    async with gate.database.session() as session:
        matches = await VersionRepository(session).find(prefix)
    if not matches:
        raise TrellisError(f"There is no version {prefix}. `trellis versions` lists them.")
    if len(matches) > 1:
        named = ", ".join(f"{m.version} ({m.status})" for m in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise TrellisError(
            f"{prefix} is the start of {len(matches)} versions: {named}{more}. "
            "Give more of the one you mean."
        )
    return matches[0]


async def _apply(
    gate: Gate,
    root: Path,
    target: ConfigVersion,
    current: dict[str, str] | None,
    live: ConfigVersion | None,
    kept: str | None,
) -> RolledBack:
    now = gate.clock()
    files = files_with_corrections(json.loads(target.files), current)
    previous = live.version if live else None
    goes_live = target.status != VersionStatus.SAVED and target.version != previous
    refused = target.reason if target.status == VersionStatus.REFUSED else ""
    async with gate.database.session() as session:
        repo = VersionRepository(session)
        if kept is not None and current is not None:
            await repo.save(
                version=kept,
                files=json.dumps(current, sort_keys=True),
                status=VersionStatus.SAVED,
                reason=f"kept from the folder before the rollback to {target.version}; "
                "never evaluated",
                now=now,
            )
        if goes_live:
            why = f"rolled back from {previous or 'nothing'}"
            await repo.save(
                version=target.version,
                files=target.files,
                status=VersionStatus.LIVE,
                reason=f"{why}, though the eval gate had refused it: {refused}" if refused else why,
                now=now,
            )
        await gate.audit.append(
            session,
            kind="version.rollback",
            subject_id=target.version,
            payload={
                "version": target.version,
                "previous": previous,
                "live": goes_live or target.version == previous,
                "refused": refused or None,
                "kept": kept,
            },
        )
    try:
        restore(root, files)
    except OSError as exc:
        if current is not None:
            restore(root, current)
        if goes_live and live is not None:  # the folder is as it was: so is what is live
            async with gate.database.session() as session:
                await VersionRepository(session).save(
                    version=live.version,
                    files=live.files,
                    status=VersionStatus.LIVE,
                    reason=f"the rollback to {target.version} could not write its files",
                    now=gate.clock(),
                )
        raise TrellisError(
            f"The files of version {target.version} could not be written ({exc}); the "
            "workspace and the live version were left as they were."
        ) from exc
    removed = tuple(sorted(set(current or {}) - set(files)))
    status = VersionStatus.LIVE if goes_live or target.version == previous else target.status
    corrections = files_version(files) if files_version(files) != target.version else None
    return RolledBack(
        target.version, status, previous, kept, refused, removed, kept_corrections=corrections
    )


def files_with_corrections(files: dict[str, str], current: dict[str, str] | None) -> dict[str, str]:
    """The files a rollback writes: the version's own, and the folder's corrections file
    when the version has none (a rollback does not undo what owners accepted)."""
    if CORRECTIONS_PATH in files or current is None or CORRECTIONS_PATH not in current:
        return files
    return {**files, CORRECTIONS_PATH: current[CORRECTIONS_PATH]}


def _changes(current: dict[str, str], live: ConfigVersion | None) -> str:
    """The files that differ from the live version, in words."""
    if live is None:
        return "no version is live yet"
    before: dict[str, str] = json.loads(live.files)
    changed = sorted(n for n in current.keys() | before.keys() if current.get(n) != before.get(n))
    shown = ", ".join(changed[:6]) + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
    return f"{shown} changed since the live version {live.version}"
