"""The database records the workspace it serves: the first workspace to bring its knowledge
in claims it, even when several processes start on a new database at once; another
workspace is refused before the index is touched; taking over is explicit."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from app.cli.workspaces import STARTER
from app.config.workspace import Workspace, load_workspace
from app.errors import SetupError
from app.knowledge.search import count_documents
from app.knowledge.sync import check_served, served_workspace, sync_knowledge, take_over


def starter(tmp_path: Path, name: str) -> Workspace:
    shutil.copytree(STARTER, tmp_path / name)
    return load_workspace(tmp_path / name)


async def test_processes_starting_together_on_a_new_database_claim_it_once(database, tmp_path):
    acme = starter(tmp_path, "acme")
    await asyncio.gather(*(check_served(database, acme) for _ in range(6)))
    served = await served_workspace(database)
    assert served is not None
    assert (served.folder, served.name) == (str(acme.root.resolve()), "Example Co")


async def test_another_workspace_is_refused_before_the_index_is_touched(database, tmp_path):
    acme, cobalt = starter(tmp_path, "acme"), starter(tmp_path, "cobalt")
    (cobalt.root / "knowledge" / "about-us.md").unlink()
    await sync_knowledge(database, acme)
    with pytest.raises(SetupError) as refused:
        await sync_knowledge(database, cobalt)
    assert refused.value.setting == "TRELLIS_DATABASE_URL"
    assert f"serves the workspace 'Example Co' ({acme.root.resolve()})" in refused.value.problem
    assert await count_documents(database) == 5

    before = await served_workspace(database)
    assert await take_over(database, cobalt) == before
    assert (await served_workspace(database)).folder == str(cobalt.root.resolve())
    report = await sync_knowledge(database, cobalt)
    assert report.removed == 1 and await count_documents(database) == 4
    assert await take_over(database, cobalt) is None  # it serves cobalt already
