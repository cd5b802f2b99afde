"""kill -9 at each step of answering: every question still gets its answer, once.

Trellis runs in a child process (tests/answering/question_child.py) connected to the
sandbox over Socket Mode, and is killed with SIGKILL at one step of answering a direct
message: just after the question is stored, while the answer is written (the thinking
indicator showing; a stream starts only with the answer's text), after the answer is
recorded but before its stream stops (or it replaces the indicator), and after
it is shown but before the question is settled; with the answer streamed and with the
thinking indicator replaced by it. A restarted process takes the question
over once its lease runs out. The thread must end with exactly one reply from Trellis, the
answer, and no question left stored; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.config.workspace import default_workspace_path, load_workspace
from app.db.models.records import PostedAnswer, ReceivedQuestion
from app.knowledge.ingest import ingest
from app.sandbox.company import seed_for
from app.sandbox.server import SandboxServer
from app.sandbox.state import SandboxWorkspace
from handlers.views import answers
from tests.child_processes import kill, said
from tests.harness import blocks_text
from tests.workflow_helpers import eventually

ROOT = Path(__file__).resolve().parents[2]
SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"


async def start_child(
    url: str, sandbox: SandboxServer, step: str, *, streams: bool = True
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.answering.question_child",
        url,
        sandbox.api_url,
        step,
        cwd=ROOT,
        env={
            **os.environ,
            "SLACK_BOT_TOKEN": sandbox.bot_token,
            "SLACK_APP_TOKEN": sandbox.app_token,
            "TRELLIS_STREAM_ANSWERS": "always" if streams else "never",
        },
        stdout=asyncio.subprocess.PIPE,
    )


async def stored_questions(database) -> int:
    async with database.session() as session:
        return (
            await session.execute(select(func.count()).select_from(ReceivedQuestion))
        ).scalar_one()


async def recorded_answers(database) -> int:
    async with database.session() as session:
        return (await session.execute(select(func.count()).select_from(PostedAnswer))).scalar_one()


@pytest.mark.parametrize("shown_by", ["stream", "indicator"])
@pytest.mark.parametrize("step", ["received", "composing", "recorded", "shown"])
async def test_a_kill_while_answering_still_answers_the_question_once(database, step, shown_by):
    streams = shown_by == "stream"
    workspace = load_workspace(default_workspace_path())
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    sandbox = SandboxServer(SandboxWorkspace.from_seed(seed_for(workspace)))
    await sandbox.start()
    try:
        bot = sandbox.workspace.bot.user_id
        sam = sandbox.workspace.user_by_email(SAM).id
        child = await start_child(database.url, sandbox, step, streams=streams)
        try:
            await said(child, "ready")
            await sandbox.wait_for_connections(1)
            asked = await sandbox.post_message(sam, bot, QUESTION)
            await said(child, step)
        finally:
            await kill(child)
        im = next(
            c.id for c in sandbox.workspace.conversations.values() if c.is_im and c.im_user == sam
        )

        def replies() -> list:
            return [m for m in sandbox.messages(im) if m.bot_id and m.thread_ts == asked]

        shown_before = [blocks_text(m.blocks) for m in replies()]
        assert await stored_questions(database) == 1

        restarted = await start_child(database.url, sandbox, "resume")
        try:
            await said(restarted, "ready")

            def answered() -> bool | None:
                texts = [blocks_text(m.blocks) for m in replies()]
                return True if any("Trail Day" in t for t in texts) else None

            await sandbox.wait_until(answered, 60, "the answer in the thread")

            async def settled() -> bool:
                return await stored_questions(database) == 0

            await eventually(settled, within=30, every=0.1)
        finally:
            await kill(restarted)

        texts = [blocks_text(m.blocks) for m in replies()]
        assert len(texts) == 1, texts  # one reply: the stream or indicator became the answer
        assert "Trail Day" in texts[0] and answers.THINKING not in texts[0]
        assert not any(m.streaming for m in replies())
        if step == "received":
            assert shown_before == []
        elif step == "shown":
            assert "Trail Day" in shown_before[0]  # already answered before the kill
        elif streams:  # the stream starts with the answer's text, just before it is recorded
            assert shown_before == ([] if step == "composing" else [""])
        else:
            assert len(shown_before) == 1 and answers.THINKING in shown_before[0]
        # Answered once; answered again only when the first answer was never recorded.
        assert await recorded_answers(database) == 1
    finally:
        await sandbox.stop()


PEOPLE = [
    "sam.ortiz@northwind.example",
    "priya.nair@northwind.example",
    "liam.carter@northwind.example",
    "sofia.marino@northwind.example",
]


async def test_a_replica_killed_mid_burst_loses_no_question_and_answers_none_twice(database):
    """Two replicas share the events (the sandbox spreads them over both connections); one
    is killed with SIGKILL while the burst is being answered. Every question ends with
    exactly one reply, its answer, and one answer record."""
    workspace = load_workspace(default_workspace_path())
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    sandbox = SandboxServer(SandboxWorkspace.from_seed(seed_for(workspace)))
    await sandbox.start()
    replicas = []
    try:
        for _ in range(2):
            replicas.append(await start_child(database.url, sandbox, "resume"))
        for replica in replicas:
            await said(replica, "ready")
        await sandbox.wait_for_connections(2)
        bot = sandbox.workspace.bot.user_id
        asked: list[tuple[str, str]] = []
        for round_ in range(4):
            for email in PEOPLE:
                user = sandbox.workspace.user_by_email(email).id
                ts = await sandbox.post_message(user, bot, f"{QUESTION} ({round_ + 1})")
                asked.append((sandbox.workspace.open_im(user).id, ts))

        def replies(im: str, ts: str) -> list:
            return [m for m in sandbox.messages(im) if m.bot_id and m.thread_ts == ts]

        def answered(im: str, ts: str) -> bool:
            return any("Trail Day" in blocks_text(m.blocks) for m in replies(im, ts))

        await sandbox.wait_until(
            lambda: True if sum(answered(im, ts) for im, ts in asked) >= 3 else None,
            60,
            "the first answers",
        )
        await kill(replicas[0])
        await sandbox.wait_until(
            lambda: True if all(answered(im, ts) for im, ts in asked) else None,
            120,
            "every question answered",
        )

        async def settled() -> bool:
            return await stored_questions(database) == 0

        await eventually(settled, within=30, every=0.1)
    finally:
        for replica in replicas:
            await kill(replica)
        await sandbox.stop()
    for im, ts in asked:
        texts = [blocks_text(m.blocks) for m in replies(im, ts)]
        assert len(texts) == 1, texts
        assert "Trail Day" in texts[0]
    assert await recorded_answers(database) == len(asked)


async def test_a_kill_while_answering_trellis_ask_still_answers_through_its_response_url(database):
    """`/trellis ask` is answered privately through the command's response URL: a process
    killed while writing the answer leaves the question, with that URL, to the next one."""
    workspace = load_workspace(default_workspace_path())
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    sandbox = SandboxServer(SandboxWorkspace.from_seed(seed_for(workspace)))
    await sandbox.start()
    try:
        sam = sandbox.workspace.user_by_email(SAM).id
        support = next(
            c.id for c in sandbox.workspace.conversations.values() if c.name == "support"
        )
        child = await start_child(database.url, sandbox, "composing")
        try:
            await said(child, "ready")
            await sandbox.wait_for_connections(1)
            ack = await sandbox.slash_command(sam, support, "/trellis", f"ask {QUESTION}")
            assert answers.THINKING in ack.get("text", "")
            await said(child, "composing")
        finally:
            await kill(child)
        assert await stored_questions(database) == 1

        restarted = await start_child(database.url, sandbox, "resume")
        try:
            await said(restarted, "ready")
            answer = await sandbox.wait_for_ephemeral(
                sam, lambda e: "Trail Day" in blocks_text(e.blocks) + (e.text or ""), 60
            )
            assert answer.channel == support

            async def settled() -> bool:
                return await stored_questions(database) == 0

            await eventually(settled, within=30, every=0.1)
        finally:
            await kill(restarted)
        assert await recorded_answers(database) == 1
    finally:
        await sandbox.stop()
