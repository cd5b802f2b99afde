"""Workflow drafts follow the workflow's prompt and say only what their sources support.

The prompt parser is tested on its own; the drafts are tested through the real app against
the sandbox: the slash command, the approvals channel's members, the readers' scope, the
search and the gate are all the real ones.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence

from app.answering.backends.drafter import NO_POLICY, NOT_ON_FILE, NOTHING_ON_FILE, RequestField
from app.answering.backends.sections import Section, SectionKind, parse_sections
from app.answering.ranges import points, range_row
from app.config.workspace import default_workspace_path
from app.domain import Citation, ModelAnswer, Passage, Turn
from tests.harness import blocks_text, running_trellis
from tests.workflow_helpers import draft_of, is_card

LIAM = "liam.carter@northwind.example"  # sales rep
SAM = "sam.ortiz@northwind.example"  # support agent
PROMPTS = default_workspace_path() / "prompts"
UNRELATED = (
    'discount_request customer="Probe Outfitters" percent=18 '
    'reason="Sponsoring their expedition to the moon"'
)
NEVER = (
    "company-holidays-2026",
    "company-handbook",
    "support/warranty-claims",
    "sales-quoting-process",
)


# --- the prompt's sections -----------------------------------------------------------------


def test_the_discount_prompt_is_read_as_its_four_sections_in_order():
    sections = parse_sections((PROMPTS / "discount_request.md").read_text())
    assert [s.title for s in sections] == [
        "Summary",
        "Customer facts",
        "Policy check against the Wholesale Discount Guidelines",
        "Risks",
    ]
    assert [s.kind for s in sections] == [
        SectionKind.REQUEST,
        SectionKind.FACTS,
        SectionKind.FACTS,
        SectionKind.RISKS,
    ]
    customer, policy = sections[1], sections[2]
    # Each fact is asked on its own; the hint about where to look is not a fact.
    assert customer.facts == (
        "annual volume",
        "contract and renewal date",
        "payment terms",
        "any discount already in place",
    )
    assert policy.is_policy and not customer.is_policy
    assert policy.facts[0] == "who must approve a discount of this size"
    assert policy.facts[2].startswith("any limit it touches (the 35% floor, no stacking")


def test_sections_may_be_bulleted_and_a_title_without_colon_is_its_first_clause():
    template = """Intro text with a colon: not a section.

- Overview: who asks for what.
* Vendor facts: bank details; contract end
   date, and open invoices.
1) Risks or open questions, at most two bullets.

