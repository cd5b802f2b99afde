"""Someone who may decide but is not in the approvals channel gets the card directly.

The clearest case: nobody but the requester could approve at a tier, so the rule falls
back to their manager, who is not a member of the private channel the card goes to. The
card comes to them by direct message, through the outbox, and they decide there.
"""

from __future__ import annotations

import asyncio

from app.approvals import notices
from app.approvals.drafts import DraftState
from app.db.repositories.approvals import OutboxRepository
from app.delivery.scheduler import deliver_notices, outbox_worker
from app.domain import ActionState
from tests.approval_helpers import Clock
from tests.e2e.test_trust_loop import workspace_copy
from tests.harness import blocks_text, running_trellis
from tests.workflow_helpers import (
    FAST,
    card_in,
    card_showing,
    demo_peers,
    draft_of,
    eventually,
    is_card,
    until_state,
)

SOFIA = "sofia.marino@northwind.example"  # the only sales manager; her manager is Daniel
DANIEL = "daniel.okafor@northwind.example"  # VP sales, not in #deal-approvals here
ELENA = "elena.petrova@northwind.example"  # finance, in #deal-approvals
ROSA = "rosa.delgado@northwind.example"  # the only support lead; her manager is Maya
MAYA = "maya.lindqvist@northwind.example"  # CEO, not in #support-approvals
REPLY = (
    'customer_reply customer="Alpine Co." contact=purchasing@alpine-co.example ticket=SUP-9 '
    'question="When does our contract renew? We are planning the next tents order."'
)
DISCOUNT = 'discount_request customer="Alpine Co." percent=15 reason="Volume commitment"'
DEALS_WITHOUT_VP = (
    "members: [group:sales-managers, group:vp-sales, group:finance]",
    "members: [group:sales-managers, group:finance]",
)


def without_vp_in_deal_approvals(workspace):
    sandbox = workspace / "sandbox.yml"
    text = sandbox.read_text()
    assert DEALS_WITHOUT_VP[0] in text
    sandbox.write_text(text.replace(*DEALS_WITHOUT_VP))


async def dm_opened(trellis, email):
    async def opened():
        ims = trellis.sandbox.workspace.conversations.values()
        return next((c.id for c in ims if c.is_im and c.im_user == trellis.user(email)), None)

    return await eventually(opened, within=10)


async def direct_rows(trellis, draft_id):
    async with trellis.services.database.session() as session:
        rows = await OutboxRepository(session).for_draft(draft_id)
    return [r for r in rows if r.connector in notices.DIRECT]


async def test_the_fallback_manager_gets_the_card_directly_and_approves_it_once(tmp_path):
    async with demo_peers(tmp_path) as peers:
        without_vp_in_deal_approvals(peers.workspace)
        async with running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis:
            await trellis.sandbox.slash_command(
                trellis.user(SOFIA), trellis.channel("sales"), "/trellis", DISCOUNT
            )
            card = await card_in(trellis, "deal-approvals")
            assert "so their manager does" in blocks_text(card.blocks)
            draft = await draft_of(trellis, card)
            assert draft.needs().approvers == (DANIEL,)

            im = await dm_opened(trellis, DANIEL)  # by the outbox worker, a moment later
            given = await trellis.sandbox.wait_for_message(
                im, lambda m: "asked to decide" in blocks_text(m.blocks)
            )
            said = blocks_text(given.blocks)
            assert "nobody but Sofia Marino could approve it" in said
            assert f"you are not in <#{card.channel}>" in said
            assert "Approve" in said
            [row] = await direct_rows(trellis, draft.id)
            assert row.connector == notices.DECIDER_CARD

            # Daniel approves in the direct message.
            await trellis.sandbox.click_button(
                trellis.user(DANIEL), im, given.ts, "trellis_approve"
            )
            await until_state(trellis, draft.id, DraftState.DONE)
            await eventually(lambda: _done(peers), within=10)
            # Both cards show the decision, without their buttons: nobody decides twice.
            for shown in (card, given):
                updated = await card_showing(trellis, shown, "Daniel Okafor")
                assert not is_card(updated)
            await asyncio.sleep(0.3)  # anything carried out twice would show by now
            view = await trellis.services.approvals.view(draft.id)
            assert view.decided_by_email == DANIEL
            assert [a.email for a in view.approvals] == [DANIEL]
            assert [a.state for a in view.outbox] == [ActionState.DONE, ActionState.DONE]
            assert len(peers.webhook.deliveries) == 1
            assert await peers.crm_rows() == [("Alpine Co.", 15.0)]
            story = await trellis.services.audit.story(draft.id)
            assert [r.kind for r in story].count("draft.approved") == 1


async def _done(peers):
    return len(peers.webhook.deliveries) == 1 and await peers.crm_rows()


