"""Reminders, escalations, expiry and leases: all computed from what the database holds."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse
from sqlalchemy import func, select, update

from app.approvals import notices
from app.approvals.chain import card_not_posted
from app.approvals.deadlines import Timing
from app.approvals.drafts import DraftState
from app.db.models.approvals import Draft, OutboxAction
from app.db.repositories.approvals import OutboxRepository
from app.delivery.retry import OutboxPolicy
from app.delivery.scheduler import (
    CARD_GRACE,
    Background,
    deliver_notices,
    outbox_worker,
    sweep_drafts,
)
from app.domain import ActionState
from app.errors import SlackUnavailable
from tests.approval_helpers import SOFIA, Clock, demo, pending_discount, person, webhook_action
from tests.harness import blocks_text, running_trellis
from tests.workflow_helpers import card_in, draft_of, eventually, until_state, wait_for_text

SAM = "sam.ortiz@northwind.example"
ROSA = "rosa.delgado@northwind.example"  # support lead; her manager is Maya
MAYA = "maya.lindqvist@northwind.example"
KENJI = "kenji.watanabe@northwind.example"
QUESTION = 'question="When does our contract renew? We are planning the next tents order."'
REPLY = f'customer_reply customer="Alpine Co." contact=purchasing@alpine-co.example ticket=SUP-9 {QUESTION}'


async def reply_card(trellis):
    await trellis.sandbox.slash_command(
        trellis.user(SAM), trellis.channel("support"), "/trellis", REPLY
    )
    card = await card_in(trellis, "support-approvals")
    return card, await draft_of(trellis, card)


async def cardless_reply(trellis):
    """Sam's customer reply, saved and waiting, its card not posted yet."""
    workspace, requester = demo(), person(SAM)
    return await trellis.services.approvals.create(
        kind="workflow",
        workflow="customer_reply",
        title="Customer reply",
        mode="act_after_approval",
        requester=requester,
        requester_slack_id=None,
        channel_id=None,
        thread_ts=None,
        inputs={"customer": "Alpine Co."},
        text="Hello Jordan",
        citations=[],
        confidence=0.5,
        actions=[],
        requirement=workspace.rulebook.approval_for("customer_reply", requester=requester),
        rule="every request",
        rule_version=workspace.version,
        timing=Timing(),
    )


def in_thread(card):
    return lambda message: message.thread_ts == card.ts


