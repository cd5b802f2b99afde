"""A submitted modal is acknowledged within Slack's 3 s however slow saving it is.

Through the real Bolt app and the sandbox, for each kind of modal (an approval card's Edit
and Reject, a flagger's note, an owner's correction, a workflow's form): a save slowed
down (SQLite's write lock held by another connection, or Slack slow to say who submitted)
is acked in time with a note that it is being saved, is saved once, and the person hears
the outcome by direct message; a refusal that comes quickly is still shown in the form.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models.records import AuditRecord
from app.sandbox.records import Message
from handlers.views import cards
from tests.database_helpers import SqliteLock
from tests.harness import RunningTrellis, blocks_text, running_trellis, shown_text
from tests.workflow_helpers import card_in, card_showing, copy_demo, modal_for, wait_for_text

LIAM = "liam.carter@northwind.example"  # sales rep
SOFIA = "sofia.marino@northwind.example"  # sales manager: approves discounts up to 25 %
SAM = "sam.ortiz@northwind.example"  # support: may flag
ROSA = "rosa.delgado@northwind.example"  # support lead, owns the support macros
DISCOUNT = 'discount_request customer="Alpine Co." percent=15 reason="Spring order volume"'
EDITED = "Alpine Co. commits to the whole spring range, so 15 % holds for this order only."
QUESTION = "What is the prepaid return label fee?"
SUPPORTED = (
    "Prepaid return labels are free for defective items. For any other return the "
    "USD 8.95 label fee is deducted from the refund."
)
SLACK_LIMIT = 3.0


@asynccontextmanager
async def database_busy(tmp_path: Path):
    """Another connection holds the write lock of the test's SQLite database (where
    `running_trellis` keeps it) for as long as the block runs."""
    lock = SqliteLock(str(tmp_path / "trellis.db"))
    await asyncio.to_thread(lock.take)
    try:
        yield
    finally:
        await asyncio.to_thread(lock.release)


def slack_slow_to_name(trellis: RunningTrellis, email: str) -> None:
    """The next look-up of who `email` is waits 3 s on Slack (users.info rate limited)."""
    trellis.services.identity.forget(trellis.user(email))
    trellis.sandbox.rate_limit("users.info", times=1, retry_after=3)


async def submit_in_time(trellis: RunningTrellis, email: str, view_id: str, values: dict) -> dict:
    """Submit, and check Slack had its ack in time: a note that the submission is being
    saved, which replaces the form."""
    started = time.monotonic()
    ack = await trellis.sandbox.submit_view(trellis.user(email), view_id, values)
    assert time.monotonic() - started < SLACK_LIMIT
    assert ack.get("response_action") == "update", ack
    assert "still saving" in blocks_text(ack["view"]["blocks"])
    assert "input" not in {b["type"] for b in ack["view"]["blocks"]}  # nothing to submit twice
    return ack


async def direct_message(trellis: RunningTrellis, email: str, needle: str) -> Message:
    dm = trellis.sandbox.workspace.open_im(trellis.user(email)).id
    return await trellis.sandbox.wait_for_message(
        dm, lambda m: m.bot_id is not None and needle in shown_text(m), 15
    )


async def count_audit(trellis: RunningTrellis, kind: str) -> int:
    async with trellis.services.database.session() as session:
        query = select(func.count()).select_from(AuditRecord).where(AuditRecord.kind == kind)
        return (await session.execute(query)).scalar_one()


async def discount_card(trellis: RunningTrellis) -> Message:
    await trellis.sandbox.slash_command(
        trellis.user(LIAM), trellis.channel("sales"), "/trellis", DISCOUNT
    )
    return await card_in(trellis, "deal-approvals")


async def opened(trellis: RunningTrellis, email: str, callback_id: str):
    """The modal Trellis opened for this person (views.open runs after the click's ack)."""

    def opening(call) -> bool:
        view = call.params.get("view") or {}
        return isinstance(view, dict) and view.get("callback_id") == callback_id

    await trellis.sandbox.wait_for_call("views.open", opening, timeout=10)
    return await modal_for(trellis, email)


async def test_an_edit_saved_while_the_database_is_busy_is_acked_in_time_and_saved_once(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        card = await discount_card(trellis)
        sofia = trellis.user(SOFIA)
        await trellis.sandbox.click_button(sofia, card.channel, card.ts, cards.EDIT)
        form = await modal_for(trellis, SOFIA)

        blank = await trellis.sandbox.submit_view(
            sofia, form.id, {cards.TEXT_BLOCK: {cards.TEXT_INPUT: "   "}}
        )
        assert blank["response_action"] == "errors"
        assert "cannot be empty" in blank["errors"][cards.TEXT_BLOCK]

        async with database_busy(tmp_path):
            await submit_in_time(
                trellis, SOFIA, form.id, {cards.TEXT_BLOCK: {cards.TEXT_INPUT: EDITED}}
            )
        updated = await card_showing(trellis, card, "whole spring range", within=15)
        assert "edited by Sofia Marino" in blocks_text(updated.blocks)
        await direct_message(trellis, SOFIA, "Your edit of the Discount request is saved")
        assert await count_audit(trellis, "draft.edited") == 1


async def test_a_rejection_slack_is_slow_to_check_is_acked_in_time_and_the_requester_told(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        card = await discount_card(trellis)
        sofia = trellis.user(SOFIA)
        await trellis.sandbox.click_button(sofia, card.channel, card.ts, cards.REJECT)
        form = await modal_for(trellis, SOFIA)

        blank = await trellis.sandbox.submit_view(
            sofia, form.id, {cards.REASON_BLOCK: {cards.TEXT_INPUT: "   "}}
        )
        assert "Say why" in blank["errors"][cards.REASON_BLOCK]

        slack_slow_to_name(trellis, SOFIA)
        reason = "Alpine Co. already has 10 % on the spring range."
        await submit_in_time(
            trellis, SOFIA, form.id, {cards.REASON_BLOCK: {cards.TEXT_INPUT: reason}}
        )
        told = await wait_for_text(trellis, LIAM, "did not approve your Discount request", 15)
        assert "already has 10 %" in told.text
        await card_showing(trellis, card, "Rejected* by Sofia Marino")
        await direct_message(trellis, SOFIA, "Your rejection of the Discount request is saved")
        assert await count_audit(trellis, "draft.rejected") == 1


@pytest.mark.parametrize("button", [cards.REJECT, cards.EDIT])
async def test_a_form_opens_though_slack_is_slow_to_say_who_clicked(tmp_path, button):
    # Slack's trigger for the form lasts 3 s; the look-up of who clicked waits 4 s on a
    # rate limit. The form opens anyway, and what it saves is checked in full.
    async with running_trellis(tmp_path) as trellis:
        card = await discount_card(trellis)
        sofia = trellis.user(SOFIA)
        trellis.services.identity.forget(sofia)
        trellis.sandbox.rate_limit("users.info", times=1, retry_after=4)
        await trellis.sandbox.click_button(sofia, card.channel, card.ts, button)
        form = await modal_for(trellis, SOFIA)
        assert form.spec["callback_id"] == (
            cards.REJECT_VIEW if button == cards.REJECT else cards.EDIT_VIEW
        )
        opened = trellis.sandbox.calls_to("views.open")
        assert [c.response.get("ok") for c in opened] == [True]


async def test_a_rejection_refused_after_its_ack_is_told_by_direct_message(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        card = await discount_card(trellis)
        sofia = trellis.user(SOFIA)
        await trellis.sandbox.click_button(sofia, card.channel, card.ts, cards.REJECT)
        form = await modal_for(trellis, SOFIA)
        await trellis.sandbox.click_button(sofia, card.channel, card.ts, cards.APPROVE)
        await card_showing(trellis, card, "Approved* by Sofia Marino")

        slack_slow_to_name(trellis, SOFIA)
        await submit_in_time(
            trellis, SOFIA, form.id, {cards.REASON_BLOCK: {cards.TEXT_INPUT: "Too deep"}}
        )
        told = await direct_message(trellis, SOFIA, "Your rejection did not go through")
        assert "Sofia Marino already approved this" in shown_text(told)
        assert await count_audit(trellis, "draft.rejected") == 0


async def flag_answer(trellis: RunningTrellis) -> Message:
    """Sam flags Trellis's answer; the notice Rosa, who owns its source, is sent."""
    sam, support = trellis.user(SAM), trellis.channel("support")
    ts = await trellis.ask(SAM, "support", QUESTION)
    answer = await trellis.answer_in_thread("support", ts)
    await trellis.sandbox.add_reaction(sam, support, answer.ts, "x")
    dm = trellis.sandbox.workspace.open_im(trellis.user(ROSA)).id
    return await trellis.sandbox.wait_for_message(
        dm, lambda m: m.bot_id is not None and "flagged an answer" in blocks_text(m.blocks), 10
    )


async def test_a_flaggers_note_saved_while_the_database_is_busy_is_acked_in_time(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        notice = await flag_answer(trellis)
        sam = trellis.user(SAM)
        prompt = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Say what's wrong" in blocks_text(e.blocks)
        )
        await trellis.sandbox.click_button(sam, prompt.channel, prompt.ts, "trellis_flag_explain")
        form = await opened(trellis, SAM, "trellis_flag_note")

        blank = await trellis.sandbox.submit_view(sam, form.id, {"correction": {"text": "   "}})
        assert "write what the correct answer is" in blank["errors"]["correction"]

        note = "Trail Club members pay no label fee."
        async with database_busy(tmp_path):
            await submit_in_time(trellis, SAM, form.id, {"correction": {"text": note}})
        await trellis.sandbox.wait_for_message(
            notice.channel,
            lambda m: m.ts == notice.ts and "Trail Club" in blocks_text(m.blocks),
            15,
        )
        await direct_message(trellis, SAM, "Your note is saved")
        assert await count_audit(trellis, "answer.flag_explained") == 1
        thanks = [e for e in trellis.sandbox.ephemerals(sam) if "owners can now see" in e.text]
        assert thanks == []  # told once, by direct message


async def test_an_owners_correction_slack_is_slow_to_check_is_acked_in_time(tmp_path):
    workspace = copy_demo(tmp_path, {})  # an accepted correction writes into evals/
    async with running_trellis(tmp_path, workspace=workspace) as trellis:
        notice = await flag_answer(trellis)
        rosa = trellis.user(ROSA)
        await trellis.sandbox.click_button(rosa, notice.channel, notice.ts, "trellis_flag_accept")
        form = await opened(trellis, ROSA, "trellis_correction")

        blank = await trellis.sandbox.submit_view(
            rosa, form.id, {"answer": {"text": "   "}, "sources": {"docs": ["support-macros"]}}
        )
        assert "Write the corrected answer" in blank["errors"]["answer"]

        slack_slow_to_name(trellis, ROSA)
        await submit_in_time(
            trellis,
            ROSA,
            form.id,
            {"answer": {"text": SUPPORTED}, "sources": {"docs": ["support-macros"]}},
        )
        await direct_message(trellis, ROSA, "Your correction is saved")
        await trellis.sandbox.wait_for_ephemeral(
            trellis.user(SAM), lambda e: "accepted your correction" in e.text, 15
        )
        assert await count_audit(trellis, "correction.curated") == 1


async def test_a_workflow_form_slack_is_slow_to_check_is_acked_in_time_and_started_once(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        liam = trellis.user(LIAM)
        await trellis.sandbox.slash_command(
            liam, trellis.channel("sales"), "/trellis", 'discount_request customer="Summit Sports"'
        )
        form = await modal_for(trellis, LIAM)
        values = {
            "customer": {"field_customer": "Summit Sports"},
            "percent": {"field_percent": "140"},
            "reason": {"field_reason": "Store opening"},
        }
        refused = await trellis.sandbox.submit_view(liam, form.id, values)
        assert "at most 100" in refused["errors"]["percent"]

        slack_slow_to_name(trellis, LIAM)
        values["percent"] = {"field_percent": "20"}
        await submit_in_time(trellis, LIAM, form.id, values)
        card = await card_in(trellis, "deal-approvals", within=15)
        assert "Summit Sports" in blocks_text(card.blocks)
        await direct_message(trellis, LIAM, "Your Discount request is starting")
        await wait_for_text(trellis, LIAM, "Discount request from")
        assert await count_audit(trellis, "draft.created") == 1