async def test_approvers_in_the_channel_get_no_direct_message(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        # The demo's #deal-approvals has the VP: Sofia's fallback decides on the card there.
        await trellis.sandbox.slash_command(
            trellis.user(SOFIA), trellis.channel("sales"), "/trellis", DISCOUNT
        )
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)
        assert draft.needs().approvers == (DANIEL,)
        assert await direct_rows(trellis, draft.id) == []
        await deliver_notices(trellis.services, draft_id=draft.id)
        daniel = trellis.user(DANIEL)
        ims = [c for c in trellis.sandbox.workspace.conversations.values() if c.is_im]
        assert not [c for c in ims if c.im_user == daniel and trellis.sandbox.messages(c.id)]


async def test_a_fallback_manager_who_may_not_read_the_sources_is_told_once_slack_is_back(tmp_path):
    clock = Clock()
    async with running_trellis(tmp_path, clock=clock) as trellis:
        # Rosa is the only support lead, so Maya decides on her reply; Maya is not in
        # #support-approvals, and may not read the customer's account the draft quotes.
        await trellis.sandbox.slash_command(
            trellis.user(ROSA), trellis.channel("support"), "/trellis", REPLY
        )
        card = await card_in(trellis, "support-approvals")
        draft = await draft_of(trellis, card)
        assert draft.needs().approvers == (MAYA,)
        [row] = await direct_rows(trellis, draft.id)
        assert row.connector == notices.DECIDER_POINTER

        trellis.sandbox.fail("conversations.open", times=1000, status=503)
        assert await outbox_worker(trellis.services).deliver_notices(draft.id) == 1  # tried
        [row] = await direct_rows(trellis, draft.id)
        assert row.state == ActionState.PENDING and row.last_error  # to be tried again

        trellis.sandbox.web_api.failures.clear()  # Slack is back
        clock.advance(minutes=10)  # past the outbox's backoff
        assert await outbox_worker(trellis.services).deliver_notices(draft.id) == 1
        assert await outbox_worker(trellis.services).deliver_notices(draft.id) == 0
        told = [m for m in trellis.sandbox.messages(trellis.dm_with(MAYA)) if m.bot_id]
        [pointer] = told
        assert "nobody but Rosa Delgado could approve it" in pointer.text
        assert f"you are not in <#{card.channel}>" in pointer.text
        assert not pointer.blocks
        assert "Alpine" not in pointer.text and "tents" not in pointer.text
        view = await trellis.services.approvals.view(draft.id)
        assert view.state == DraftState.PENDING and view.outbox == ()


async def home_of(trellis, email) -> str:
    """The text of `email`'s App Home, once Trellis has published it."""
    user = trellis.user(email)
    await trellis.sandbox.open_home(user)
    await trellis.sandbox.wait_for_call("views.publish", lambda c: c.params.get("user_id") == user)
    return blocks_text(trellis.sandbox.home_view(user).spec["blocks"])


def permalink_to(message, title: str = "Discount request") -> str:
    """What a link to `message` titled `title` ends with (Slack's chat.getPermalink)."""
    return f"/archives/{message.channel}/p{message.ts.replace('.', '')}|{title}>"


async def test_the_fallback_managers_app_home_links_the_card_sent_to_them(tmp_path):
    folder = workspace_copy(tmp_path)
    without_vp_in_deal_approvals(folder)
    async with running_trellis(tmp_path, workspace=folder, background=FAST) as trellis:
        await trellis.sandbox.slash_command(
            trellis.user(SOFIA), trellis.channel("sales"), "/trellis", DISCOUNT
        )
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)
        im = await dm_opened(trellis, DANIEL)
        given = await trellis.sandbox.wait_for_message(
            im, lambda m: "asked to decide" in blocks_text(m.blocks)
        )

        async def sent():  # where the card went is recorded once Slack took it
            return [r for r in await direct_rows(trellis, draft.id) if r.reference]

        await eventually(sent, within=10)
        home = await home_of(trellis, DANIEL)
        assert "Waiting for your approval" in home
        assert permalink_to(given) in home
        assert permalink_to(card) not in home  # Daniel is not in #deal-approvals


async def test_an_approvers_app_home_links_the_card_in_the_channel(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        await trellis.sandbox.slash_command(
            trellis.user(SOFIA), trellis.channel("sales"), "/trellis", DISCOUNT
        )
        card = await card_in(trellis, "deal-approvals")
        await draft_of(trellis, card)  # its place is recorded
        assert permalink_to(card) in await home_of(trellis, DANIEL)


async def test_a_fallback_manager_told_only_where_a_draft_waits_gets_no_link_to_its_card(tmp_path):
    async with running_trellis(tmp_path, background=FAST) as trellis:
        # Maya may not read the customer's account the draft quotes: a pointer, no card.
        await trellis.sandbox.slash_command(
            trellis.user(ROSA), trellis.channel("support"), "/trellis", REPLY
        )
        card = await card_in(trellis, "support-approvals")
        draft = await draft_of(trellis, card)

        async def told():
            return [r for r in await direct_rows(trellis, draft.id) if r.state == "done"]

        await eventually(told, within=10)
        home = await home_of(trellis, MAYA)
        assert "Customer reply" in home
        assert "|Customer reply>" not in home
