"""A question its asker edits is answered again as it now reads, below the first answer,
which stays (real Bolt app over Socket Mode; the sandbox reports an edit as Slack does, a
`message_changed` event naming the edit). An edit that changes no words, one of a message
that was never a question, and Slack's second delivery of an edit get no answer; an edit
that adds the mention Trellis was not given is answered."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.db.models.records import AuditRecord
from handlers.edited import EDITED_LEAD, edit_key, edited_question
from tests.e2e.test_trust_loop import eventually
from tests.harness import blocks_text, running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"
FIRST = "When is Trail Day in 2026?"
EDITED = "What is the daily meal allowance when travelling in North America?"


def finished(trellis, channel: str, ts: str):
    return [
        m
        for m in trellis.bot_replies(channel, ts)
        if not m.streaming and "Looking through" not in (m.text or "")
    ]


async def test_an_edited_question_is_answered_again_below_the_first_answer(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        ts = await trellis.ask(SAM, "support", FIRST)
        first = await trellis.answer_in_thread("support", ts)
        first_shown = shown_text(first)

        await sandbox.edit_message(trellis.user(SAM), support, ts, f"<@{trellis.bot}> {EDITED}")

        async def answered_again() -> bool:
            return len(finished(trellis, "support", ts)) == 2

        await eventually(answered_again)
        kept, again = finished(trellis, "support", ts)
        assert kept.ts == first.ts and shown_text(kept) == first_shown  # the first stays
        assert EDITED_LEAD in blocks_text(again.blocks)
        assert "meal" in shown_text(again).lower() and "Trail Day" not in shown_text(again)
        async with trellis.services.database.reading() as session:
            asked = [
                r.payload.get("question")
                for r in (await session.execute(select(AuditRecord))).scalars()
                if r.kind == "question"
            ]
        assert any(EDITED in (q or "") for q in asked)


async def test_edits_that_ask_nothing_new_are_not_answered(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        sam = trellis.user(SAM)
        ts = await trellis.ask(SAM, "support", FIRST)
        await trellis.answer_in_thread("support", ts)
        # The same words, cased and punctuated otherwise
        await sandbox.edit_message(sam, support, ts, f"<@{trellis.bot}>  when is trail day in 2026")
        chatter = await trellis.ask(SAM, "support", "Lunch at noon?", mention=False)
        await sandbox.edit_message(sam, support, chatter, "Lunch at one, then?")
        await asyncio.sleep(1.5)
        assert len(finished(trellis, "support", ts)) == 1
        assert trellis.bot_replies("support", chatter) == []


async def test_an_edit_that_adds_the_mention_is_answered_once(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, support = trellis.sandbox, trellis.channel("support")
        ts = await trellis.ask(SAM, "support", EDITED, mention=False)
        await asyncio.sleep(0.5)
        assert trellis.bot_replies("support", ts) == []

        await sandbox.edit_message(trellis.user(SAM), support, ts, f"<@{trellis.bot}> {EDITED}")
        answer = await trellis.answer_in_thread("support", ts)
        assert "meal" in shown_text(answer).lower()
        edit = next(  # Slack delivers it again
            e
            for e in reversed(sandbox.gateway.envelopes)
            if e.payload.get("event", {}).get("subtype") == "message_changed"
        )
        sandbox.redeliver(edit.envelope_id)
        await asyncio.sleep(1.5)
        assert len(finished(trellis, "support", ts)) == 1


def changed(message: dict, previous: dict) -> dict:
    return {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C1",
        "channel_type": "channel",
        "message": {"type": "message", "ts": "1.0", **message},
        "previous_message": {"type": "message", "ts": "1.0", **previous},
    }


def test_only_a_persons_edit_of_the_words_is_taken_for_a_question():
    asked = {"user": "U1", "text": "<@UBOT> When is Trail Day?"}
    edit = changed(
        {**asked, "text": "<@UBOT> When is Trail Day in 2027?", "edited": {"ts": "2.0"}}, asked
    )
    question = edited_question(edit, "UBOT")
    assert question is not None and question["ts"] == "1.0" and question["edited_ts"] == "2.0"
    assert "thread_ts" not in question and edit_key(question) == "edit:C1:1.0:2.0"

    reply = {**asked, "thread_ts": "0.5"}
    in_thread = edited_question(changed({**reply, "text": "and in 2027?"}, reply), "UBOT")
    assert in_thread is not None and in_thread["thread_ts"] == "0.5"

    unfurled = changed({**asked, "attachments": [{"title": "x"}]}, asked)
    bots_own = changed({"user": "UBOT", "bot_id": "B1", "text": "answer"}, {"text": "..."})
    tombstone = changed({"user": "USLACKBOT", "subtype": "tombstone", "text": "deleted"}, asked)
    for event in (unfurled, bots_own, tombstone, {**edit, "subtype": "message_deleted"}):
        assert edited_question(event, "UBOT") is None
