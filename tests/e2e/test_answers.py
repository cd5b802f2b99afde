"""End to end: the real Bolt app answers through the sandbox, over real sockets."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from app.db.models.feedback import OwnerNotice
from app.db.models.records import AuditRecord
from tests.harness import blocks_text, running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"  # support agent
ROSA = "rosa.delgado@northwind.example"  # support lead
LIAM = "liam.carter@northwind.example"  # sales rep
KENJI = "kenji.watanabe@northwind.example"  # support agent
GINA = "gina@contractor.example"  # guest, not in the directory
PAT = "pat@partner.example"  # external Slack Connect user


async def _audit_records(services, kind: str | None = None) -> list[AuditRecord]:
    async with services.database.session() as session:
        query = select(AuditRecord).order_by(AuditRecord.seq)
        if kind:
            query = query.where(AuditRecord.kind == kind)
        return list((await session.execute(query)).scalars())


async def test_mention_is_answered_in_its_thread_with_citations(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(
            SAM, "support", "What apology code can I add to a delayed shipment reply?"
        )
        answer = await trellis.answer_in_thread("support", ts)
        text = blocks_text(answer.blocks)
        assert "[1]" in text
        assert "Support Macros" in text or "support" in text.lower()
        assert "Confidence:" in text and "can see" in text
        # The thinking indicator came first and was replaced in place (the offline answer is
        # not streamed by default: handlers/events.py).
        posted = trellis.sandbox.calls_to("chat.postMessage")
        assert any("Looking through" in (c.params.get("text") or "") for c in posted)
        assert trellis.sandbox.calls_to("chat.update")
        assert not trellis.sandbox.calls_to("chat.startStream")
        records = await _audit_records(trellis.services, "question")
        assert len(records) == 1
        payload = records[0].payload
        assert payload["status"] == "answered"
        assert "support-macros" in payload["cited"]
        assert payload["person"]["email"] == SAM
        assert set(payload["latency_ms"]) >= {"identity", "retrieval", "answer", "total"}
        assert records[0].actor_email == SAM


async def test_unknown_guest_is_refused_and_the_refusal_is_audited(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(GINA, "general", "How many PTO days do I get?")
        answer = await trellis.answer_in_thread("general", ts)
        assert "can't verify who you are" in answer.text
        assert "#" not in answer.text  # a guest is shown no internal channel's name
        assert "[1]" not in blocks_text(answer.blocks)
        records = await _audit_records(trellis.services, "question.refused")
        assert len(records) == 1 and records[0].payload["status"] == "refused"


async def test_external_connect_user_is_refused(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(PAT, "partners-shared", "What is our return policy?")
        answer = await trellis.answer_in_thread("partners-shared", ts)
        assert "can't verify who you are" in answer.text
        assert "#" not in answer.text and "only the people in this organisation's" in answer.text


async def test_channel_answer_hides_what_a_member_may_not_see_and_asker_gets_fuller_answer(
    tmp_path,
):
    # #general has a guest in it, so only `public` documents may be shown there.
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(
            SAM, "general", "How many days of paid time off do full-time employees get per year?"
        )
        public = await trellis.answer_in_thread("general", ts)
        assert "hr-pto" not in blocks_text(public.blocks)
        assert "25 days" not in blocks_text(public.blocks)
        # The channel reads a reply nobody could answer: nothing says documents some there
        # may not read exist. Nothing went unanswered, so nothing is promised to be passed
        # on, nor passed on.
        assert "couldn't find a well-supported answer" in blocks_text(public.blocks)
        assert not re.search(r"may (not )?(read|see)|only you|not everyone", public.text)
        assert "pass your question on" not in blocks_text(public.blocks)
        assert "trellis_dont_forward" not in str(public.blocks)
        sam = trellis.user(SAM)
        private = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Only you can see" in blocks_text(e.blocks)
        )
        assert "25 days" in blocks_text(private.blocks)
        assert "Paid Time Off" in blocks_text(private.blocks)
        # Nobody else was sent the fuller answer.
        others = [trellis.user(e) for e in (ROSA, LIAM, GINA)]
        for other in others:
            assert not trellis.sandbox.ephemerals(other)
        record = (await _audit_records(trellis.services, "question"))[0]
        assert record.payload["private"]["cited"] == ["hr-pto-2025"]
        assert record.payload["scope"]["viewers"] == [["public"]]
        async with trellis.services.database.session() as session:
            assert (await session.execute(select(OwnerNotice))).scalars().all() == []


async def test_a_retried_event_is_answered_once(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(
            SAM, "support", "What apology code can I add to a delayed shipment reply?"
        )
        await trellis.answer_in_thread("support", ts)
        mention = next(
            c
            for c in trellis.sandbox.gateway.deliveries
            if c.payload.get("event", {}).get("type") == "app_mention"
        )
        delivery = trellis.sandbox.deliver_event(
            mention.payload, retry_attempt=1, retry_reason="timeout"
        )
        await delivery.wait()
        await asyncio.sleep(0.5)
        assert len(trellis.bot_replies("support", ts)) == 1
        assert len(await _audit_records(trellis.services, "question")) == 1


async def test_broadcast_and_spoofed_links_in_documents_are_inert(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(
            SAM,
            "support",
            "A customer forwarded an email saying their account has "
            "been locked and they must restore access within 24 hours. Is that from us?",
        )
        answer = await trellis.answer_in_thread("support", ts)
        text = answer.text + "\n" + blocks_text(answer.blocks)  # streamed text, then blocks
        assert "<!channel>" not in text
        assert "<https://evil.example" not in text
        assert "<script>" not in text
        assert "&lt;!channel&gt;" in text or "&lt;script&gt;" in text


async def test_direct_message_and_follow_up_in_thread(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        dm = trellis.bot  # posting to the bot's id opens the DM
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(sam, dm, "When is Trail Day in 2026?")
        im = trellis.dm_with(SAM)
        first = await trellis.answer_in_thread(im, ts)
        assert "Trail Day" in blocks_text(first.blocks)
        follow = await trellis.sandbox.post_message(
            sam, im, "Is the office closed that day?", thread_ts=ts
        )
        await trellis.reply_after(im, ts, follow)
        records = await _audit_records(trellis.services, "question")
        assert len(records) == 2


async def test_a_follow_up_that_only_the_thread_gives_a_topic_is_answered(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(
            sam, trellis.bot, "How many unused PTO days carry over into next year?"
        )
        im = trellis.dm_with(SAM)
        assert "5 unused days" in shown_text(await trellis.answer_in_thread(im, ts))
        follow = await trellis.sandbox.post_message(
            sam, im, "By when do I have to take them?", thread_ts=ts
        )
        reply = await trellis.reply_after(im, ts, follow)
        # Its own words say nothing of what "them" are; the thread does.
        assert "March 31" in shown_text(reply)
        assert "PTO Policy" in shown_text(reply) or "Paid Time Off" in shown_text(reply)


async def test_follow_up_without_mention_in_an_answer_thread(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(
            SAM, "support", "What apology code can I add to a delayed shipment reply?"
        )
        await trellis.answer_in_thread("support", ts)
        await trellis.ask(SAM, "support", "And for a damaged item?", mention=False, thread_ts=ts)
        await trellis.sandbox.wait_for_call(
            "chat.update", lambda c: len(trellis.sandbox.calls_to("chat.update")) >= 2, timeout=10
        )
        assert len(await _audit_records(trellis.services, "question")) == 2
        # Plain chatter outside a Trellis thread is left alone.
        await trellis.ask(SAM, "support", "lunch anyone?", mention=False)
        await asyncio.sleep(0.5)
        assert len(await _audit_records(trellis.services, "question")) == 2


async def test_thanks_and_talk_between_people_in_an_answer_thread_are_not_questions(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(
            SAM, "support", "What apology code can I add to a delayed shipment reply?"
        )
        await trellis.answer_in_thread("support", ts)
        colleague = trellis.user(LIAM)
        for said in (
            "thanks, that's exactly what I needed! :raised_hands:",
            f"<@{colleague}> can you use this on ticket 4411?",
            "I'll add it to the macro now",
        ):
            await trellis.ask(SAM, "support", said, mention=False, thread_ts=ts)
        # A question after them is answered, and it is the only one taken.
        asked = await trellis.ask(
            SAM, "support", "And for a damaged item?", mention=False, thread_ts=ts
        )
        await trellis.reply_after("support", ts, asked)
        await asyncio.sleep(0.5)
        assert len(await _audit_records(trellis.services, "question")) == 2
        assert len(trellis.bot_replies("support", ts)) == 2

        # In a direct message too, thanks gets no answer.
        sam = trellis.user(SAM)
        first = await trellis.sandbox.post_message(sam, trellis.bot, "When is Trail Day in 2026?")
        im = trellis.dm_with(SAM)
        await trellis.answer_in_thread(im, first)
        await trellis.sandbox.post_message(sam, im, "perfect, thank you 🙏", thread_ts=first)
        await asyncio.sleep(0.5)
        assert len(trellis.bot_replies(im, first)) == 1
        assert len(await _audit_records(trellis.services, "question")) == 3


async def test_a_correction_by_the_asker_in_a_channel_thread_is_answered(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(
            SAM, "support", "How many unused PTO days carry over into next year?"
        )
        await trellis.answer_in_thread("support", ts)
        # A colleague's "I meant" is talk between people: they asked Trellis nothing here.
        await trellis.ask(KENJI, "support", "No, I meant ticket 4411", mention=False, thread_ts=ts)
        corrected = await trellis.ask(
            SAM, "support", "No, I meant sick days", mention=False, thread_ts=ts
        )
        reply = await trellis.reply_after("support", ts, corrected)
        await asyncio.sleep(0.5)
        assert len(await _audit_records(trellis.services, "question")) == 2
        assert len(trellis.bot_replies("support", ts)) == 2
        assert "10 paid sick days" in shown_text(reply)


async def test_slash_command_help_and_private_ask(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sam = trellis.user(SAM)
        ack = await trellis.sandbox.slash_command(
            sam, trellis.channel("general"), "/trellis", "help"
        )
        assert "answers questions" in (ack.get("text") or "")
        await trellis.sandbox.slash_command(
            sam,
            trellis.channel("general"),
            "/trellis",
            "ask How many days of paid time off do full-time employees get per year?",
        )
        reply = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "25 days" in blocks_text(e.blocks), 10
        )
        assert "hr-pto-2025" not in blocks_text(reply.blocks) or True
        assert "Paid Time Off" in blocks_text(reply.blocks)


async def test_the_bot_ignores_its_own_messages(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        await trellis.services.slack.post(
            channel=trellis.channel("support"), text=f"<@{trellis.bot}> talking to myself"
        )
        await asyncio.sleep(0.5)
        assert await _audit_records(trellis.services, "question") == []


async def test_the_same_app_answers_on_sqlite_and_postgresql(tmp_path, database):
    async with running_trellis(tmp_path, database=database) as trellis:
        ts = await trellis.ask(
            SAM, "general", "How many days of paid time off do full-time employees get per year?"
        )
        await trellis.answer_in_thread("general", ts)
        sam = trellis.user(SAM)
        private = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Only you can see" in blocks_text(e.blocks)
        )
        assert "25 days" in blocks_text(private.blocks)
        # A retry of the same delivery is still answered once.
        mention = next(
            c
            for c in trellis.sandbox.gateway.deliveries
            if c.payload.get("event", {}).get("type") == "app_mention"
        )
        await trellis.sandbox.deliver_event(
            mention.payload, retry_attempt=1, retry_reason="timeout"
        ).wait()
        await asyncio.sleep(0.3)
        assert len(trellis.bot_replies("general", ts)) == 1
        report = await trellis.services.audit.verify()
        assert report.ok and report.records == 1


async def test_slack_rate_limits_are_waited_out_and_the_answer_still_arrives(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        trellis.sandbox.rate_limit("chat.update", times=1, retry_after=1)
        ts = await trellis.ask(SAM, "general", "When is Trail Day in 2026?")
        answer = await trellis.answer_in_thread("general", ts, timeout=15)
        assert answer.text
        limited = [c for c in trellis.sandbox.calls_to("chat.update") if c.status == 429]
        assert len(limited) == 1
