"""End to end: support's customer replies and reviewed answers through the sandbox.

A support agent asks for a customer reply; a support lead edits, approves or rejects it in
#support-approvals; the approved text is emailed (a real aiosmtpd server) and noted on the
ticket (a Jira stand-in). Answers the rules hold for review reach the asker only once a
support lead approves them.
"""

from __future__ import annotations

from sqlalchemy import select

from app.approvals.drafts import DraftState
from app.db.models.records import AuditRecord
from tests.approval_helpers import Clock
from tests.harness import blocks_text, running_trellis
from tests.peers.jira import adf_plain_text
from tests.workflow_helpers import (
    FAST,
    card_in,
    card_showing,
    demo_peers,
    draft_of,
    modal_for,
    until_state,
    wait_for_text,
)

SAM = "sam.ortiz@northwind.example"  # support agent
ROSA = "rosa.delgado@northwind.example"  # support lead
LIAM = "liam.carter@northwind.example"  # sales rep
KENJI = "kenji.watanabe@northwind.example"  # support agent
CONTACT = "purchasing@alpine-co.example"
QUESTION = "Two Ridgeline 4P tents arrived without pole bags again. What happens now?"


def reply_command(ticket: str) -> str:
    return (
        f'customer_reply customer="Alpine Co." contact={CONTACT} ticket={ticket} '
        f'question="{QUESTION}"'
    )


async def start_reply(trellis, peers) -> str:
    issue = peers.jira.add_issue("SUP", "Missing pole bags on Ridgeline 4P")
    await trellis.sandbox.slash_command(
        trellis.user(SAM), trellis.channel("support"), "/trellis", reply_command(issue.key)
    )
    return issue.key


async def audit(services, kind: str) -> list[AuditRecord]:
    async with services.database.session() as session:
        return list(
            (await session.execute(select(AuditRecord).where(AuditRecord.kind == kind))).scalars()
        )


async def test_an_edited_reply_is_what_gets_emailed_and_noted_on_the_ticket(tmp_path, database):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path,
            workspace=peers.workspace,
            environ=peers.environ,
            background=FAST,
            database=database,
        ) as trellis,
    ):
        key = await start_reply(trellis, peers)
        card = await card_in(trellis, "support-approvals")
        shown = blocks_text(card.blocks)
        assert f"send email to {CONTACT}; then comment on ticket {key}" in shown
        assert "support-leads must approve" in shown
        draft = await draft_of(trellis, card)
        # The draft quotes the customer's account summary (the pole bags of August 2026).
        assert [c["doc_id"] for c in draft.citations][:1] == ["customer-alpine-co"]
        assert "Customer Summary: Alpine Co." in shown
        rosa = trellis.user(ROSA)

        await trellis.sandbox.click_button(rosa, card.channel, card.ts, "trellis_edit")
        modal = await modal_for(trellis, ROSA)
        edited = (
            "Hi Jordan,\n\nWe are sorry the pole bags were missing again. Replacement "
            f"bags ship today under ticket {key}.\n\nThe Northwind Outfitters Support Team"
        )
        await trellis.sandbox.submit_view(rosa, modal.id, {"draft_text": {"text": edited}})
        updated = await card_showing(trellis, card, "Replacement bags ship today")
        assert "edited by Rosa Delgado" in blocks_text(updated.blocks)

        await trellis.sandbox.click_button(rosa, card.channel, card.ts, "trellis_approve")
        view = await until_state(trellis, draft.id, DraftState.DONE)

        [mail] = peers.smtp.messages
        assert mail.rcpt_tos == (CONTACT,)
        assert mail.message["Subject"] == f"Re: your request {key}"
        assert mail.message.get_content().strip() == edited.strip()
        [comment] = peers.jira.issues[key].comments
        assert "Replacement bags ship today" in adf_plain_text(comment["body"])
        [record] = await audit(trellis.services, "draft.edited")
        assert record.payload["before"] == draft.text and record.payload["after"] == edited
        assert record.actor_email == ROSA
        results = [a.summary for a in view.outbox]
        assert results[0].startswith(f"Emailed {CONTACT} (message <trellis.")
        assert results[1].startswith(f"Commented on {key} in Jira")
        await wait_for_text(trellis, SAM, f"Commented on {key} in Jira")
        message = await wait_for_text(trellis, SAM, "Done: Emailed")
        assert (
            mail.message_id in message.text
            or mail.message_id.replace("<", "&lt;").replace(">", "&gt;") in message.text
        )
        final = next(m for m in trellis.sandbox.messages(card.channel) if m.ts == card.ts)
        assert f"/browse/{key}" in blocks_text(final.blocks)


