"""An approver's edit decides which sources a draft shows: those its new text still cites
by its [n] markers, numbered again from [1]; an edit that cites none says so, instead of
listing the first draft's sources (real Bolt app, sandbox, the demo's stand-in systems)."""

from __future__ import annotations

import re

from app.approvals.drafts import DraftState
from tests.e2e.test_customer_reply import LIAM, ROSA, SAM
from tests.harness import blocks_text, running_trellis
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

SOFIA = "sofia.marino@northwind.example"  # sales manager, decides on Liam's discount
DISCOUNT = 'discount_request customer="Summit Sports" percent=18 reason="Volume commitment"'


def sentence_citing(text: str, number: int) -> str:
    """The first sentence of `text` that ends with the marker [number]."""
    match = re.search(rf"([^\n.]*?[^\s\[\]][^\n]*?)\s*\[{number}\]", text)
    assert match, f"no sentence cites [{number}] in {text!r}"
    return match.group(1).strip()


async def edit(trellis, email: str, card, text: str) -> str:
    """`email` edits the draft on `card` to `text` (Edit, then the modal); returns what
    the modal said."""
    editor = trellis.user(email)
    await trellis.sandbox.click_button(editor, card.channel, card.ts, "trellis_edit")
    modal = await modal_for(trellis, email)
    await trellis.sandbox.submit_view(editor, modal.id, {"draft_text": {"text": text}})
    return blocks_text(modal.spec["blocks"])


async def test_an_edited_draft_shows_only_the_sources_it_still_cites_numbered_again(tmp_path):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        await trellis.sandbox.slash_command(
            trellis.user(LIAM), trellis.channel("sales"), "/trellis", DISCOUNT
        )
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)
        customer, policy = draft.citations  # [1] the customer's summary, [2] the guidelines
        kept = sentence_citing(draft.text, 2)

        said = await edit(trellis, SOFIA, card, f"Approve 18% for Summit Sports. {kept} [2]")
        assert "A source stays listed only while the text keeps its [n] marker." in said
        updated = await card_showing(trellis, card, "edited by Sofia Marino")
        view = await trellis.services.approvals.view(draft.id)
        assert view.text == f"Approve 18% for Summit Sports. {kept} [1]"
        assert view.citations == (policy,)
        sources = blocks_text(updated.blocks).split("Sources:")[1]
        assert f"[1] <{policy['url']}|{policy['title']}>" in sources
        assert customer["title"] not in sources and "[2]" not in sources

        await trellis.sandbox.click_button(
            trellis.user(SOFIA), card.channel, card.ts, "trellis_approve"
        )
        await until_state(trellis, draft.id, DraftState.DONE)
        [delivery] = peers.webhook.deliveries.values()
        assert delivery.body["text"] == view.text


async def test_an_answer_edited_to_cite_nothing_is_posted_saying_it_has_no_sources(tmp_path):
    async with running_trellis(tmp_path, background=FAST) as trellis:
        ts = await trellis.ask(SAM, "support", "Within how many days can unused gear be returned?")
        await trellis.answer_in_thread("support", ts)
        card = await card_in(trellis, "support-approvals")
        draft = await draft_of(trellis, card)
        assert [c["title"] for c in draft.citations] == ["Return Policy"]

        await edit(trellis, ROSA, card, "Unused gear can come back within 60 days of delivery.")
        updated = await card_showing(trellis, card, "edited by Rosa Delgado")
        on_card = blocks_text(updated.blocks)
        assert "Sources:* none. Rosa Delgado edited the text" in on_card
        assert "Return Policy" not in on_card

        await trellis.sandbox.click_button(
            trellis.user(ROSA), card.channel, card.ts, "trellis_approve"
        )
        answer = await wait_for_text(
            trellis, "support", "Checked by Rosa Delgado", where=lambda m: m.thread_ts == ts
        )
        posted = blocks_text(answer.blocks)
        assert "within 60 days of delivery" in posted
        assert "Return Policy" not in posted
        assert "Sources: none. Rosa Delgado edited the text, and it no longer cites" in posted