async def test_a_waiting_reply_is_reminded_once_then_escalated_to_the_leads_manager(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        card, draft = await reply_card(trellis)
        assert (await sweep_drafts(trellis.services)).reminded == 0

        clock.advance(hours=1, seconds=1)  # remind_after: 1h
        assert (await sweep_drafts(trellis.services)).reminded == 1
        reminder = await wait_for_text(
            trellis, "support-approvals", "Reminder", where=in_thread(card)
        )
        assert f"<@{trellis.user(ROSA)}> can decide" in reminder.text
        assert (await sweep_drafts(trellis.services)).reminded == 0  # once

        clock.advance(hours=3)  # escalate_after: 4h, to the approvers' manager
        assert draft.citations and {c["doc_id"] for c in draft.citations} == {"customer-alpine-co"}
        assert (await sweep_drafts(trellis.services)).escalated == 1
        # Maya (leadership) may not read the customer's account summary the card quotes: she
        # is told where a request waits, sees nothing of it, and does not become an approver.
        notice = await wait_for_text(
            trellis, "support-approvals", "may not read its sources", where=in_thread(card)
        )
        maya = trellis.user(MAYA)
        assert f"<@{maya}>" not in notice.text
        view = await trellis.services.approvals.view(draft.id)
        assert view.escalated_to == ()
        im = trellis.dm_with(MAYA)
        pointer = await trellis.sandbox.wait_for_message(im, lambda m: "waited too long" in m.text)
        assert not pointer.blocks
        assert "Alpine" not in pointer.text and "tents" not in pointer.text
        assert "customer-alpine-co" not in pointer.text


async def test_escalation_gives_the_card_to_a_manager_who_may_read_its_sources(tmp_path):
    from app.delivery.scheduler import readers_of_sources

    async with running_trellis(tmp_path) as trellis:
        _, draft = await reply_card(trellis)
        view = await trellis.services.approvals.view(draft.id)
        maya, rosa = person(MAYA), person(ROSA)
        assert await readers_of_sources(trellis.services, view, [maya, rosa]) == [rosa]
        escalated = await trellis.services.approvals.escalate(draft_id=draft.id, to=[rosa])
        assert escalated.escalated_to == (ROSA,)


async def test_an_escalation_reaches_everyone_slack_delivers_to_and_names_who_it_did_not(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        card, draft = await reply_card(trellis)
        users = trellis.sandbox.workspace.users
        # Maya's directory entry is pinned to a Slack account since deactivated; Kenji's
        # account too. Slack refuses a direct message to either (user_disabled).
        maya = replace(person(MAYA), slack_id=trellis.user(MAYA))
        kenji = replace(person(KENJI), slack_id=trellis.user(KENJI))
        users[maya.slack_id].deleted = users[kenji.slack_id].deleted = True

        await trellis.services.approvals.escalate(
            draft_id=draft.id, to=[maya, person(ROSA)], withheld=[kenji, person(SAM)]
        )
        await deliver_notices(trellis.services, draft_id=draft.id)

        given = await trellis.sandbox.wait_for_message(
            trellis.dm_with(ROSA), lambda m: "escalated to you" in blocks_text(m.blocks)
        )
        assert "Approve" in blocks_text(given.blocks)
        await trellis.sandbox.wait_for_message(
            trellis.dm_with(SAM), lambda m: "waited too long" in m.text
        )
        for name in ("Maya Lindqvist", "Kenji Watanabe"):
            await wait_for_text(
                trellis,
                "support-approvals",
                f"could not send a direct message to {name}",
                where=in_thread(card),
            )
        said = trellis.sandbox.messages(card.channel)
        assert not any("could not send" in m.text and "Rosa" in m.text for m in said)
        # Those two refusals are final: nothing is tried again, nobody is told twice.
        assert await deliver_notices_count(trellis, draft.id) == 0


async def test_an_escalation_slack_could_not_take_is_sent_once_slack_is_back(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        card, draft = await reply_card(trellis)
        clock.advance(hours=4, seconds=1)  # past escalate_after; the reminder is due too
        # Slack fails its side for a while: no post gets through.
        trellis.sandbox.fail("chat.postMessage", times=1000, status=503)
        report = await sweep_drafts(trellis.services)
        assert (report.reminded, report.escalated) == (1, 1)
        rows = await waiting_rows(trellis, draft.id)
        assert {r.connector for r in rows} == {
            notices.REMINDER,
            notices.ESCALATION,
            notices.ESCALATED_POINTER,
        }
        assert all(r.state == ActionState.PENDING and r.last_error for r in rows)
        assert (await sweep_drafts(trellis.services)).escalated == 0  # the step is taken once

        trellis.sandbox.web_api.failures.clear()  # Slack is back
        clock.advance(minutes=10)  # past the outbox's backoff
        assert await deliver_notices_count(trellis, draft.id) == 3
        maya = trellis.dm_with(MAYA)
        await trellis.sandbox.wait_for_message(maya, lambda m: "waited too long" in m.text)
        await wait_for_text(trellis, "support-approvals", "Reminder", where=in_thread(card))
        await wait_for_text(
            trellis, "support-approvals", "may not read its sources", where=in_thread(card)
        )
        assert await deliver_notices_count(trellis, draft.id) == 0
        assert len([m for m in trellis.sandbox.messages(maya) if "waited too long" in m.text]) == 1
        thread = [m for m in trellis.sandbox.messages(card.channel) if m.thread_ts == card.ts]
        assert len([m for m in thread if "Reminder" in m.text]) == 1
        # The messages are not the draft's actions: it still waits, and its card lists none.
        view = await trellis.services.approvals.view(draft.id)
        assert view.state == DraftState.PENDING and view.outbox == ()


async def test_a_reminder_slack_posted_while_failing_on_is_not_posted_again(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        card, draft = await reply_card(trellis)
        clock.advance(hours=4, seconds=1)
        # Slack posts each message but answers 503, so the outbox cannot know it did.
        trellis.sandbox.fail("chat.postMessage", times=1000, status=503, carried_out=True)
        report = await sweep_drafts(trellis.services)
        assert (report.reminded, report.escalated) == (1, 1)
        assert all(r.state == ActionState.PENDING for r in await waiting_rows(trellis, draft.id))

        trellis.sandbox.web_api.failures.clear()
        clock.advance(minutes=10)
        assert await deliver_notices_count(trellis, draft.id) == 3  # found, so delivered
        assert await deliver_notices_count(trellis, draft.id) == 0
        thread = [m for m in trellis.sandbox.messages(card.channel) if m.thread_ts == card.ts]
        assert len([m for m in thread if "Reminder" in m.text]) == 1
        assert len([m for m in thread if "may not read its sources" in m.text]) == 1
        maya = trellis.dm_with(MAYA)
        assert len([m for m in trellis.sandbox.messages(maya) if "waited too long" in m.text]) == 1


async def test_a_message_of_a_draft_decided_before_it_could_be_sent_is_not_sent(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        card, draft = await reply_card(trellis)
        clock.advance(hours=1, seconds=1)
        trellis.sandbox.fail("chat.postMessage", times=1000, status=503)
        assert (await sweep_drafts(trellis.services)).reminded == 1
        trellis.sandbox.web_api.failures.clear()
        await trellis.services.approvals.reject(
            draft_id=draft.id, approver=person(ROSA), reason="not needed"
        )
        clock.advance(minutes=10)
        assert await deliver_notices_count(trellis, draft.id) == 1
        [row] = await waiting_rows(trellis, draft.id)
        assert row.state == ActionState.DONE and row.summary.startswith("not sent")
        thread = [m for m in trellis.sandbox.messages(card.channel) if m.thread_ts == card.ts]
        assert not any("Reminder" in m.text for m in thread)


async def deliver_notices_count(trellis, draft_id: str) -> int:
    return await outbox_worker(trellis.services).deliver_notices(draft_id)


async def waiting_rows(trellis, draft_id: str) -> list[OutboxAction]:
    async with trellis.services.database.session() as session:
        rows = await OutboxRepository(session).for_draft(draft_id)
    return [r for r in rows if r.connector in notices.WAITING]


async def test_a_draft_nobody_decides_expires_and_the_requester_is_told(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        card, draft = await reply_card(trellis)
        clock.advance(days=1, seconds=1)
        report = await sweep_drafts(trellis.services)
        assert report.expired == 1
        assert (await trellis.services.approvals.view(draft.id)).state == DraftState.EXPIRED
        await wait_for_text(trellis, SAM, "expired: nobody decided in time")
        updated = next(m for m in trellis.sandbox.messages(card.channel) if m.ts == card.ts)
        assert "Expired" in blocks_text(updated.blocks)
        assert (await sweep_drafts(trellis.services)).expired == 0


async def test_a_card_that_could_not_be_posted_is_posted_by_the_sweep(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        view = await cardless_reply(trellis)
        assert (await sweep_drafts(trellis.services)).cards == 0  # give the pipeline time
        clock.advance(minutes=1)
        assert (await sweep_drafts(trellis.services)).cards == 1
        card = await card_in(trellis, "support-approvals")
        assert (await draft_of(trellis, card)).id == view.id
        assert (await trellis.services.approvals.view(view.id)).state == DraftState.PENDING


async def test_a_card_slack_posted_while_failing_on_is_not_posted_again_by_the_sweep(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        view = await cardless_reply(trellis)
        clock.advance(minutes=1)
        trellis.sandbox.fail("chat.postMessage", status=503, carried_out=True)
        assert (await sweep_drafts(trellis.services)).cards == 0  # Slack answered 503
        clock.advance(minutes=1)
        assert (await sweep_drafts(trellis.services)).cards == 1
        channel = trellis.channel("support-approvals")
        cards = [m for m in trellis.sandbox.messages(channel) if m.bot_id and m.blocks]
        assert len(cards) == 1  # the card Slack did post is the draft's card
        assert (await trellis.services.approvals.view(view.id)).card_ts == cards[0].ts
        assert len(trellis.sandbox.calls_to("chat.postMessage")) == 1


async def test_a_card_someone_deleted_is_posted_again_and_not_updated_for_ever(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        card, draft = await reply_card(trellis)
        trellis.sandbox.workspace.delete_message(card)  # an admin deleted it
        await trellis.services.notifier.refresh_card(draft)  # no error: forgotten
        assert (await trellis.services.approvals.view(draft.id)).card_ts is None
        report = await sweep_drafts(trellis.services, now=trellis.services.clock() + CARD_GRACE)
        assert report.cards == 1
        again = await card_in(trellis, "support-approvals")
        assert again.ts != card.ts and (await draft_of(trellis, again)).id == draft.id


async def test_starting_posts_again_the_cards_slack_no_longer_has(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        card, draft = await reply_card(trellis)
        trellis.sandbox.workspace.delete_message(card)  # a sandbox that started afresh
        clock.advance(minutes=5)
        background = Background(trellis.services, drafts_every=3600, outbox_every=3600)
        await background.start()
        try:
            again = await card_in(trellis, "support-approvals")
            assert again.ts != card.ts

            async def recorded() -> bool:
                return (await trellis.services.approvals.view(draft.id)).card_ts == again.ts

            assert await eventually(recorded)
        finally:
            await background.stop()


async def test_only_one_replica_holds_a_job_at_a_time(tmp_path, database):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock, database=database) as trellis:
        first = Background(trellis.services, replica="replica-a")
        second = Background(trellis.services, replica="replica-b")
        assert await first.holds_lease("trellis-drafts", 10)
        assert not await second.holds_lease("trellis-drafts", 10)
        assert await first.holds_lease("trellis-drafts", 10)  # renewed by its holder
        assert await second.holds_lease("trellis-outbox", 10)  # another job is free
        clock.advance(seconds=31)  # replica-a stopped renewing: its lease ran out
        assert await second.holds_lease("trellis-drafts", 10)
        assert not await first.holds_lease("trellis-drafts", 10)


async def test_the_scheduler_expires_drafts_on_its_own(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        card, draft = await reply_card(trellis)
        clock.advance(days=2)
        background = Background(
            trellis.services, drafts_every=0.1, outbox_every=0.1, policy=OutboxPolicy(poll=0.1)
        )
        await background.start()
        try:
            await until_state(trellis, draft.id, DraftState.EXPIRED, within=10)
            # The requester is told by the same job run; let it finish before stopping.
            await wait_for_text(trellis, SAM, "expired: nobody decided in time")
        finally:
            await background.stop()


async def test_starting_settles_a_draft_a_crash_left_executing_with_its_actions_done(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        approvals = trellis.services.approvals
        draft = await pending_discount(
            approvals, percent=15, actions=[webhook_action("http://127.0.0.1:9/hooks")]
        )
        await approvals.approve(draft_id=draft.id, approver=person(SOFIA))
        async with trellis.services.database.session() as session:
            await session.execute(
                update(Draft).where(Draft.id == draft.id).values(state=DraftState.EXECUTING.value)
            )
            await session.execute(
                update(OutboxAction)
                .where(OutboxAction.draft_id == draft.id)
                .values(state=ActionState.DONE, reported=True)
            )
        background = Background(trellis.services, drafts_every=3600, outbox_every=3600)
        await background.start()
        try:
            assert (await approvals.view(draft.id)).state == DraftState.DONE
        finally:
            await background.stop()


async def test_stopping_lets_the_runs_in_progress_finish_and_keeps_the_outbox_rows(
    tmp_path, caplog
):
    async with running_trellis(tmp_path) as trellis:
        approvals = trellis.services.approvals
        draft = await pending_discount(
            approvals, percent=15, actions=[webhook_action("http://127.0.0.1:9/hooks")]
        )
        await approvals.approve(draft_id=draft.id, approver=person(SOFIA))
        background = Background(trellis.services, drafts_every=3600, outbox_every=3600)
        await background.start()
        for _ in range(10):  # the first runs of the jobs have started: Ctrl-C comes now
            await asyncio.sleep(0)
        with caplog.at_level(logging.INFO):
            await background.stop()

        failed = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert not failed, failed
        async with trellis.services.database.session() as session:
            rows = await OutboxRepository(session).for_draft(draft.id)
        webhook = [r for r in rows if r.connector == "webhook"]
        assert webhook and webhook[0].state != ActionState.DONE  # kept for the next start


async def test_a_request_whose_approvals_channel_trellis_cannot_see_is_refused_plainly(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        approvals = trellis.sandbox.workspace.conversations[trellis.channel("support-approvals")]
        approvals.members.remove(trellis.bot)  # someone removed Trellis from the channel
        await trellis.sandbox.slash_command(
            trellis.user(SAM), trellis.channel("support"), "/trellis", REPLY
        )
        told = await wait_for_text(trellis, SAM, "cannot see the approvals channel")
        assert "invite Trellis to it" in told.text and "Nothing was saved" in told.text
        assert "Something went wrong" not in told.text and "responded" not in told.text
        async with trellis.services.database.session() as session:
            drafts = (await session.execute(select(func.count()).select_from(Draft))).scalar_one()
        assert drafts == 0


def test_a_card_slack_did_not_take_is_explained_in_the_requesters_words():
    unreachable = SlackUnavailable("Slack could not be reached just now.")
    assert "Slack could not be reached to post its approval card" in card_not_posted(unreachable)
    answer = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": "is_archived"},
        headers={},
        status_code=200,
    )
    refused = SlackApiError("The request to the Slack API failed.", answer)
    said = card_not_posted(refused)
    assert "Slack refused to post its approval card (is_archived)" in said
    assert "request to the Slack API" not in said
    assert "tell a Trellis admin" in card_not_posted(RuntimeError("database is locked"))
    assert "database" not in card_not_posted(RuntimeError("database is locked"))