async def test_a_rejection_reaches_the_requester_with_the_reason(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        await start_reply(trellis, peers)
        card = await card_in(trellis, "support-approvals")
        draft = await draft_of(trellis, card)
        rosa = trellis.user(ROSA)

        await trellis.sandbox.click_button(rosa, card.channel, card.ts, "trellis_reject")
        modal = await modal_for(trellis, ROSA)
        blank = await trellis.sandbox.submit_view(rosa, modal.id, {"reason": {"text": "   "}})
        assert "Say why" in blank["errors"]["reason"]
        await trellis.sandbox.submit_view(
            rosa,
            modal.id,
            {"reason": {"text": "We promised Jordan a call first; phone them before emailing."}},
        )

        told = await wait_for_text(trellis, SAM, "did not approve your Customer reply")
        assert "phone them before emailing" in told.text
        assert told.thread_ts is not None
        assert (await trellis.services.approvals.view(draft.id)).state == DraftState.REJECTED
        updated = next(m for m in trellis.sandbox.messages(card.channel) if m.ts == card.ts)
        assert "Rejected* by Rosa Delgado" in blocks_text(updated.blocks)
        assert peers.smtp.messages == [] and peers.jira.comments == []


async def test_an_expired_reply_cannot_be_approved(tmp_path):
    clock = Clock()
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST, clock=clock
        ) as trellis,
    ):
        await start_reply(trellis, peers)
        card = await card_in(trellis, "support-approvals")
        draft = await draft_of(trellis, card)
        clock.advance(days=1, seconds=1)  # customer_reply expires after 1d
        rosa = trellis.user(ROSA)

        await trellis.sandbox.click_button(rosa, card.channel, card.ts, "trellis_approve")

        await trellis.sandbox.wait_for_ephemeral(rosa, lambda e: "expired" in e.text)
        assert (await trellis.services.approvals.view(draft.id)).state == DraftState.EXPIRED
        await wait_for_text(trellis, SAM, "expired: nobody decided in time")
        updated = next(m for m in trellis.sandbox.messages(card.channel) if m.ts == card.ts)
        assert "Expired" in blocks_text(updated.blocks)
        assert peers.smtp.messages == []


