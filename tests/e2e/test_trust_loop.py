"""End to end: flags by reaction, corrections that change later answers, feedback buttons,
App Home, and owners hearing about questions nobody could answer (real Bolt app, sandbox)."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.config.workspace import default_workspace_path, load_workspace
from app.db.models.feedback import AnswerFeedback, CuratedAnswer, Flag, OwnerNotice
from app.db.models.records import AuditRecord, PostedAnswer
from app.domain import AccessScope
from app.errors import RuleViolation
from app.knowledge.search import get_documents
from app.trust import corrections, flag_review, owners
from tests.harness import blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"  # support: may flag
KENJI = "kenji.watanabe@northwind.example"  # support: may flag
ROSA = "rosa.delgado@northwind.example"  # support lead (owns support-macros), Trellis admin
LIAM = "liam.carter@northwind.example"  # sales: may not flag
SOFIA = "sofia.marino@northwind.example"  # sales manager: may read the MSA template
HANNAH = "hannah.cole@northwind.example"  # legal: owns the MSA template
MSA = "What is the limitation of liability cap in the Master Supply Agreement?"
QUESTION = "What is the prepaid return label fee?"
CORRECT = (
    "Return labels are free for defective items. For any other return the USD 8.95 "
    "label fee is deducted from the refund, except for Trail Club members, who pay nothing."
)
SUPPORTED = (
    "Prepaid return labels are free for defective items. For any other return the "
    "USD 8.95 label fee is deducted from the refund."
)
"""What the owner accepts: the flagger's claim about Trail Club members is in no source."""


def workspace_copy(tmp_path):
    """The demo workspace in a folder of its own: accepted corrections write into evals/."""
    target = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), target)
    return target


def dm_with(trellis, email: str) -> str:
    return trellis.sandbox.workspace.open_im(trellis.user(email)).id


async def rows(services, model, *where):
    async with services.database.session() as session:
        return list((await session.execute(select(model).where(*where))).scalars())


