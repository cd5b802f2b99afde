"""A knowledge file that cannot be read, saved under a running Trellis: the owners channel
is told once, with the file, the line and the problem, and the last good version of the
document keeps answering. A misspelt `_access.yml` pattern is told the same way, and the
document it was meant to restrict is withheld from everyone until it is fixed.

The real app runs against the sandbox on a copy of the demo workspace, with the watcher
`trellis run` starts; files are edited as an operator would edit them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from app.db.repositories.knowledge import KnowledgeRepository
from app.knowledge.sync import sync_knowledge
from app.trust import reload as reloading
from tests.harness import RunningTrellis, running_trellis
from tests.logging_state import restore_logging  # noqa: F401
from tests.trust.test_versions import (
    HOLIDAYS,
    OWNERS,
    demo_copy,
    edit,
    fingerprint,
    owners_message,
    reindexed,
    started,
    still_answers,
)

pytestmark = pytest.mark.usefixtures("restore_logging")

IT_HELP = "company/it-help"


@asynccontextmanager
async def watching(trellis: RunningTrellis) -> AsyncIterator[None]:
    stop = asyncio.Event()
    watcher = asyncio.create_task(reloading.watch(trellis.services, stop=stop, interval_s=0.1))
    try:
        yield
    finally:
        stop.set()
        await watcher


def owners_messages_naming(trellis: RunningTrellis, words: str) -> list[str]:
    messages = trellis.sandbox.messages(trellis.channel(OWNERS))
    return [m.text for m in messages if words in (m.text or "")]


async def rescanned(trellis: RunningTrellis) -> None:
    """Make the watcher look at knowledge/ again (another document is saved), and wait
    until it has."""
    before = await fingerprint(trellis, IT_HELP)
    edit(trellis.services.workspace.root, "knowledge/company/it-help.txt", "Wi-Fi", "WiFi")
    assert await reindexed(trellis, IT_HELP, before, within=30)
    await asyncio.sleep(1.0)  # the owners are told right after the index is written


async def access_of(trellis: RunningTrellis, doc_id: str) -> tuple[str, ...]:
    async with trellis.services.database.session() as session:
        [document] = await KnowledgeRepository(session).documents(doc_ids=[doc_id])
    return document.access


async def test_a_broken_document_is_told_once_and_its_last_good_version_answers(tmp_path):
    root = demo_copy(tmp_path)
    name = "knowledge/company/holidays-2026.md"
    async with running_trellis(tmp_path, workspace=root) as trellis, watching(trellis):
        await started(trellis)
        edit(root, name, "owner: people-ops", "tags: [holidays, days")
        edit(root, name, "October 9, 2026", "October 16, 2026")
        notice = await owners_message(trellis, name)
        assert f"{name}:6: invalid YAML" in notice.text, notice.text
        assert "last good version" in notice.text
        answer = await still_answers(trellis)
        assert "October 9" in answer and "October 16" not in answer

        await rescanned(trellis)
        assert len(owners_messages_naming(trellis, name)) == 1

        before = await fingerprint(trellis, HOLIDAYS)
        edit(root, name, "tags: [holidays, days", "owner: people-ops")
        assert await reindexed(trellis, HOLIDAYS, before, within=30)
        assert "October 16" in await still_answers(trellis)


async def test_a_misspelt_access_pattern_is_told_once_and_withholds_its_document(tmp_path):
    root = demo_copy(tmp_path)
    rule = "knowledge/company/_access.yml"
    async with running_trellis(tmp_path, workspace=root) as trellis, watching(trellis):
        await started(trellis)
        assert "everyone" in await access_of(trellis, IT_HELP)
        (root / rule).write_text('default: [everyone]\nfiles:\n  "it-helpp.txt": [engineering]\n')
        notice = await owners_message(trellis, rule)
        assert f"{rule}:3: files: 'it-helpp.txt' matches no file" in notice.text, notice.text
        assert "did you mean 'it-help.txt'?" in notice.text
        assert await access_of(trellis, IT_HELP) == ()  # withheld, not left open

        await rescanned(trellis)
        assert len(owners_messages_naming(trellis, rule)) == 1
        assert await access_of(trellis, IT_HELP) == ()


async def test_a_document_broken_before_the_start_is_told_once_by_the_start(tmp_path):
    root = demo_copy(tmp_path)
    name = "knowledge/company/holidays-2026.md"
    async with running_trellis(tmp_path, workspace=root) as trellis:
        await started(trellis)
        edit(root, name, "owner: people-ops", "tags: [holidays, days")
        report = await sync_knowledge(trellis.services.database, trellis.services.workspace)
        stop = asyncio.Event()
        watcher = await reloading.start(trellis.services, stop=stop, knowledge=report)
        try:
            notice = await owners_message(trellis, name)
            assert f"{name}:6: invalid YAML" in notice.text, notice.text
            await rescanned(trellis)  # the watcher's looks find it again, and say nothing
            assert len(owners_messages_naming(trellis, name)) == 1
        finally:
            stop.set()
            await reloading.finish(watcher)


async def test_a_problem_told_before_a_restart_is_not_told_again_after_it(tmp_path):
    """What the owners were told is kept in the audit trail: a restarted Trellis (or another
    process on the same database) finds the same broken file and says nothing; once it is
    fixed, the owners are told it is read again, and once broken again, it is told again."""
    root = demo_copy(tmp_path)
    name = "knowledge/company/holidays-2026.md"
    async with running_trellis(tmp_path, workspace=root) as trellis:
        await started(trellis)
        edit(root, name, "owner: people-ops", "tags: [holidays, days")
        database, workspace = trellis.services.database, trellis.services.workspace
        for _start in range(2):
            report = await sync_knowledge(database, workspace)
            stop = asyncio.Event()
            watcher = await reloading.start(trellis.services, stop=stop, knowledge=report)
            stop.set()
            await reloading.finish(watcher)
        await owners_message(trellis, name)
        await asyncio.sleep(1.0)
        assert len(owners_messages_naming(trellis, name)) == 1

        edit(root, name, "tags: [holidays, days", "owner: people-ops")
        fixed = await sync_knowledge(database, workspace)
        assert not fixed.errors
        await reloading.tell_knowledge_problems(
            trellis.services, fixed, reloading.ToldProblems(trellis.services.audit)
        )
        await asyncio.sleep(1.0)
        [again] = owners_messages_naming(trellis, "again")
        assert "reads 1 file of knowledge/ again" in again and name in again, again
        edit(root, name, "owner: people-ops", "tags: [holidays, days")
        broken = await sync_knowledge(database, workspace)
        await reloading.tell_knowledge_problems(
            trellis.services, broken, reloading.ToldProblems(trellis.services.audit)
        )
        await asyncio.sleep(1.0)
        assert len(owners_messages_naming(trellis, "could not read")) == 2
