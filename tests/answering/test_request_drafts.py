"""Drafts of requests asked in words (a prompt without sections) quote the documents that
address the request, and nothing that only shares a common word with it; every card says
whose approval it waits for.

Through the real app against the sandbox, in a consultancy's workspace
(tests/approvals/consultancy.py)."""

from __future__ import annotations

from app.answering.backends.drafter import NOTHING_ON_FILE
from tests.approvals.consultancy import (
    CAKE,
    LEO,
    POLICY,
    START,
    SVEN,
    TAXI,
    TRAIN,
    WORKSPACE,
    request_card,
)
from tests.harness import running_trellis


def _cited(draft) -> list[str]:
    return [c["doc_id"] for c in draft.citations]


async def test_a_question_no_document_answers_quotes_nothing_that_only_shares_a_word(tmp_path):
    # "start" is in half the documents (user names start with a letter, backups start at
    # night): none of them says when the consultancy can start for a client.
    async with running_trellis(tmp_path, workspace=WORKSPACE) as trellis:
        _, shown, draft = await request_card(trellis, SVEN, START)
        asked = await trellis.ask(SVEN, "ask-ops", "When can you start?")
        answer = await trellis.answer_in_thread("ask-ops", asked, timeout=20)
    assert _cited(draft) == [] and "[1]" not in draft.text
    assert draft.text.endswith(NOTHING_ON_FILE)
    for unrelated in ("backup", "user name", "branch", "login"):
        assert unrelated not in draft.text.lower() and unrelated not in shown.lower()
    # An answer is held to the same gate: it does not quote them either.
    assert "backup" not in answer.text.lower() and "[1]" not in answer.text


async def test_expense_claims_cite_the_expense_policy_that_covers_them(tmp_path):
    # The policy covers train travel and late taxis carrying equipment; the claims name a
    # client's site, a time and what was carried, which no document mentions word for word.
    async with running_trellis(tmp_path, workspace=WORKSPACE) as trellis:
        _, train_card, train = await request_card(trellis, LEO, TRAIN)
        _, taxi_card, taxi = await request_card(trellis, LEO, TAXI)
        _, _, cake = await request_card(trellis, LEO, CAKE)
    assert _cited(train) == [POLICY] and _cited(taxi) == [POLICY]
    assert "by train in second class is reimbursed in full" in train.text
    assert "Taxis are reimbursed only after 22:00 or when carrying equipment" in taxi.text
    assert "Sources:* [1] Expense claims" in train_card and "Expense claims" in taxi_card
    # A claim the policy says nothing about still cites nothing.
    assert _cited(cake) == [] and cake.text.endswith(NOTHING_ON_FILE)


async def test_every_card_says_whose_approval_it_waits_for(tmp_path):
    async with running_trellis(tmp_path, workspace=WORKSPACE) as trellis:
        _, supported, _ = await request_card(trellis, LEO, TRAIN)
        _, unsupported, cake = await request_card(trellis, LEO, CAKE)
        _, reply, _ = await request_card(trellis, SVEN, START)
    assert not cake.citations
    assert "*Approvals:* nobody yet · waiting for finance" in unsupported
    assert "*Approvals:* nobody yet · waiting for finance" in supported
    assert "*Approvals:* nobody yet · waiting for partners" in reply
