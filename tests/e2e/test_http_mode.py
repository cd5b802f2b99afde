"""End to end over HTTP: the sandbox POSTs signed events, slash commands and button clicks to
the real Bolt app's request URL, as Slack does for an app not on Socket Mode."""

from __future__ import annotations

from app.approvals.drafts import DraftState
from tests.harness import blocks_text, running_trellis
from tests.workflow_helpers import (
    FAST,
    card_in,
    card_showing,
    demo_peers,
    draft_of,
    until_state,
    wait_for_text,
)

SAM = "sam.ortiz@northwind.example"
LIAM = "liam.carter@northwind.example"
SOFIA = "sofia.marino@northwind.example"


async def test_over_http_a_direct_question_is_answered_and_a_slash_command_replies(tmp_path):
    async with running_trellis(tmp_path, slack_mode="http") as trellis:
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, "When is Trail Day in 2026?")
        im = trellis.dm_with(SAM)
        answer = await trellis.answer_in_thread(im, ts)
        assert "Trail Day" in blocks_text(answer.blocks)

        await trellis.sandbox.slash_command(sam, trellis.channel("general"), "/trellis", "about")
        shown = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "About Trellis at" in blocks_text(e.blocks), 10
        )
        assert "Sam Ortiz" in blocks_text(shown.blocks)
        http = trellis.sandbox.http
        assert http is not None
        assert all(a.status == 200 for a in http.attempts)
        assert {a.type for a in http.attempts} >= {"events_api", "slash_commands"}


async def test_over_http_a_discount_is_approved_with_the_button_on_its_card(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path,
            workspace=peers.workspace,
            environ=peers.environ,
            background=FAST,
            slack_mode="http",
        ) as trellis,
    ):
        await trellis.sandbox.slash_command(
            trellis.user(LIAM),
            trellis.channel("sales"),
            "/trellis",
            'discount_request customer="Alpine Co." percent=15 '
            'reason="Volume commitment for the spring order"',
        )
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)
        assert draft.state == DraftState.PENDING

        await trellis.sandbox.click_button(
            trellis.user(SOFIA), card.channel, card.ts, "trellis_approve"
        )

        await until_state(trellis, draft.id, DraftState.DONE)
        assert await peers.crm_rows() == [("Alpine Co.", 15.0)]
        await wait_for_text(trellis, LIAM, "Sofia Marino approved your Discount request")
        updated = await card_showing(trellis, card, "Sent to 127.0.0.1")
        assert "Approved* by Sofia Marino" in blocks_text(updated.blocks)
        http = trellis.sandbox.http
        assert http is not None
        assert "interactive" in {a.type for a in http.attempts}
        assert all(a.status == 200 for a in http.attempts)