async def eventually(check, seconds: float = 10) -> None:
    """Wait until `await check()` is true: for database state that no Slack message shows."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{check.__name__} did not hold within {seconds} s")


async def kinds(services) -> list[str]:
    return [r.kind for r in await rows(services, AuditRecord)]


async def ask_and_wait(trellis, email: str, channel: str, text: str):
    ts = await trellis.ask(email, channel, text)
    return await trellis.answer_in_thread(channel, ts)


async def opened_view(trellis, email: str, callback_id: str):
    """The modal Trellis opened for this person (views.open runs after the click's ack)."""
    user = trellis.user(email)

    def opened(call) -> bool:
        view = call.params.get("view") or {}
        return isinstance(view, dict) and view.get("callback_id") == callback_id

    await trellis.sandbox.wait_for_call("views.open", opened, timeout=10)
    return next(
        v for v in trellis.sandbox.open_views(user) if v.spec.get("callback_id") == callback_id
    )


async def flag_notice(trellis, email: str, predicate=lambda m: True):
    """The flag notice in the bot's DM with `email` once it matches `predicate`."""
    return await trellis.sandbox.wait_for_message(
        dm_with(trellis, email),
        lambda m: (
            m.bot_id is not None and "flagged an answer" in blocks_text(m.blocks) and predicate(m)
        ),
        10,
    )


async def test_a_flag_on_a_document_nobody_owns_reaches_an_admin_who_may_read_it(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        sam, support = trellis.user(SAM), trellis.channel("support")
        # The warranty procedure names no owner; the owners channel may not read it.
        answer = await ask_and_wait(
            trellis, SAM, "support", "Up to what amount may an agent approve a warranty refund?"
        )
        assert "300" in blocks_text(answer.blocks)
        await sandbox.add_reaction(sam, support, answer.ts, "x")
        notice = await flag_notice(trellis, ROSA)  # a Trellis admin who may read it
        shown = blocks_text(notice.blocks)
        assert "Warranty Claims Process" in shown and "Accept correction" in shown
        [flag] = await rows(services, Flag)
        assert flag.owners == [] and flag.doc_ids == ["support/warranty-claims"]
        # Someone who may act was told, so the owners channel gets no pointer, and nothing
        # there claims owners were told who were not.
        await asyncio.sleep(0.5)
        shown_there = [
            f"{m.text} {blocks_text(m.blocks)}"
            for m in sandbox.messages(trellis.channel("trellis-owners"))
        ]
        assert not [m for m in shown_there if "flag" in m.lower() or "300" in m]


async def test_support_flag_reaches_the_owner_who_accepts_and_the_question_gets_the_curated_answer(
    tmp_path,
):
    folder = workspace_copy(tmp_path)
    async with running_trellis(tmp_path, workspace=folder) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        sam, rosa, support = trellis.user(SAM), trellis.user(ROSA), trellis.channel("support")
        answer = await ask_and_wait(trellis, SAM, "support", QUESTION)
        assert "8.95" in blocks_text(answer.blocks)

        await sandbox.add_reaction(sam, support, answer.ts, "x")
        prompt = await sandbox.wait_for_ephemeral(
            sam, lambda e: "Say what's wrong" in blocks_text(e.blocks)
        )
        # The thanks says how to tell the owners what is wrong: the button that follows.
        assert "To tell them what is wrong, click “Say what's wrong” below" in prompt.text
        notice = await flag_notice(trellis, ROSA)
        shown = blocks_text(notice.blocks)
        assert QUESTION in shown and "8.95" in shown and "Support Macros" in shown
        assert "Accept correction" in shown and "Dismiss" in shown and "Update source" in shown
        # Not everyone in the owners channel may see support documents, so it went by DM.
        owners_channel = trellis.channel("trellis-owners")
        assert not [m for m in sandbox.messages(owners_channel) if "8.95" in blocks_text(m.blocks)]

        await sandbox.click_button(sam, support, prompt.ts, "trellis_flag_explain")
        note_view = await opened_view(trellis, SAM, "trellis_flag_note")
        await sandbox.submit_view(
            sam,
            note_view.id,
            {"correction": {"text": CORRECT}, "source": {"doc": "support-macros"}},
        )
        first_ts = notice.ts
        notice = await flag_notice(trellis, ROSA, lambda m: "Trail Club" in blocks_text(m.blocks))
        assert notice.ts == first_ts  # the same notice, updated in place
        assert len([m for m in sandbox.messages(dm_with(trellis, ROSA)) if m.bot_id]) == 1

        await sandbox.click_button(rosa, dm_with(trellis, ROSA), notice.ts, "trellis_flag_accept")
        correction_view = await opened_view(trellis, ROSA, "trellis_correction")
        assert CORRECT in str(correction_view.spec)  # the flagger's answer is the starting point
        ack = await sandbox.submit_view(
            rosa,
            correction_view.id,
            {"answer": {"text": CORRECT}, "sources": {"docs": ["support-macros"]}},
        )
        # A correction may not say more than its sources: the form names what is missing.
        assert ack.get("response_action") == "errors", ack
        assert "Trail Club" in str(ack["errors"]) and "Not in the chosen sources" in str(
            ack["errors"]
        )
        ack = await sandbox.submit_view(
            rosa,
            correction_view.id,
            {"answer": {"text": SUPPORTED}, "sources": {"docs": ["support-macros"]}},
        )
        assert ack.get("response_action") != "errors", ack
        await flag_notice(
            trellis, ROSA, lambda m: "Correction accepted by Rosa Delgado" in blocks_text(m.blocks)
        )
        await sandbox.wait_for_ephemeral(sam, lambda e: "accepted your correction" in e.text)

        again = await ask_and_wait(trellis, KENJI, "support", "what's the prepaid return label fee")
        text = blocks_text(again.blocks)
        assert "USD 8.95 label fee is deducted" in text and "Trail Club" not in text
        assert "Curated answer approved by Rosa Delgado" in text
        assert "Prepaid labels are free for defective items" in text  # the exact source quote
        assert "Support Macros" in text and "[1]" in text

        workspace = load_workspace(folder)
        case = next(c for c in workspace.evals if c.question == QUESTION)
        assert case.expect_sources == ["support-macros"] and case.expect_status == "answered"
        assert (folder / "evals" / "corrections.yml").is_file()
        recorded = await kinds(services)
        for kind in (
            "answer.flagged",
            "answer.flag_explained",
            "answer.flag_accepted",
            "correction.curated",
        ):
            assert kind in recorded
        sample = services.metrics.registry.get_sample_value
        assert sample("trellis_flags_total", {"event": "raised"}) == 1
        assert sample("trellis_flags_total", {"event": "accepted"}) == 1


async def test_a_curated_answer_is_not_given_where_a_reader_may_not_see_its_sources(tmp_path):
    async with running_trellis(tmp_path, workspace=workspace_copy(tmp_path)) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        answer = await ask_and_wait(trellis, SAM, "support", QUESTION)
        await sandbox.add_reaction(trellis.user(SAM), trellis.channel("support"), answer.ts, "x")
        await flag_notice(trellis, ROSA)
        flag = (await rows(services, Flag))[0]
        rosa = services.workspace.directory.by_email(ROSA)
        await flag_review.accept_correction(
            services, flag_id=flag.id, person=rosa, text=SUPPORTED, doc_ids=["support-macros"]
        )
        # Sales may not see support documents: Liam gets the ordinary answer, never the curated one.
        liam_scope = AccessScope.for_person(services.workspace.directory.by_email(LIAM))
        assert (
            await corrections.curated_answer_for(
                services.database, question=QUESTION, scope=liam_scope
            )
            is None
        )
        kenji_scope = AccessScope.for_person(services.workspace.directory.by_email(KENJI))
        assert (
            await corrections.curated_answer_for(
                services.database, question=QUESTION, scope=kenji_scope
            )
            is not None
        )


async def test_a_correction_citing_a_public_document_for_restricted_text_is_refused(tmp_path):
    """Support-only text kept while citing only the company handbook would reach everyone
    who may read the handbook, guests' channels included: it is refused, nothing is curated."""
    async with running_trellis(tmp_path, workspace=workspace_copy(tmp_path)) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        answer = await ask_and_wait(trellis, SAM, "support", QUESTION)
        await sandbox.add_reaction(trellis.user(SAM), trellis.channel("support"), answer.ts, "x")
        await flag_notice(trellis, ROSA)
        flag = (await rows(services, Flag))[0]
        rosa = services.workspace.directory.by_email(ROSA)
        with pytest.raises(RuleViolation, match="Not in the chosen sources"):
            await flag_review.accept_correction(
                services, flag_id=flag.id, person=rosa, text=SUPPORTED, doc_ids=["company-handbook"]
            )
        assert await rows(services, CuratedAnswer) == []
        assert (await rows(services, Flag))[0].status == "open"


async def test_a_non_flagger_is_told_once_who_may_flag_and_other_reactions_do_nothing(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        channel, liam = trellis.channel("help-trellis"), trellis.user(LIAM)
        question_ts = await trellis.ask(LIAM, "help-trellis", "When is Trail Day in 2026?")
        answer = await trellis.answer_in_thread("help-trellis", question_ts)
        await sandbox.add_reaction(liam, channel, answer.ts, "x")  # sales may not flag
        told = await sandbox.wait_for_ephemeral(liam, lambda e: "can flag" in e.text, 10)
        assert "only members of support can flag Trellis answers" in told.text
        assert told.channel == channel
        await sandbox.add_reaction(liam, channel, answer.ts, "warning")  # told once an answer
        await sandbox.add_reaction(
            trellis.user(SAM), channel, answer.ts, "tada"
        )  # not a flag emoji
        await sandbox.add_reaction(
            trellis.user(SAM), channel, question_ts, "x"
        )  # not a Trellis answer
        await asyncio.sleep(1.0)
        assert await rows(services, Flag) == []
        assert len([e for e in sandbox.ephemerals(liam) if "can flag" in e.text]) == 1
        for user in (liam, trellis.user(SAM)):
            assert not [
                e for e in sandbox.ephemerals(user) if "Say what's wrong" in blocks_text(e.blocks)
            ]
        assert not [e for e in sandbox.ephemerals(trellis.user(SAM)) if "can flag" in e.text]
        assert "answer.flagged" not in await kinds(services)


async def test_flagging_twice_records_one_flag_and_tells_the_owners_once(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        sam, support = trellis.user(SAM), trellis.channel("support")
        answer = await ask_and_wait(trellis, SAM, "support", QUESTION)
        await sandbox.add_reaction(sam, support, answer.ts, "x")
        await sandbox.add_reaction(sam, support, answer.ts, "warning")
        await flag_notice(trellis, ROSA)
        reaction = next(
            d.payload
            for d in sandbox.gateway.deliveries
            if d.payload.get("event", {}).get("type") == "reaction_added"
        )
        await sandbox.deliver_event(reaction, retry_attempt=1, retry_reason="timeout").wait()
        await asyncio.sleep(1.0)
        flags = await rows(services, Flag)
        assert len(flags) == 1 and sorted(flags[0].reactions) == ["warning", "x"]
        assert len([m for m in sandbox.messages(dm_with(trellis, ROSA)) if m.bot_id]) == 1
        assert (
            len([e for e in sandbox.ephemerals(sam) if "Say what's wrong" in blocks_text(e.blocks)])
            == 1
        )
        assert (await kinds(services)).count("answer.flagged") == 1


async def test_removing_the_reaction_withdraws_a_flag_that_has_no_note_yet(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        sam, kenji, support = trellis.user(SAM), trellis.user(KENJI), trellis.channel("support")
        answer = await ask_and_wait(trellis, SAM, "support", QUESTION)
        await sandbox.add_reaction(sam, support, answer.ts, "x")
        await sandbox.add_reaction(sam, support, answer.ts, "warning")

        async def both_emoji_recorded() -> bool:
            flags = await rows(services, Flag)
            return (
                bool(flags)
                and sorted(flags[0].reactions) == ["warning", "x"]
                and bool(flags[0].notices)
            )

        await eventually(both_emoji_recorded)
        await sandbox.remove_reaction(sam, support, answer.ts, "x")  # still flagged by :warning:
        await asyncio.sleep(0.5)
        assert (await rows(services, Flag))[0].status == "open"
        await sandbox.remove_reaction(sam, support, answer.ts, "warning")
        await flag_notice(trellis, ROSA, lambda m: "withdrew this flag" in blocks_text(m.blocks))
        assert (await rows(services, Flag))[0].status == "withdrawn"

        # A flag with a note stands, whatever happens to the emoji.
        await sandbox.add_reaction(kenji, support, answer.ts, "x")
        prompt = await sandbox.wait_for_ephemeral(
            kenji, lambda e: "Say what's wrong" in blocks_text(e.blocks)
        )
        await sandbox.click_button(kenji, support, prompt.ts, "trellis_flag_explain")
        view = await opened_view(trellis, KENJI, "trellis_flag_note")
        await sandbox.submit_view(kenji, view.id, {"correction": {"text": CORRECT}})
        await sandbox.remove_reaction(kenji, support, answer.ts, "x")
        await asyncio.sleep(0.5)
        kenjis = [f for f in await rows(services, Flag) if f.flagger_email == KENJI]
        assert kenjis[0].status == "open" and kenjis[0].correction == CORRECT

        # Adding the emoji again reopens the withdrawn flag instead of making a second one.
        await sandbox.add_reaction(sam, support, answer.ts, "x")
        await flag_notice(
            trellis,
            ROSA,
            lambda m: (
                "Sam Ortiz flagged" in blocks_text(m.blocks)
                and "Accept correction" in blocks_text(m.blocks)
            ),
        )
        assert len(await rows(services, Flag)) == 2
        assert [f.status for f in await rows(services, Flag) if f.flagger_email == SAM] == ["open"]


async def test_feedback_is_recorded_once_per_person_and_a_change_of_mind_updates_it(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        sam, support = trellis.user(SAM), trellis.channel("support")
        answer = await ask_and_wait(trellis, SAM, "support", QUESTION)
        assert "Helpful" in blocks_text(answer.blocks) and "Not helpful" in blocks_text(
            answer.blocks
        )
        await sandbox.click_button(sam, support, answer.ts, "trellis_feedback_up")
        await sandbox.wait_for_ephemeral(sam, lambda e: "Thanks" in e.text)
        await sandbox.click_button(sam, support, answer.ts, "trellis_feedback_up")
        await sandbox.wait_for_ephemeral(sam, lambda e: "already marked" in e.text)
        await sandbox.click_button(sam, support, answer.ts, "trellis_feedback_down")
        await sandbox.wait_for_ephemeral(sam, lambda e: "Changed" in e.text)
        await sandbox.click_button(trellis.user(KENJI), support, answer.ts, "trellis_feedback_up")
        await sandbox.wait_for_ephemeral(trellis.user(KENJI), lambda e: "Thanks" in e.text)
        votes = await rows(services, AnswerFeedback)
        assert sorted((v.person_email, v.helpful) for v in votes) == [(KENJI, True), (SAM, False)]
        assert (await kinds(services)).count("answer.feedback") == 3
        sample = services.metrics.registry.get_sample_value
        assert sample("trellis_feedback_total", {"rating": "helpful"}) == 2  # Sam's first, Kenji's
        assert sample("trellis_feedback_total", {"rating": "not_helpful"}) == 1  # Sam's change


async def test_app_home_shows_everyone_their_view_and_admins_the_dashboard(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        await ask_and_wait(trellis, SAM, "support", QUESTION)
        await ask_and_wait(trellis, SAM, "support", "What is the parental leave policy in Brazil?")
        sam, rosa = trellis.user(SAM), trellis.user(ROSA)

        await sandbox.open_home(sam)
        await sandbox.wait_for_call("views.publish", lambda c: c.params.get("user_id") == sam)
        home = blocks_text(sandbox.home_view(sam).spec["blocks"])
        sam_docs = await get_documents(
            services.database,
            scope=AccessScope.for_person(services.workspace.directory.by_email(SAM)),
        )
        visible = len([d for d in sam_docs if d.status != "draft"])
        assert f"{visible} documents" in home
        assert "support" in home and "support-leads" in home  # by folder and by owner
        assert "Flag a wrong answer" in home and "Dashboard" not in home
        assert "Waiting for your approval" in home or "Nothing is waiting" in home

        await sandbox.open_home(rosa)
        await sandbox.wait_for_call("views.publish", lambda c: c.params.get("user_id") == rosa)
        admin = blocks_text(sandbox.home_view(rosa).spec["blocks"])
        assert "Dashboard" in admin
        assert (
            "Questions:* 2" in admin
            and "answer rate* 50%" in admin
            and "no-answer rate* 50%" in admin
        )
        assert "parental leave policy in Brazil" in admin  # top unanswered
        assert "Open flags:* 0" in admin and "Model cost this week" in admin
        assert "Approvals pending" in admin or "Approvals:" in admin


async def test_a_question_nobody_can_answer_reaches_the_owners_and_a_burst_is_batched(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        channel = trellis.channel("trellis-owners")

        def owner_notices():
            return [
                m for m in sandbox.messages(channel) if "could not answer" in blocks_text(m.blocks)
            ]

        async def waiting(count: int):
            async def notices_waiting() -> bool:
                found = await rows(services, OwnerNotice, OwnerNotice.sent_at.is_(None))
                return len(found) == count

            await eventually(notices_waiting)

        answer = await ask_and_wait(
            trellis, SAM, "support", "What is the parental leave policy in Brazil?"
        )
        assert "couldn't find" in blocks_text(answer.blocks)
        await waiting(1)
        # Each question waits, so its asker can still keep it from the owners.
        assert await owners.flush_notices(services) == 0 and owner_notices() == []
        delay = timedelta(seconds=services.settings.owner_notice_delay_seconds)
        assert await owners.flush_notices(services, now=services.clock() + delay) == 1
        notice = owner_notices()[0]
        assert "parental leave policy in Brazil" in blocks_text(notice.blocks)
        assert f"<@{trellis.user('grace.adeyemi@northwind.example')}>" in blocks_text(notice.blocks)

        for topic in ("Chile", "Kenya", "Norway"):
            await ask_and_wait(
                trellis, SAM, "support", f"What is the parental leave policy in {topic}?"
            )
        await waiting(3)
        later = services.clock() + delay + timedelta(minutes=1)
        assert await owners.flush_notices(services, now=later) == 0
        assert len(owner_notices()) == 1  # the burst waits for the window instead of spamming

        window_passed = services.clock() + delay + timedelta(minutes=16)
        assert await owners.flush_notices(services, now=window_passed) == 1
        batch = owner_notices()[-1]
        assert "3 questions" in blocks_text(batch.blocks)
        for topic in ("Chile", "Kenya", "Norway"):
            assert topic in blocks_text(batch.blocks)


async def test_flagging_the_reply_that_only_the_asker_is_answered_flags_their_private_answer(
    tmp_path,
):
    folder = workspace_copy(tmp_path)
    config = folder / "trellis.yml"
    config.write_text(
        config.read_text().replace("flaggers: [support]", "flaggers: [support, sales]")
    )
    async with running_trellis(tmp_path, workspace=folder) as trellis:
        sandbox, services = trellis.sandbox, trellis.services
        sofia, liam, sales = trellis.user(SOFIA), trellis.user(LIAM), trellis.channel("sales")
        # The reps in #sales may not read the MSA template: only Sofia is shown the answer.
        reply = await ask_and_wait(trellis, SOFIA, "sales", MSA)
        assert "couldn't find a well-supported answer" in blocks_text(reply.blocks)
        await sandbox.wait_for_ephemeral(
            sofia, lambda e: "Only you can see" in blocks_text(e.blocks)
        )
        [private] = await rows(services, PostedAnswer, PostedAnswer.private.is_(True))

        # Liam never saw Sofia's answer: he is told only she can flag it.
        await sandbox.add_reaction(liam, sales, reply.ts, "x")
        await sandbox.add_reaction(sofia, sales, reply.ts, "x")
        await sandbox.wait_for_ephemeral(
            sofia, lambda e: "Say what's wrong" in blocks_text(e.blocks)
        )
        notice = await flag_notice(trellis, HANNAH)  # legal owns the MSA template
        shown = blocks_text(notice.blocks)
        assert "Master Supply Agreement" in shown and "legal-msa-template" in shown
        assert "liability" in shown.lower() and "couldn't find" not in shown
        await asyncio.sleep(0.5)  # Liam's reaction was delivered first
        [flag] = await rows(services, Flag)
        assert (flag.answer_id, flag.flagger_email) == (private.id, SOFIA)
        assert flag.doc_ids == ["legal-msa-template"] and flag.owners == ["legal"]
        # Not everyone in the owners channel may read the MSA template: nothing of it is there.
        owners_channel = trellis.channel("trellis-owners")
        assert not [
            m
            for m in sandbox.messages(owners_channel)
            if "liability" in f"{m.text} {blocks_text(m.blocks)}".lower()
        ]
        await sandbox.wait_for_ephemeral(liam, lambda e: "only they can flag it" in e.text)
