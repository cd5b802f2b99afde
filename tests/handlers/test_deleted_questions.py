"""A question its asker deletes while Trellis answers it is not answered: the answer is
not shown nor passed on, the thinking indicator goes, and the audit says why (real Bolt
app over Socket Mode, the sandbox sending Slack's `message_deleted` event)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.db.models.feedback import OwnerNotice
from app.db.models.records import AuditRecord
from handlers import asking
from handlers.deleted import was_deleted
from tests.e2e.test_trust_loop import eventually
from tests.harness import running_trellis

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"


def recorded(trellis, channel: str, ts: str):
    async def question_deleted() -> bool:
        return await was_deleted(trellis.services, channel, ts)

    return question_deleted


async def test_a_question_deleted_before_its_answer_is_shown_is_not_answered(tmp_path, monkeypatch):
    answering, go_on = asyncio.Event(), asyncio.Event()
    answer_question = asking.answer_question

    async def held(services, question):  # the answer is ready only once the test says so
        answering.set()
        await go_on.wait()
        return await answer_question(services, question)

    monkeypatch.setattr(asking, "answer_question", held)
    async with running_trellis(tmp_path) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        await asyncio.wait_for(answering.wait(), 10)
        assert len(trellis.bot_replies("support", ts)) == 1  # the thinking indicator

        await sandbox.delete_message(trellis.user(SAM), support, ts)
        await eventually(recorded(trellis, support, ts))  # Trellis records the deletion
        go_on.set()
        await sandbox.wait_for_call("chat.delete", lambda c: c.params.get("channel") == support)

        assert trellis.bot_replies("support", ts) == []  # nothing shown in the thread
        assert not [c for c in sandbox.calls_to("chat.update") if c.params.get("ts") != ts]
        async with trellis.services.database.reading() as session:
            kinds = [r.kind for r in (await session.execute(select(AuditRecord))).scalars()]
            notices = (await session.execute(select(OwnerNotice))).scalars().all()
        assert "question.deleted" in kinds and notices == []


async def test_a_question_deleted_after_its_answer_keeps_the_answer(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts)
        await sandbox.delete_message(trellis.user(SAM), support, ts)
        await eventually(recorded(trellis, support, ts))
        assert [m.ts for m in trellis.bot_replies("support", ts)] == [answer.ts]
        assert sandbox.calls_to("chat.delete") == []