Closing words.
"""
    sections = parse_sections(template)
    assert [(s.title, s.kind) for s in sections] == [
        ("Overview", SectionKind.REQUEST),
        ("Vendor facts", SectionKind.FACTS),
        ("Risks or open questions", SectionKind.RISKS),
    ]
    assert sections[1].facts == ("bank details", "contract end date", "open invoices")
    assert Section("Vendor facts").facts == ("Vendor facts",)


def test_a_list_of_rules_is_not_a_list_of_sections():
    assert parse_sections((PROMPTS / "answer.md").read_text()) == ()
    assert parse_sections((PROMPTS / "customer_reply.md").read_text()) == ()
    assert parse_sections("") == ()


def test_a_section_is_about_a_field_when_its_title_names_it():
    customer = RequestField("customer", "Customer", "Alpine Co.")
    reason = RequestField("reason", "Why", "2-year renewal", kind="text")
    facts, policy = Section("Customer facts"), Section("Policy check")
    assert customer.names_section(facts) and not customer.names_section(policy)
    assert not reason.names_section(facts)
    assert reason.named_in("whether the reason is one of the accepted reasons")
    assert not reason.named_in("payment terms")


# --- drafts on real cards ----------------------------------------------------------------


async def _card(trellis, email: str, channel: str, command: str, approvals: str):
    """Start a workflow and return (the new card's text, its draft)."""
    channel_id = trellis.channel(approvals)
    before = {m.ts for m in trellis.sandbox.messages(channel_id)}
    await trellis.sandbox.slash_command(
        trellis.user(email), trellis.channel(channel), "/trellis", command
    )
    card = await trellis.sandbox.wait_for_message(
        channel_id, lambda m: is_card(m) and m.ts not in before, 20
    )
    return f"{card.text} {blocks_text(card.blocks)}", await draft_of(trellis, card)


def _cited(draft) -> list[str]:
    return [c["doc_id"] for c in draft.citations]


def _in_order(text: str, *parts: str) -> bool:
    places = [text.find(p) for p in parts]
    return -1 not in places and places == sorted(places)


async def test_the_discount_card_follows_the_prompt_and_cites_only_what_supports_it(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        shown, draft = await _card(
            trellis,
            LIAM,
            "sales",
            'discount_request customer="Alpine Co." percent=18 reason="2-year renewal"',
            "deal-approvals",
        )
        text = draft.text
        assert _in_order(
            text,
            "*1. Summary*",
            "*2. Customer facts*",
            "*3. Policy check against the Wholesale Discount Guidelines*",
            "*4. Risks*",
        )
        # Every reader of #deal-approvals (sales managers, the VP, finance) may see both.
        assert _cited(draft) == ["customer-alpine-co", "sales-discount-guidelines"]
        assert not set(_cited(draft)) & set(NEVER)
        assert "warranty" not in text.lower() and "holiday" not in text.lower()
        summary = text.split("*2. Customer facts*")[0]
        assert "Alpine Co." in summary and "18%" in summary and "2-year renewal" in summary
        assert "[" not in summary  # the request itself needs no source
        facts = text.split("*2. Customer facts*")[1].split("*3.")[0]
        assert "USD 1.18 million" in facts and "March 31, 2027" in facts and "net 45" in facts
        assert facts.count("[1]") >= 3 and "[2]" not in facts
        # Quotes reach past their best sentence, so two may share one: each is said once.
        said = [
            sentence
            for line in text.splitlines()
            for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"\s*\[\d+\]", "", line))
            if len(sentence.split()) > 3
        ]
        assert len(said) == len(set(said)), [s for s in said if said.count(s) > 1]
        policy = text.split("*3.")[1].split("*4. Risks*")[0]
        # The row for 18% (not the 10% row the words alone would pick), quoted as written.
        assert "More than 10% and up to 25%; Approval: One sales manager. [2]" in policy
        assert "Up to 10%" not in policy
        assert "35% off wholesale" in policy and "[1]" not in policy
        for citation in draft.citations:  # each document once, its quote is in the draft
            assert citation["quote"] and citation["quote"] in text
        assert "Sources:" in shown and "Customer Summary: Alpine Co." in shown


async def test_a_request_the_documents_do_not_cover_says_not_on_file(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        _, draft = await _card(trellis, LIAM, "sales", UNRELATED, "deal-approvals")
    text = draft.text
    facts = text.split("*2. Customer facts*")[1].split("*3.")[0]
    assert facts.strip() == f"{NOT_ON_FILE.capitalize()}."
    # The guidelines still say who approves 18%, but nothing names this customer or reason.
    assert set(_cited(draft)) <= {"sales-discount-guidelines"}
    assert "Northwind" not in facts and "Alpine" not in text and "Summit" not in text
    assert "Whether the reason is one of the accepted reasons: not on file." in text
    risks = text.split("*4. Risks*")[1]
    assert "Customer facts, not on file: annual volume" in risks
    assert risks.count("•") <= 3


async def test_without_a_policy_every_approver_may_read_the_draft_cites_nothing(tmp_path):
    # The guidelines back to sales only: finance in #deal-approvals may not read them.
    workspace = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), workspace)
    (workspace / "knowledge" / "sales" / "_access.yml").write_text("default: [sales]\n")
    async with running_trellis(tmp_path, workspace=workspace) as trellis:
        shown, draft = await _card(trellis, LIAM, "sales", UNRELATED, "deal-approvals")
        _, known = await _card(
            trellis,
            LIAM,
            "sales",
            'discount_request customer="Alpine Co." percent=30 reason="2-year renewal"',
            "deal-approvals",
        )
    assert _cited(draft) == [] and "[1]" not in draft.text
    assert f"*2. Customer facts*\n{NOT_ON_FILE.capitalize()}." in draft.text
    assert f"Wholesale Discount Guidelines*\n{NO_POLICY}" in draft.text
    assert NO_POLICY in draft.text.split("*4. Risks*")[1]
    assert "Quoting and Order Terms" not in shown
    assert "Sources:* none: no document that everyone reading this card may see" in shown
    # A known customer: its summary may be cited, the hidden guidelines never.
    assert _cited(known) == ["customer-alpine-co"]
    assert NO_POLICY in known.text and "More than 25%" not in known.text


