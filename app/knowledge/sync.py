"""Bringing the index in line with the workspace's knowledge/ folder, with progress shown
on a terminal. `trellis run`, `trellis ingest` and the demo call it; only what changed is
read again (see `app/knowledge/ingest.py`).

A database serves one workspace. The first workspace whose knowledge is brought into a
database (or whose versions are gated, rolled back or evaluated in it) claims it; any other
is refused before it touches the index, the versions or the audit trail, with a SetupError
naming the workspace the database serves. Without this, two workspaces run from one folder
(the default database is ./trellis.db) would rebuild each other's index at every command
and write into one audit trail. `take_over` makes a database serve another workspace, when
an operator says so (`trellis ingest --take-over`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from app.config.workspace import Workspace
from app.db.migrate import DATABASE_SETTING
from app.db.repositories.served import ServedWorkspaceRepository
from app.db.session import Database
from app.errors import SetupError
from app.knowledge.ingest import IngestReport, ingest
from app.knowledge.limits import MAX_DOCUMENT_CHARS


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
) -> IngestReport:
    """Bring the index in line with the workspace's knowledge/ (only what changed), once
    the database is known to serve this workspace."""
    await check_served(database, workspace)
    retrieval = workspace.config.retrieval
    if max_document_chars is None:  # the workspace's limit, the same for every command
        max_document_chars = workspace.config.knowledge.max_document_chars or MAX_DOCUMENT_CHARS
    if console is None or not console.is_terminal:
        return await ingest(
            database,
            workspace.knowledge_dir,
            workspace_root=workspace.root,
            only=only,
            retrieval=retrieval,
            allowed_url_prefixes=workspace.config.knowledge.allowed_url_prefixes,
            max_document_chars=max_document_chars,
        )
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Indexing documents", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return await ingest(
            database,
            workspace.knowledge_dir,
            workspace_root=workspace.root,
            only=only,
            progress=advance,
            retrieval=retrieval,
            allowed_url_prefixes=workspace.config.knowledge.allowed_url_prefixes,
            max_document_chars=max_document_chars,
        )
