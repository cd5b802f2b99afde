"""The asker's fuller private answer in a channel: sent only when it tells them more than
the channel's answer (app/answering/compose.py, `adds_to`)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.answering.compose import Reply, adds_to
from app.db.models.records import AuditRecord, PostedAnswer
from app.domain import AnswerStatus, Citation
from tests.harness import blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"  # support: sees the support documents #help-trellis may not
LAPTOP = "How do I reset my laptop password?"


def _reply(text: str, *doc_ids: str, status: AnswerStatus = AnswerStatus.ANSWERED) -> Reply:
    return Reply(status, text, tuple(Citation(d, d, "quote") for d in doc_ids), 0.8)


def test_a_private_answer_is_sent_only_when_it_cites_more_and_says_more():
    public = _reply("Reset it at id.northwind.example. [1]", "company/it-help")
    beyond = {"support-macros"}
    same_text = _reply(public.text, "company/it-help", "support-macros")
    assert adds_to(public, same_text, beyond_public=beyond) is None
    only_shared = _reply("Another wording of the same page. [1]", "company/it-help")
    assert adds_to(public, only_shared, beyond_public=beyond) is None
    more = _reply(
        "Reset it, then log a ticket with macro IT-1. [1] [2]", "company/it-help", "support-macros"
    )
    assert adds_to(public, more, beyond_public=beyond) == more
    unanswered = _reply("I couldn't find it.", status=AnswerStatus.NO_ANSWER)
    assert adds_to(public, unanswered, beyond_public=beyond) is None
    assert adds_to(public, None, beyond_public=beyond) is None
    # The channel could not be answered: the asker's answer is what they get, if it rests
    # on a document the channel may not read.
    nothing = _reply("I couldn't find it.", status=AnswerStatus.NO_ANSWER)
    assert adds_to(nothing, more, beyond_public=beyond) == more
    assert adds_to(nothing, only_shared, beyond_public=beyond) is None


async def test_no_private_answer_when_it_cites_only_documents_every_member_may_see(tmp_path):
    # Every member of #help-trellis is in the directory, but Sam may see support documents
    # the others may not: his fuller search finds more, yet the answer rests on the IT page
    # everyone may read, so the channel's answer is all he is shown.
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(SAM, "help-trellis", LAPTOP)
        public = await trellis.answer_in_thread("help-trellis", ts)
        assert "id.northwind.example/reset" in blocks_text(public.blocks)
        async with trellis.services.database.session() as session:
            [record] = (
                await session.execute(select(AuditRecord).where(AuditRecord.kind == "question"))
            ).scalars()
            answers = (await session.execute(select(PostedAnswer))).scalars().all()
        assert record.payload["status"] == "answered"
        assert "private" not in record.payload
        assert [a.private for a in answers] == [False]
        await asyncio.sleep(0.5)  # the private answer would follow the public one at once
        sam = trellis.user(SAM)
        assert not [
            e
            for e in trellis.sandbox.ephemerals(sam)
            if "Only you can see" in blocks_text(e.blocks)
        ]