async def test_the_message_shortcut_starts_a_reply_from_a_customer_message(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        issue = peers.jira.add_issue("SUP", "Return question")
        kenji = trellis.user(KENJI)
        ts = await trellis.sandbox.post_message(
            kenji,
            trellis.channel("support"),
            "Summit Sports asks: can they return unused tents after 45 days?",
        )

        await trellis.sandbox.message_shortcut(
            kenji, trellis.channel("support"), ts, "trellis_start_workflow"
        )
        form = await modal_for(trellis, KENJI)
        question = next(b for b in form.spec["blocks"] if b.get("block_id") == "question")
        assert "return unused tents" in question["element"]["initial_value"]
        await trellis.sandbox.submit_view(
            kenji,
            form.id,
            {
                "customer": {"field_customer": "Summit Sports"},
                "contact": {"field_contact": "orders@summit.example"},
                "ticket": {"field_ticket": issue.key},
                "question": {"field_question": question["element"]["initial_value"]},
            },
        )

        status = await wait_for_text(trellis, "support", "is waiting for approval by support-leads")
        assert status.thread_ts == ts  # the requester hears back in the message's thread
        card = await card_in(trellis, "support-approvals")
        assert "Summit Sports" in blocks_text(card.blocks)


async def test_an_answer_held_for_review_is_posted_once_a_reviewer_approves(tmp_path, database):
    async with running_trellis(tmp_path, background=FAST, database=database) as trellis:
        ts = await trellis.ask(SAM, "support", "Within how many days can unused gear be returned?")
        notice = await trellis.answer_in_thread("support", ts)
        assert "needs a check by a reviewer (support-leads)" in notice.text
        assert "60 days" not in blocks_text(notice.blocks)
        [question] = await audit(trellis.services, "question")
        assert question.payload["status"] == "needs_approval"

        card = await card_in(trellis, "support-approvals")
        assert "60 days" in blocks_text(card.blocks)
        assert "answers.review_when" in blocks_text(card.blocks)
        draft = await draft_of(trellis, card)
        await trellis.sandbox.click_button(
            trellis.user(ROSA), card.channel, card.ts, "trellis_approve"
        )

        answer = await wait_for_text(
            trellis, "support", "Checked by Rosa Delgado", where=lambda m: m.thread_ts == ts
        )
        assert "60 days" in blocks_text(answer.blocks)
        assert "Return Policy" in blocks_text(answer.blocks)
        await until_state(trellis, draft.id, DraftState.DONE)  # recorded once Slack took it


async def test_with_the_demo_connectors_and_no_peer_running_the_action_dead_letters_visibly(
    tmp_path,
):
    # The bundled rules.yml sends email to 127.0.0.1:2525, where nothing listens here.
    async with running_trellis(tmp_path, background=FAST) as trellis:
        await trellis.sandbox.slash_command(
            trellis.user(SAM), trellis.channel("support"), "/trellis", reply_command("SUP-4121")
        )
        card = await card_in(trellis, "support-approvals")
        draft = await draft_of(trellis, card)
        await trellis.sandbox.click_button(
            trellis.user(ROSA), card.channel, card.ts, "trellis_approve"
        )

        view = await until_state(trellis, draft.id, DraftState.FAILED)
        assert [a.state for a in view.outbox] == ["dead", "pending"]
        assert "Error connecting to 127.0.0.1 on port 2525" in view.outbox[0].last_error
        assert "try again" not in view.outbox[0].last_error
        notice = await wait_for_text(trellis, "trellis-owners", "An approved action failed")
        assert any(
            e.get("action_id") == "trellis_retry"
            for b in notice.blocks
            for e in b.get("elements", [])
        )
        await wait_for_text(trellis, SAM, "Trellis could not send email to")
        updated = next(m for m in trellis.sandbox.messages(card.channel) if m.ts == card.ts)
        assert "an action failed" in blocks_text(updated.blocks)


async def test_a_held_answer_rests_only_on_sources_its_reviewers_may_read(tmp_path):
    # Liam (sales) asks about returns and wholesale discounts. The return policy is tagged for
    # review, so the answer goes to #support-approvals, whose support leads may not read the
    # sales-only discount guidelines: the card must not show them.
    async with running_trellis(tmp_path, background=FAST) as trellis:
        ts = await trellis.ask(
            LIAM,
            "sales",
            "Within how many days can unused gear be returned, "
            "and what volume discount can a wholesale account get?",
        )
        await trellis.answer_in_thread("sales", ts)
        [question] = await audit(trellis.services, "question")
        assert question.payload["status"] == "needs_approval"
        card = await card_in(trellis, "support-approvals")
        shown = f"{card.text} {blocks_text(card.blocks)}"
        assert "Return Policy" in shown
        assert "Wholesale Discount Guidelines" not in shown
        for message in trellis.sandbox.messages(trellis.channel("support-approvals")):
            assert "Wholesale Discount Guidelines" not in blocks_text(message.blocks)
