"""End to end: discount requests through the sandbox, approved in Slack, recorded in the CRM.

The real Bolt app answers the slash command and the buttons; the outbox worker carries the
approved actions to a SQLite "CRM" (sql connector) and a webhook receiver.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from app.approvals.drafts import DraftState
from app.db.models.records import AuditRecord
from tests.harness import blocks_text, running_trellis
from tests.workflow_helpers import (
    FAST,
    card_in,
    card_showing,
    demo_peers,
    draft_of,
    eventually,
    modal_for,
    until_state,
    wait_for_text,
)

LIAM = "liam.carter@northwind.example"  # sales rep
SOFIA = "sofia.marino@northwind.example"  # sales manager
DANIEL = "daniel.okafor@northwind.example"  # VP sales
ELENA = "elena.petrova@northwind.example"  # finance
SAM = "sam.ortiz@northwind.example"  # support, may not start discounts
ROSA = "rosa.delgado@northwind.example"  # Trellis admin


def discount(percent: int, customer: str = "Alpine Co.") -> str:
    return (
        f'discount_request customer="{customer}" percent={percent} '
        'reason="Volume commitment for the spring order"'
    )


async def request(trellis, email: str, text: str, channel: str = "sales") -> dict:
    return await trellis.sandbox.slash_command(
        trellis.user(email), trellis.channel(channel), "/trellis", text
    )


async def click(trellis, email: str, card, action: str = "trellis_approve") -> dict:
    return await trellis.sandbox.click_button(trellis.user(email), card.channel, card.ts, action)


async def ephemeral(trellis, email: str, needle: str):
    return await trellis.sandbox.wait_for_ephemeral(
        trellis.user(email), lambda e: needle in f"{e.text} {blocks_text(e.blocks)}", 10
    )


async def count_audit(services, kind: str) -> int:
    async with services.database.session() as session:
        return (
            await session.execute(
                select(func.count()).select_from(AuditRecord).where(AuditRecord.kind == kind)
            )
        ).scalar_one()


async def test_a_small_discount_is_approved_automatically_and_recorded(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        await request(trellis, LIAM, discount(5))
        status = await wait_for_text(trellis, LIAM, "needs no approval")
        done = await wait_for_text(
            trellis, LIAM, "Done: Sent to 127.0.0.1", where=lambda m: m.thread_ts == status.ts
        )
        assert done.thread_ts == status.ts
        assert await peers.crm_rows() == [("Alpine Co.", 5.0)]
        assert len(peers.webhook.deliveries) == 1
        cards = [m for m in trellis.sandbox.messages(trellis.channel("deal-approvals"))]
        assert cards == []
        assert await count_audit(trellis.services, "draft.approved") == 1


async def test_a_mid_discount_is_approved_by_one_sales_manager(tmp_path, database):
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
        await request(trellis, LIAM, discount(15))
        card = await card_in(trellis, "deal-approvals")
        shown = blocks_text(card.blocks)
        assert "Liam Carter" in shown and "Alpine Co." in shown
        assert "input.percent &lt;= 25.0: sales-managers must approve" in shown
        assert "add a row to discounts; then notify 127.0.0.1" in shown
        draft = await draft_of(trellis, card)
        assert draft.state == DraftState.PENDING

        await click(trellis, SOFIA, card)

        view = await until_state(trellis, draft.id, DraftState.DONE)
        assert [a.state for a in view.outbox] == ["done", "done"]
        assert await peers.crm_rows() == [("Alpine Co.", 15.0)]
        [delivery] = peers.webhook.deliveries.values()
        assert delivery.body["approvers"] == [SOFIA]
        await wait_for_text(trellis, LIAM, "Done: Added row 1 to discounts")
        await wait_for_text(trellis, LIAM, "Sofia Marino approved your Discount request")
        updated = await card_showing(trellis, card, "Sent to 127.0.0.1")
        text = blocks_text(updated.blocks)
        assert "Approved* by Sofia Marino" in text
        assert "Added row 1 to discounts" in text and "Sent to 127.0.0.1" in text
        sample = trellis.services.metrics.registry.get_sample_value
        assert (
            sample(
                "trellis_approval_turnaround_seconds_count",
                {"workflow": "discount_request", "verdict": "approved"},
            )
            == 1
        )
        assert (
            sample("trellis_downstream_outcomes_total", {"connector": "sql", "outcome": "done"})
            == 1
        )
        assert not any(b.get("block_id") == "trellis_decision" for b in updated.blocks)


async def test_a_large_discount_needs_a_vp_and_finance(tmp_path, database):
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
        await request(trellis, LIAM, discount(30))
        card = await card_in(trellis, "deal-approvals")
        assert "vp-sales and finance must approve" in blocks_text(card.blocks)
        draft = await draft_of(trellis, card)

        await click(trellis, DANIEL, card)
        await ephemeral(trellis, DANIEL, "Your approval is recorded. It still needs finance")
        await click(trellis, DANIEL, card)
        await ephemeral(trellis, DANIEL, "You already approved this")
        assert (await trellis.services.approvals.view(draft.id)).state == DraftState.PENDING
        assert await peers.crm_rows() == []

        await click(trellis, ELENA, card)
        view = await until_state(trellis, draft.id, DraftState.DONE)
        assert [a.email for a in view.approvals] == [DANIEL, ELENA]
        assert await peers.crm_rows() == [("Alpine Co.", 30.0)]


async def test_the_requester_cannot_approve_their_own_discount(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        await request(trellis, SOFIA, discount(15))
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)

        await click(trellis, SOFIA, card)
        await ephemeral(trellis, SOFIA, "You asked for this, so someone else has to approve it")
        assert (await trellis.services.approvals.view(draft.id)).state == DraftState.PENDING

        await click(trellis, DANIEL, card)  # her manager stands in
        await until_state(trellis, draft.id, DraftState.DONE)


async def test_clicks_by_people_the_rule_does_not_name_are_explained(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        await request(trellis, LIAM, discount(15))
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)

        await click(trellis, ELENA, card)
        await ephemeral(trellis, ELENA, "Only sales-managers can approve this request")
        await click(trellis, ELENA, card, "trellis_reject")
        await ephemeral(trellis, ELENA, "Only sales-managers can decide on this request")
        assert not trellis.sandbox.open_views(trellis.user(ELENA))

        await click(trellis, SOFIA, card)
        await until_state(trellis, draft.id, DraftState.DONE)
        assert await count_audit(trellis.services, "draft.approved") == 1


async def test_someone_outside_the_workflow_cannot_start_it(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ack = await request(trellis, SAM, discount(15), channel="support")
        assert "Only members of sales can start Discount request" in ack["text"]
        assert await count_audit(trellis.services, "draft.created") == 0


async def test_twenty_simultaneous_approve_clicks_give_one_decision(tmp_path, database):
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
        await request(trellis, LIAM, discount(15))
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)

        await asyncio.gather(*(click(trellis, SOFIA, card) for _ in range(20)))

        await until_state(trellis, draft.id, DraftState.DONE)
        await asyncio.sleep(0.3)
        assert await count_audit(trellis.services, "draft.approved") == 1
        assert sum(peers.webhook.attempts.values()) == 1
        assert await peers.crm_rows() == [("Alpine Co.", 15.0)]
        sofia = trellis.user(SOFIA)

        async def every_late_clicker_told() -> bool:
            told = [
                e
                for e in trellis.sandbox.ephemerals(sofia)
                if "Sofia Marino already approved this" in e.text
            ]
            return len(told) == 19

        await eventually(every_late_clicker_told)


async def test_a_missing_field_opens_a_form_that_starts_the_request(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        liam = trellis.user(LIAM)
        await request(trellis, LIAM, 'discount_request customer="Summit Sports"')
        form = await modal_for(trellis, LIAM)
        assert form.spec["callback_id"] == "trellis_workflow_form"
        customer = next(b for b in form.spec["blocks"] if b.get("block_id") == "customer")
        assert customer["element"]["initial_value"] == "Summit Sports"

        answer = await trellis.sandbox.submit_view(
            liam,
            form.id,
            {
                "customer": {"field_customer": "Summit Sports"},
                "percent": {"field_percent": "140"},
                "reason": {"field_reason": "Store opening"},
            },
        )
        assert answer["response_action"] == "errors"
        assert "at most 100" in answer["errors"]["percent"]

        await trellis.sandbox.submit_view(
            liam,
            form.id,
            {
                "customer": {"field_customer": "Summit Sports"},
                "percent": {"field_percent": "20"},
                "reason": {"field_reason": "Store opening"},
            },
        )
        card = await card_in(trellis, "deal-approvals")
        assert "Summit Sports" in blocks_text(card.blocks)


async def test_a_number_that_is_not_one_opens_the_form_with_the_field_empty_and_says_why(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        await request(trellis, LIAM, 'discount_request customer="Alpine Co." percent=abc')
        form = await modal_for(trellis, LIAM)
        fields = {b.get("block_id"): b for b in form.spec["blocks"]}
        assert fields["customer"]["element"]["initial_value"] == "Alpine Co."
        percent = fields["percent"]
        assert percent["element"]["type"] == "number_input"
        assert "initial_value" not in percent["element"], percent
        hint = percent["hint"]["text"]
        assert "Discount %" in hint and "must be a number" in hint and "“abc”" in hint
        assert "“abc”" in blocks_text(form.spec["blocks"])  # the note at the top says it too

        await trellis.sandbox.submit_view(
            trellis.user(LIAM),
            form.id,
            {
                "customer": {"field_customer": "Alpine Co."},
                "percent": {"field_percent": "8"},
                "reason": {"field_reason": "Renewal"},
            },
        )
        await wait_for_text(trellis, LIAM, "needs no approval")


async def test_a_failing_downstream_dead_letters_visibly_and_an_owner_retries(tmp_path, database):
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
        peers.webhook.faults.status(503, times=FAST.max_attempts)
        await request(trellis, LIAM, discount(15))
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)
        await click(trellis, SOFIA, card)

        await until_state(trellis, draft.id, DraftState.FAILED)
        notice = await wait_for_text(trellis, "trellis-owners", "An approved action failed")
        assert "HTTP 503" in blocks_text(notice.blocks)
        await wait_for_text(trellis, LIAM, "Trellis could not notify 127.0.0.1")
        assert await peers.crm_rows() == [("Alpine Co.", 15.0)]  # the first action is done

        await trellis.sandbox.click_button(
            trellis.user(ELENA), notice.channel, notice.ts, "trellis_retry"
        )
        await ephemeral(trellis, ELENA, "Only the Trellis owners can retry")
        assert (await trellis.services.approvals.view(draft.id)).state == DraftState.FAILED
        await trellis.sandbox.click_button(
            trellis.user(ROSA), notice.channel, notice.ts, "trellis_retry"
        )
        view = await until_state(trellis, draft.id, DraftState.DONE)
        assert [a.state for a in view.outbox] == ["done", "done"]
        assert len(peers.webhook.deliveries) == 1
        assert await peers.crm_rows() == [("Alpine Co.", 15.0)]
        await wait_for_text(trellis, "trellis-owners", "Retried by Rosa Delgado")
        sample = trellis.services.metrics.registry.get_sample_value
        outcomes = {
            o: sample("trellis_downstream_outcomes_total", {"connector": "webhook", "outcome": o})
            for o in ("retried", "dead_lettered", "done")
        }
        assert outcomes == {"retried": FAST.max_attempts - 1, "dead_lettered": 1, "done": 1}


async def test_a_draft_uses_only_sources_every_reader_of_its_card_may_see(tmp_path):
    # #deal-approvals includes finance, who may read the discount guidelines and the customer
    # summaries but not the sales-only quoting terms or price list, so the draft on the card
    # must not quote or name those. (tests/answering/test_drafting.py hides the guidelines from
    # finance too: then the card cites no policy at all.)
    async with running_trellis(tmp_path) as trellis:
        await request(trellis, LIAM, discount(30))
        card = await card_in(trellis, "deal-approvals")
        shown = f"{card.text} {blocks_text(card.blocks)}"
        draft = await draft_of(trellis, card)
        assert {c["doc_id"] for c in draft.citations} <= {
            "customer-alpine-co",
            "sales-discount-guidelines",
        }
        assert "Quoting and Order Terms" not in shown
        assert "price-list-2026" not in shown and "net 30" not in shown
        assert "Alpine Co." in shown  # the request itself is on the card


async def _reject_failing_as_a_bug_would(**_):
    raise RuntimeError("database went away")


async def test_an_unexpected_failure_in_the_reject_form_is_told_in_the_form(tmp_path, monkeypatch):
    from handlers.views import cards

    async with running_trellis(tmp_path) as trellis:
        await request(trellis, LIAM, discount(15))
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)
        await click(trellis, SOFIA, card, "trellis_reject")
        form = await modal_for(trellis, SOFIA)
        monkeypatch.setattr(trellis.services.approvals, "reject", _reject_failing_as_a_bug_would)
        answer = await trellis.sandbox.submit_view(
            trellis.user(SOFIA),
            form.id,
            {cards.REASON_BLOCK: {cards.TEXT_INPUT: "Too deep for this account"}},
        )
        assert answer["response_action"] == "errors"
        told = answer["errors"][cards.REASON_BLOCK]
        assert "nothing was saved" in told and "reference" in told
        assert (await trellis.services.approvals.view(draft.id)).state == DraftState.PENDING
