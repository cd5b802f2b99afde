"""A question its asker deletes while Trellis answers it is not answered: the answer is
not shown nor passed on, the thinking indicator goes, and the audit says why (real Bolt
app over Socket Mode). Slack reports the deletion as it does: a thread's first message,
which has Trellis's indicator as a reply, turns into a placeholder (`message_changed` to a
`tombstone`); a follow-up in a thread is deleted (`message_deleted`)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.db.models.feedback import OwnerNotice
from app.db.models.records import AuditRecord
from handlers import asking
from handlers.deleted import deleted_before, was_deleted
from tests.e2e.test_trust_loop import eventually
from tests.harness import running_trellis

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"
HELD = "What is the parental leave policy in Brazil?"  # unanswered: it would go to owners


def recorded(trellis, channel: str, ts: str):
    async def question_deleted() -> bool:
        return await deleted_before(trellis.services, channel, ts) and was_deleted(channel, ts)

    return question_deleted


@pytest.mark.parametrize("where", ["thread's first message", "follow-up"])
async def test_a_question_deleted_before_its_answer_is_shown_is_not_answered(
    tmp_path, monkeypatch, where
):
    answering, go_on = asyncio.Event(), asyncio.Event()
    answer_question = asking.answer_question

    async def held(services, question):  # this answer is ready only once the test says so
        if question.text.endswith(HELD):
            answering.set()
            await go_on.wait()
        return await answer_question(services, question)

    monkeypatch.setattr(asking, "answer_question", held)
    async with running_trellis(tmp_path) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        parent = None
        if where == "follow-up":
            parent = await trellis.ask(SAM, "support", QUESTION)
            await trellis.answer_in_thread("support", parent)
        ts = await trellis.ask(SAM, "support", HELD, thread_ts=parent)
        await asyncio.wait_for(answering.wait(), 10)
        before = {m.ts for m in trellis.bot_replies("support", parent or ts)}

        await sandbox.delete_message(trellis.user(SAM), support, ts)
        await eventually(recorded(trellis, support, ts))  # Trellis records the deletion
        go_on.set()
        deleted = await sandbox.wait_for_call(
            "chat.delete", lambda c: c.params.get("channel") == support
        )

        after = {m.ts for m in trellis.bot_replies("support", parent or ts)}
        assert deleted.params["ts"] in before and after == before - {deleted.params["ts"]}
        async with trellis.services.database.reading() as session:
            kinds = [r.kind for r in (await session.execute(select(AuditRecord))).scalars()]
        assert "question.deleted" in kinds
        await asyncio.sleep(0.5)  # what would follow the answer (the owners' notice) has run
        async with trellis.services.database.reading() as session:
            assert (await session.execute(select(OwnerNotice))).scalars().all() == []


async def test_a_question_deleted_after_its_answer_keeps_the_answer(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts)
        await sandbox.delete_message(trellis.user(SAM), support, ts)
        await eventually(recorded(trellis, support, ts))
        assert [m.ts for m in trellis.bot_replies("support", ts)] == [answer.ts]
        assert sandbox.calls_to("chat.delete") == []
