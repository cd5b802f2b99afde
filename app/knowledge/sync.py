"""Bringing the index in line with the workspace's knowledge/ folder, with progress shown
on a terminal. `trellis run` (at start, and whenever its watcher sees knowledge/ change:
app/trust/reload.py), `trellis reload`, `trellis ingest` and the demo call it; only what
changed is read again (see `app/knowledge/ingest.py`).

A database serves one workspace. The first workspace whose knowledge is brought into a
database (or whose versions are gated, rolled back or evaluated in it) claims it; any other
is refused before it touches the index, the versions or the audit trail, with a SetupError
naming the workspace the database serves. Without this, two workspaces run from one folder
(the default database is ./trellis.db) would rebuild each other's index at every command
and write into one audit trail. `take_over` makes a database serve another workspace, when
an operator says so (`trellis ingest --take-over`).

One process re-indexes at a time: whoever brings the index in line first takes the
`job_leases` row of re-indexing (the compare-and-set lease the scheduled jobs take,
app/delivery/scheduler.py) and renews it while it works. Two replicas on one database
would otherwise read and embed the same documents together, and both write a new document
at once. A holder that dies stops renewing, and its lease runs out. `knowledge_marks` is
the watcher's cheap look at knowledge/ (names, sizes, modification times).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import structlog
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from app.config.workspace import Workspace
from app.db.migrate import DATABASE_SETTING
from app.db.repositories.approvals import JobLeaseRepository
from app.db.repositories.served import ServedWorkspaceRepository
from app.db.session import Database
from app.errors import SetupError
from app.knowledge.ingest import ingest
from app.knowledge.limits import MAX_DOCUMENT_CHARS
from app.knowledge.report import IngestReport

log = structlog.get_logger(__name__)

REINDEX_JOB = "trellis-knowledge"
LEASE_SECONDS = 60.0
"""How long a holder of the re-indexing lease keeps it without renewing (it renews every
third of that)."""
LEASE_POLL_SECONDS = 0.5

Marks = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class WorkspaceIdentity:
    """A workspace as the database it is served from records it: its folder (its identity),
    and its name then."""

    folder: str
    name: str

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceIdentity:
        folder = workspace.root.resolve()
        return cls(str(folder), workspace.config.name or folder.name)

    @classmethod
    def at(cls, root: Path) -> WorkspaceIdentity:
        """The workspace in the folder `root`, without reading it (a broken workspace is
        still its folder's): named after the folder."""
        folder = root.resolve()
        return cls(str(folder), folder.name)

    def describe(self) -> str:
        return f"{self.name!r} ({self.folder})"


async def served_workspace(database: Database) -> WorkspaceIdentity | None:
    async with database.reading() as session:
        row = await ServedWorkspaceRepository(session).get()
    return None if row is None else WorkspaceIdentity(row.folder, row.name)


async def check_served(database: Database, workspace: Workspace | Path) -> None:
    """Claim `database` for `workspace` (or the workspace in a folder) when it serves none
    yet; refuse it when it serves another workspace."""
    if isinstance(workspace, Workspace):
        wanted = WorkspaceIdentity.of(workspace)
    else:
        wanted = WorkspaceIdentity.at(workspace)
    for _ in range(2):  # a second look when another process claimed it at the same moment
        served = await served_workspace(database)
        if served is not None:
            break
        try:
            async with database.session() as session:
                await ServedWorkspaceRepository(session).serve(
                    folder=wanted.folder, name=wanted.name
                )
            return
        except IntegrityError:
            continue
    if served is None or served.folder == wanted.folder:
        return
    shown = make_url(database.url).render_as_string(hide_password=True)
    raise SetupError(
        DATABASE_SETTING,
        f"the database {shown} serves the workspace {served.describe()}, not "
        f"{wanted.folder}; give each workspace a database of its own (TRELLIS_DATABASE_URL "
        "or --database-url), or run `trellis ingest --take-over` with this workspace to make "
        "this database serve it instead (its index is rebuilt; the audit trail stays)",
    )


async def take_over(database: Database, workspace: Workspace) -> WorkspaceIdentity | None:
    """Make `database` serve `workspace` from now on; the workspace it served before, when
    that was another one."""
    wanted = WorkspaceIdentity.of(workspace)
    async with database.session() as session:
        repository = ServedWorkspaceRepository(session)
        row = await repository.get()
        before = None if row is None else WorkspaceIdentity(row.folder, row.name)
        await repository.serve(folder=wanted.folder, name=wanted.name)
    return before if before is not None and before.folder != wanted.folder else None


async def sync_knowledge(
    database: Database,
    workspace: Workspace,
    *,
    only: Path | None = None,
    console: Console | None = None,
    max_document_chars: int | None = None,
    leased: bool = False,
) -> IngestReport:
    """Bring the index in line with the workspace's knowledge/ (only what changed), once
    the database is known to serve this workspace, holding the lease on re-indexing
    (waiting while another process holds it). `leased`: the caller holds it already
    (`reindexing`)."""
    await check_served(database, workspace)
    if leased:
        return await _sync(database, workspace, only, console, max_document_chars)
    async with reindexing(database, holder=reindexer("sync"), wait=True):
        return await _sync(database, workspace, only, console, max_document_chars)


async def _sync(
    database: Database,
    workspace: Workspace,
    only: Path | None,
    console: Console | None,
    max_document_chars: int | None,
) -> IngestReport:
    retrieval = workspace.config.retrieval
    if max_document_chars is None:  # the workspace's limit, the same for every command
        max_document_chars = workspace.config.knowledge.max_document_chars or MAX_DOCUMENT_CHARS
    read = partial(
        ingest,
        database,
        workspace.knowledge_dir,
        workspace_root=workspace.root,
        only=only,
        retrieval=retrieval,
        allowed_url_prefixes=workspace.config.knowledge.allowed_url_prefixes,
        max_document_chars=max_document_chars,
        admits=workspace.directory.knows_principal,
    )
    if console is None:
        return await read()
    if not console.is_terminal:  # a log or a pipe: a line now and then, not a bar
        last = time.monotonic()

        def tell(done: int, total: int) -> None:
            nonlocal last
            if done == total or time.monotonic() - last >= PROGRESS_LINE_SECONDS:
                last = time.monotonic()
                console.print(f"Indexing documents: {done} of {total} changed ones done")

        return await read(progress=tell)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Indexing documents", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return await read(progress=advance)


PROGRESS_LINE_SECONDS = 10.0
"""How often indexing says how far it is when its output is no terminal."""


def knowledge_marks(knowledge_dir: Path) -> Marks:
    """Every file of `knowledge_dir` by name, size and modification time (hidden ones
    aside, as ingest skips them): cheap change detection, nothing is read."""
    marks: list[tuple[str, int, int]] = []
    for folder, folders, files in os.walk(knowledge_dir):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            path = Path(folder, name)
            try:
                stat = path.stat()
            except OSError:  # removed while looked at: the next look sees it gone
                continue
            marks.append(
                (path.relative_to(knowledge_dir).as_posix(), stat.st_size, stat.st_mtime_ns)
            )
    return tuple(sorted(marks))


def reindexer(kind: str) -> str:
    """A name for one holder of the re-indexing lease: `kind` and a random part."""
    return f"{kind}-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def reindexing(
    database: Database,
    *,
    holder: str,
    wait: bool,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AsyncIterator[bool]:
    """Hold the cluster's lease on re-indexing while the block runs: True inside when it is
    held. With `wait`, wait while another holds it (True); without, False at once."""
    while not await _take(database, holder, clock):
        if not wait:
            yield False
            return
        await asyncio.sleep(LEASE_POLL_SECONDS)
    renewing = asyncio.create_task(_keep(database, holder, clock), name="trellis-reindex-lease")
    try:
        yield True
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        try:
            async with database.session() as session:
                await JobLeaseRepository(session).release(REINDEX_JOB, owner=holder, now=clock())
        except Exception:  # the lease runs out by itself
            log.warning("reindex_lease_not_released", holder=holder, exc_info=True)


async def _take(database: Database, holder: str, clock: Callable[[], datetime]) -> bool:
    now = clock()
    async with database.session() as session:
        return await JobLeaseRepository(session).acquire(
            REINDEX_JOB, owner=holder, now=now, until=now + timedelta(seconds=LEASE_SECONDS)
        )


async def _keep(database: Database, holder: str, clock: Callable[[], datetime]) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        try:
            if not await _take(database, holder, clock):
                log.warning("reindex_lease_lost", holder=holder)
        except Exception:  # the database is away: renewed at the next tick, if still ours
            log.warning("reindex_lease_not_renewed", holder=holder, exc_info=True)
