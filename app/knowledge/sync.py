"""Bringing the index in line with the workspace's knowledge/ folder, with progress shown
on a terminal. `trellis run`, `trellis ingest` and the demo call it; only what changed is
read again (see `app/knowledge/ingest.py`).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from app.config.workspace import Workspace
from app.db.session import Database
from app.knowledge.ingest import IngestReport, ingest
from app.knowledge.limits import MAX_DOCUMENT_CHARS


async def sync_knowledge(
    database: Database,
    workspace: Workspace,
    *,
    only: Path | None = None,
    console: Console | None = None,
    max_document_chars: int = MAX_DOCUMENT_CHARS,
) -> IngestReport:
    """Bring the index in line with the workspace's knowledge/ (only what changed)."""
    retrieval = workspace.config.retrieval
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
