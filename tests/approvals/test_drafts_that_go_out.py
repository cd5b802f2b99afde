"""What an approved draft sends out is written for its reader outside Trellis.

The approvers' notes ("No document ... answers this request") and the citation markers
[n] stay on the card; the email carries neither. A draft nothing supports cannot be
approved as it stands when approving emails it: its card asks for an edit first, and the
edited text is what goes out. Through the real app against the sandbox, with a real SMTP
server, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from app.answering.backends.drafter import NOTHING_ON_FILE
from app.approvals.drafts import DraftState
from app.errors import ApprovalConflict
from tests.approvals.consultancy import (
    CAKE,
    LEO,
    MEALS,
    POLICY,
    PRIYA,
    buttons,
    emailing_to,
    request_card,
)
from tests.harness import blocks_text, running_trellis
from tests.peers.smtp import SmtpPeer
from tests.workflow_helpers import FAST, card_showing, modal_for, until_state


async def test_a_supported_draft_is_emailed_without_its_markers(tmp_path, database):
    async with (
        SmtpPeer() as smtp,
        running_trellis(
            tmp_path, workspace=emailing_to(tmp_path, smtp.port), database=database, background=FAST
        ) as trellis,
    ):
        card, shown, draft = await request_card(trellis, LEO, MEALS)
        assert [c["doc_id"] for c in draft.citations] == [POLICY] and "[1]" in draft.text
        assert "Sources:* [1] Expense claims" in shown  # the card keeps markers and sources
        await trellis.sandbox.click_button(
            trellis.user(PRIYA), card.channel, card.ts, "trellis_approve"
        )
        await until_state(trellis, draft.id, DraftState.DONE)
    [mail] = smtp.messages
    body = mail.message.get_content()
    assert "Meals while travelling are reimbursed up to 35 EUR per day." in body
    assert not re.search(r"\[\d+\]", body)
    assert NOTHING_ON_FILE not in body


async def test_an_unsupported_draft_is_edited_before_it_is_approved_and_sent(tmp_path, database):
    async with (
        SmtpPeer() as smtp,
        running_trellis(
            tmp_path, workspace=emailing_to(tmp_path, smtp.port), database=database, background=FAST
        ) as trellis,
    ):
        card, shown, draft = await request_card(trellis, LEO, CAKE)
        assert draft.citations == () and draft.text.endswith(NOTHING_ON_FILE)
        # The card asks for an edit first; approving the text as it stands is refused.
        assert buttons(card) == {"trellis_edit": "Edit and approve", "trellis_reject": "Reject"}
        assert "Edit it first, then approve the edited text." in shown
        priya = await trellis.services.identity.resolve(trellis.user(PRIYA))
        with pytest.raises(ApprovalConflict, match="No document supports this draft"):
            await trellis.services.approvals.approve(draft_id=draft.id, approver=priya)

        user = trellis.user(PRIYA)
        await trellis.sandbox.click_button(user, card.channel, card.ts, "trellis_edit")
        modal = await modal_for(trellis, PRIYA)
        assert "write the text to send" in blocks_text(modal.spec["blocks"])
        # The note for approvers left in by mistake still does not go out.
        edited = f"Cake for the team's tenth anniversary, 80 EUR.\n\n{NOTHING_ON_FILE}"
        await trellis.sandbox.submit_view(user, modal.id, {"draft_text": {"text": edited}})
        updated = await card_showing(trellis, card, "tenth anniversary")
        assert buttons(updated)["trellis_approve"] == "Approve"
        await trellis.sandbox.click_button(user, card.channel, card.ts, "trellis_approve")
        await until_state(trellis, draft.id, DraftState.DONE)
    [mail] = smtp.messages
    assert mail.message.get_content().strip() == "Cake for the team's tenth anniversary, 80 EUR."
