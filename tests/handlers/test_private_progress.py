"""A workflow request started by command is personal: how it goes is told privately.

Through the real Bolt app and the sandbox: Liam types `/trellis discount_request …` in
#sales. Only he sees the command's acknowledgement there; the status message, the decision
and the result reach him in his direct messages with Trellis, and #sales sees none of it.
A workflow whose rules.yml says `progress: channel` keeps its status in the channel.
"""

from __future__ import annotations

from handlers.views import cards
from tests.harness import running_trellis
from tests.workflow_helpers import FAST, card_in, copy_demo, modal_for, wait_for_text

LIAM = "liam.carter@northwind.example"  # sales rep
SOFIA = "sofia.marino@northwind.example"  # sales manager: approves discounts up to 25 %
DISCOUNT = 'discount_request customer="Alpine Co." percent=15 reason="Spring order volume"'


async def test_a_request_by_command_is_told_to_the_requester_alone(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        liam, sales = trellis.user(LIAM), trellis.channel("sales")
        ack = await trellis.sandbox.slash_command(liam, sales, "/trellis", DISCOUNT)
        assert ack.get("response_type", "ephemeral") == "ephemeral"
        assert "direct message" in ack["text"]

        status = await wait_for_text(trellis, LIAM, "waiting for approval by")
        assert "Discount request from" in status.text
        card = await card_in(trellis, "deal-approvals")
        sofia = trellis.user(SOFIA)
        await trellis.sandbox.click_button(sofia, card.channel, card.ts, cards.REJECT)
        form = await modal_for(trellis, SOFIA)
        reason = "Alpine Co. already has 10 % on the spring range."
        await trellis.sandbox.submit_view(
            sofia, form.id, {cards.REASON_BLOCK: {cards.TEXT_INPUT: reason}}
        )
        told = await wait_for_text(trellis, LIAM, "did not approve your Discount request", 15)
        assert told.thread_ts == status.ts and "already has 10 %" in told.text

        assert [m for m in trellis.sandbox.messages(sales) if m.bot_id] == []


async def test_a_workflow_with_progress_in_the_channel_posts_its_status_there(tmp_path):
    workspace = copy_demo(
        tmp_path, {"    channel: C0DEALS01": "    progress: channel\n    channel: C0DEALS01"}
    )
    async with running_trellis(tmp_path, workspace=workspace, background=FAST) as trellis:
        liam, sales = trellis.user(LIAM), trellis.channel("sales")
        ack = await trellis.sandbox.slash_command(liam, sales, "/trellis", DISCOUNT)
        assert "direct message" not in ack["text"]
        status = await wait_for_text(trellis, "sales", "waiting for approval by")
        assert "Discount request from" in status.text