async def test_the_customer_reply_card_cites_the_customers_account_summary(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        _, draft = await _card(
            trellis,
            SAM,
            "support",
            'customer_reply customer="Alpine Co." contact=purchasing@alpine-co.example '
            'ticket=SUP-4188 question="When does our contract renew and what is our response '
            'time?"',
            "support-approvals",
        )
    assert _cited(draft)[0] == "customer-alpine-co"
    assert "March 31, 2027" in draft.text and "4 business hours" in draft.text


def _reply(ticket: str, question: str) -> str:
    return (
        'customer_reply customer="Alpine Co." contact=purchasing@alpine-co.example '
        f'ticket={ticket} question="{question}"'
    )


async def test_a_reply_quotes_what_answers_the_question_not_what_names_the_customer(tmp_path):
    # The account summary names the customer, its contact and its history; only the line
    # that answers the question is quoted, and a question nothing answers is said so.
    async with running_trellis(tmp_path) as trellis:
        _, known = await _card(
            trellis,
            SAM,
            "support",
            _reply("SUP-4192", "Who is our named support contact at Northwind?"),
            "support-approvals",
        )
        _, unknown = await _card(
            trellis,
            SAM,
            "support",
            _reply("SUP-4191", "Can you ship to our new store in Oslo by Friday?"),
            "support-approvals",
        )
    assert _cited(known) == ["customer-alpine-co"]
    assert "Rosa Delgado" in known.text and "Jordan Reyes" not in known.text
    assert _cited(unknown) == [] and "[1]" not in unknown.text
    assert unknown.text.endswith(NOTHING_ON_FILE)
    assert "Jordan Reyes" not in unknown.text and "pole bags" not in unknown.text


class RecordingModel:
    """A stand-in for Claude: it records the passages it is given and quotes the first."""

    name = "claude-stand-in"

    def __init__(self) -> None:
        self.seen: list[Passage] = []

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        self.seen.extend(passages)
        first = passages[0]
        quote = first.text.split("\n")[0]
        citation = Citation(doc_id=first.doc_id, title=first.title, quote=quote)
        return ModelAnswer(f"{quote} [1]", (citation,), 0.9, self.name, model)


async def test_a_model_is_given_only_passages_that_pass_a_sections_gate(tmp_path):
    model = RecordingModel()
    async with running_trellis(tmp_path, answerer_for=lambda _: model) as trellis:
        _, draft = await _card(
            trellis,
            LIAM,
            "sales",
            'discount_request customer="Alpine Co." percent=18 reason="2-year renewal"',
            "deal-approvals",
        )
    seen = {p.doc_id for p in model.seen}
    assert seen == {"customer-alpine-co", "sales-discount-guidelines"}
    assert _cited(draft) and set(_cited(draft)) <= seen


TIERS = """The approval depends on the size of the discount:

Discount: Up to 10%; Approval: No approval needed.
Discount: More than 10% and up to 25%; Approval: One sales manager.
Discount: More than 25%; Approval: The VP of Sales and the Finance Controller, both.

Approvers answer within 1 business day."""


def test_a_quote_in_a_table_of_ranges_becomes_the_row_that_holds_the_number():
    passage = Passage(chunk_id="d#1", doc_id="d", title="Discounts", text=TIERS)
    quoted = Citation(
        "d", "Discounts", "Discount: Up to 10%; Approval: No approval needed.", None, "d#1"
    )
    outside = Citation("d", "Discounts", "Approvers answer within 1 business day.", None, "d#1")

    def row(number: float) -> str | None:
        found = range_row([quoted], [passage], points([number]))
        if found is None:
            return None
        citation, said = found
        assert citation.quote in TIERS and citation.doc_id == "d" and said == citation.quote
        return said

    assert row(18) == "Discount: More than 10% and up to 25%; Approval: One sales manager."
    assert row(10).startswith("Discount: Up to 10%")  # "up to" includes its bound
    assert row(30).startswith("Discount: More than 25%")
    assert range_row([outside], [passage], points([18])) is None  # the quote is not in the table
    assert range_row([quoted], [passage], []) is None
