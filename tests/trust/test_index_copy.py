"""An eval that starts from production's index copies it as it stood at one moment: a
re-index that commits while the copy is under way is copied whole or not at all (here:
not at all, as it committed after the copy began)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from sqlalchemy import select, update

from app.db.migrate import upgrade
from app.db.models.knowledge import Document, KnowledgeState
from app.db.repositories.measurements import copy_tables
from app.db.session import Database


async def test_a_reindex_committed_during_the_copy_is_not_half_copied(database, tmp_path):
    async with database.session() as session:
        session.add_all(
            [
                Document(id=f"d{i}", path=f"d{i}.md", title=f"D{i}", content_hash="h")
                for i in range(3)
            ]
        )
        session.add(KnowledgeState(id=1, generation=1))
    target = Database(f"sqlite+aiosqlite:///{tmp_path / 'eval.db'}")
    await upgrade(target)
    writes = target.session
    reindexed = False

    @asynccontextmanager
    async def session_that_reindexes_first():
        nonlocal reindexed
        if not reindexed:  # production re-indexes while the first rows are written
            reindexed = True
            async with database.session() as production:
                await production.execute(update(KnowledgeState).values(generation=2))
        async with writes() as session:
            yield session

    target.session = session_that_reindexes_first  # type: ignore[method-assign]
    try:
        await copy_tables(database, target, ["documents", "knowledge_state"], batch=1)
        async with target.reading() as session:
            generation = (await session.execute(select(KnowledgeState.generation))).scalar()
            documents = (await session.execute(select(Document.id))).scalars().all()
        assert reindexed
        assert sorted(documents) == ["d0", "d1", "d2"]
        assert generation == 1
    finally:
        await target.dispose()
