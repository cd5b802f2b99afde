"""The bundled demo workspace indexed into a scratch SQLite database, for the benches that
read its questions (question_cpu, follow_up_reading, no_answer_reading, reading_cpu,
judge_cpu)."""

from __future__ import annotations

import tempfile

from app.answering import near_words
from app.answering.corpus import RetrievedPassages
from app.config.workspace import Workspace, default_workspace_path, load_workspace
from app.db.migrate import upgrade
from app.db.session import Database
from app.domain import AccessScope
from app.knowledge.ingest import ingest
from app.knowledge.search import search

EVERYONE = AccessScope(viewers=(frozenset({"everyone", "employees", "support", "sales"}),))
"""A reader who may see the demo's everyday documents (support and sales included)."""


async def demo_index() -> tuple[Workspace, Database]:
    workspace = load_workspace(default_workspace_path())
    database = Database(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db")
    await upgrade(database)
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    return workspace, database


async def golden_passages(
    workspace: Workspace, database: Database
) -> list[tuple[str, RetrievedPassages]]:
    """Each golden question with the passages `EVERYONE` gets for it, their words already
    compared by meaning (`near_words.prepare_for`): what a reading of it needs."""
    found = []
    for case in workspace.evals:
        passages = await search(database, query=case.question, scope=EVERYONE)
        near_words.prepare_for(case.question, passages)
        found.append((case.question, passages))
    return found
