"""Owners are told: conflicts, dead letters, the weekly digest, and owners' decisions on flags."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from app.answering.compose import Reply
from app.db.models.feedback import Flag
from app.domain import AnswerStatus
from app.errors import AccessDenied, ApprovalConflict
from app.pipeline import Outcome
from app.trust import digest, feedback, flag_review, owners
from handlers.views import cards
from handlers.views import digest as digest_view
from tests.e2e.test_trust_loop import KENJI, QUESTION, ROSA, SAM, ask_and_wait, dm_with, flag_notice
from tests.harness import blocks_text, running_trellis

GRACE = "grace.adeyemi@northwind.example"  # people-ops: owns the HR documents
JONAS = "jonas.berg@northwind.example"  # a Trellis admin


def owners_messages(trellis, words: str):
    channel = trellis.channel("trellis-owners")
    return [m for m in trellis.sandbox.messages(channel) if words in blocks_text(m.blocks)]


async def test_conflicting_current_documents_reach_both_owners_once_per_window(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        services = trellis.services
        reply = Reply(
            AnswerStatus.ANSWERED, "Both.", notes=("conflict: hr-pto-2025, company-handbook",)
        )
        outcome = Outcome("audit-1", AnswerStatus.ANSWERED, reply)
        await owners.after_question(services, outcome=outcome, question="How many PTO days?")
        notice = await trellis.sandbox.wait_for_message(
            trellis.channel("trellis-owners"),
            lambda m: "Documents disagree" in blocks_text(m.blocks),
        )
        text = blocks_text(notice.blocks)
        assert "Paid Time Off" in text and "How many PTO days?" in text
        assert f"<@{trellis.user(GRACE)}>" in text  # people-ops owns both documents
        await owners.after_question(services, outcome=outcome, question="PTO days again?")
        await asyncio.sleep(0.3)
        assert len(owners_messages(trellis, "Documents disagree")) == 1


async def test_a_dead_letter_reaches_the_owners_channel_with_a_retry_button(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        posted = await owners.notify_dead_letter(
            trellis.services,
            summary="Email to buying@summitsports.example",
            error="SMTP 554 <rejected>",
            requester_email=SAM,
            reference="draft-42",
            retry_draft="draft-42",
        )
        assert len(posted) == 1 and posted[0]["channel"] == trellis.channel("trellis-owners")
        message = owners_messages(trellis, "failed and was not carried out")[0]
        text = blocks_text(message.blocks)
        assert "Sam Ortiz" in text and "draft-42" in text and "&lt;rejected&gt;" in text
        buttons = [e for b in message.blocks if b.get("type") == "actions" for e in b["elements"]]
        assert [(b["action_id"], b["value"]) for b in buttons] == [(cards.RETRY, "draft-42")]


async def test_the_weekly_digest_is_built_from_the_database_and_posted_once_a_week(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        services = trellis.services
        await ask_and_wait(trellis, SAM, "support", QUESTION)
        await ask_and_wait(trellis, SAM, "support", "What is the parental leave policy in Brazil?")
        built = await digest.build_digest(services)
        assert built.board.questions == 2 and built.board.statuses == {
            "answered": 1,
            "no_answer": 1,
        }
        text = blocks_text(digest_view.digest_blocks(built.board))
        assert "answered 50%" in text and "parental leave policy in Brazil" in text
        sent = await digest.send_weekly_digest(services)
        assert sent is not None and sent.week == built.week
        assert await digest.send_weekly_digest(services) is None  # the same week, another replica
        (posted,) = owners_messages(trellis, "Trellis this week")
        # The charts go into the digest's thread as one image (files_upload_v2).
        charts = [
            m
            for m in trellis.sandbox.messages(posted.channel)
            if m.thread_ts == posted.ts and m.files
        ]
        assert len(charts) == 1 and charts[0].files[0]["mimetype"] == "image/png"


async def test_the_owner_jobs_are_scheduled_on_apscheduler(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        scheduler = AsyncIOScheduler(timezone=UTC)
        digest.add_owner_jobs(scheduler, trellis.services)
        scheduler.start(paused=True)
        try:
            jobs = {job.id: job for job in scheduler.get_jobs()}
            assert set(jobs) == {digest.DIGEST_JOB, digest.FLUSH_JOB}
            after = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)  # a Tuesday
            fire = jobs[digest.DIGEST_JOB].trigger.get_next_fire_time(None, after)
            assert (fire.weekday(), fire.hour) == (0, 9)
        finally:
            scheduler.shutdown(wait=False)


@pytest.fixture
async def flagged(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        answer = await ask_and_wait(trellis, SAM, "support", QUESTION)
        await trellis.sandbox.add_reaction(
            trellis.user(SAM), trellis.channel("support"), answer.ts, "x"
        )
        notice = await flag_notice(trellis, ROSA)
        # The flagger's prompt comes once the owners' notices are remembered.
        await trellis.sandbox.wait_for_ephemeral(
            trellis.user(SAM), lambda e: "Say what's wrong" in blocks_text(e.blocks)
        )
        case = (await feedback_cases(trellis))[0]
        yield trellis, notice, case


async def feedback_cases(trellis):
    async with trellis.services.database.session() as session:
        flags = (await session.execute(select(Flag))).scalars().all()
    return [await feedback.get_case(trellis.services, f.id) for f in flags]


async def test_only_owners_and_admins_decide_and_never_the_flagger(flagged):
    trellis, _, case = flagged
    directory = trellis.services.workspace.directory
    with pytest.raises(AccessDenied, match="support-leads"):
        await flag_review.decide_flag(
            trellis.services, flag_id=case.id, person=directory.by_email(KENJI), verdict="dismiss"
        )
    with pytest.raises(AccessDenied, match="You raised this flag"):
        await flag_review.decide_flag(
            trellis.services, flag_id=case.id, person=directory.by_email(SAM), verdict="dismiss"
        )


async def test_a_dismissal_tells_the_flagger_and_a_second_decision_is_told_who_decided(flagged):
    trellis, notice, case = flagged
    sandbox = trellis.sandbox
    await sandbox.click_button(
        trellis.user(ROSA), dm_with(trellis, ROSA), notice.ts, "trellis_flag_dismiss"
    )
    await flag_notice(trellis, ROSA, lambda m: "Dismissed by Rosa Delgado" in blocks_text(m.blocks))
    await sandbox.wait_for_ephemeral(trellis.user(SAM), lambda e: "kept the answer" in e.text)
    jonas = trellis.services.workspace.directory.by_email(
        "jonas.berg@northwind.example"
    )  # an admin
    with pytest.raises(ApprovalConflict, match="Rosa Delgado already dismissed"):
        await flag_review.decide_flag(
            trellis.services, flag_id=case.id, person=jonas, verdict="update_source"
        )


async def test_update_source_assigns_the_documents_owner_and_tells_them(flagged):
    trellis, notice, _ = flagged
    sandbox = trellis.sandbox
    await sandbox.click_button(
        trellis.user(ROSA), dm_with(trellis, ROSA), notice.ts, "trellis_flag_update_source"
    )
    await sandbox.wait_for_message(
        dm_with(trellis, ROSA),
        lambda m: "asks you to update the source" in blocks_text(m.blocks),
        10,
    )
    await flag_notice(
        trellis,
        ROSA,
        lambda m: (
            "update the source" in blocks_text(m.blocks)
            and "Accept correction" not in blocks_text(m.blocks)
        ),
    )
    await sandbox.wait_for_ephemeral(trellis.user(SAM), lambda e: "to update the source" in e.text)
    assert "answer.flag_source_update" in [
        r.kind
        for r in await trellis.services.audit.story((await feedback_cases(trellis))[0].audit_id)
    ]


async def test_someone_who_may_not_decide_a_flag_hears_its_owners_by_name(flagged):
    trellis, _, case = flagged
    kenji = trellis.services.workspace.directory.by_email(KENJI)
    owned_by_grace = replace(case, owners=(GRACE,))
    with pytest.raises(AccessDenied, match=r"\(Grace Adeyemi\)") as refused:
        flag_review.check_may_decide(trellis.services, owned_by_grace, kenji)
    assert GRACE not in str(refused.value)


async def test_owners_asked_to_update_a_source_are_named_not_emailed(flagged):
    trellis, notice, case = flagged
    async with trellis.services.database.session() as session:
        flag = await session.get(Flag, case.id)
        flag.owners = ["support-leads", GRACE]  # a document owned by a person, too
    await trellis.sandbox.click_button(
        trellis.user(ROSA), dm_with(trellis, ROSA), notice.ts, "trellis_flag_update_source"
    )
    told = await trellis.sandbox.wait_for_ephemeral(
        trellis.user(SAM), lambda e: "to update the source" in e.text
    )
    assert "(support-leads and Grace Adeyemi)" in told.text and GRACE not in told.text
    updated = await flag_notice(
        trellis, ROSA, lambda m: "asked support-leads and Grace Adeyemi" in blocks_text(m.blocks)
    )
    assert GRACE not in blocks_text(updated.blocks)


async def test_a_source_update_for_a_document_nobody_owns_says_so_to_everyone(flagged):
    trellis, notice, case = flagged
    async with trellis.services.database.session() as session:
        (await session.get(Flag, case.id)).owners = []  # its document names no owner
    sandbox = trellis.sandbox
    await sandbox.click_button(
        trellis.user(ROSA), dm_with(trellis, ROSA), notice.ts, "trellis_flag_update_source"
    )
    decider = await sandbox.wait_for_ephemeral(trellis.user(ROSA), lambda e: "no owner" in e.text)
    assert "Add `owner:`" in decider.text and "front matter" in decider.text
    told = await sandbox.wait_for_ephemeral(
        trellis.user(SAM), lambda e: "source to be updated" in e.text
    )
    assert "()" not in told.text
    assert told.text == (
        "Rosa Delgado asked for the source to be updated. The document has no owner yet, "
        "so Rosa Delgado was asked to name one, and nobody else has been told yet."
    )
    # Rosa is the one admin who may read it (Jonas may not): she is sent the request, with
    # the document's title; the owners channel, which may not read it, hears nothing of it,
    # and nobody claims Jonas was told.
    update = await sandbox.wait_for_message(
        dm_with(trellis, ROSA), lambda m: "asks for the source" in blocks_text(m.blocks), 10
    )
    assert "Support Macros has no owner" in blocks_text(update.blocks)
    await asyncio.sleep(0.3)
    assert not owners_messages(trellis, "needs an update")
    assert not [m for m in sandbox.messages(dm_with(trellis, JONAS)) if m.bot_id]
