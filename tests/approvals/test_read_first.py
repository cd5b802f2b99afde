"""A draft whose text goes out (an email, a ticket, a webhook) is not approved
automatically unless a model wrote it from documents: a person reads it first."""

from __future__ import annotations

from app.approvals.drafting import ComposedDraft
from app.approvals.drafts import DraftState
from app.approvals.read_first import unread_risk
from app.config.workspace import load_workspace
from app.domain import Citation
from app.rules.facts import DraftFacts
from tests.harness import blocks_text, running_trellis
from tests.trust.test_about import about_text, services_for
from tests.workflow_helpers import card_in, copy_demo, draft_of

LIAM = "liam.carter@northwind.example"  # sales rep
EMAILED = """      - connector: webhook
        with: {url: "http://127.0.0.1:8089/hooks/discounts"}
      - connector: email
        with: {to: buyer@alpine.example, subject: Your discount, body: "{{ draft.text }}"}
"""


def emailing_discounts(tmp_path):
    """The demo, its discounts also emailing the draft to the customer."""
    return copy_demo(
        tmp_path,
        {
            '      - connector: webhook\n        with: {url: "http://127.0.0.1:8089/hooks/discounts"}\n': EMAILED
        },
    )


def liams_messages(trellis) -> str:
    """Liam's direct messages with Trellis, where he hears how his request goes."""
    return trellis.sandbox.workspace.open_im(trellis.user(LIAM)).id


async def ask_discount(trellis, *, percent: int) -> None:
    """Liam's /trellis discount_request for Alpine Co. at `percent`, typed in #sales."""
    await trellis.sandbox.slash_command(
        trellis.user(LIAM),
        trellis.channel("sales"),
        "/trellis",
        f'discount_request customer="Alpine Co." percent={percent} reason="Volume commitment"',
    )


async def test_an_offline_draft_a_tier_would_approve_automatically_waits_for_the_next_tier(
    tmp_path,
):
    async with running_trellis(tmp_path, workspace=emailing_discounts(tmp_path)) as trellis:
        await ask_discount(trellis, percent=5)
        card = await card_in(trellis, "deal-approvals")
        draft = await draft_of(trellis, card)
        assert draft.state == DraftState.PENDING
        told = await trellis.sandbox.wait_for_message(
            liams_messages(trellis), lambda m: "waiting for approval" in m.text, 10
        )
        assert "no model wrote it from documents, so a person reads it first" in told.text
        assert draft.needs().approvers == ("sales-managers",)
        shown = blocks_text(card.blocks)
        assert "input.percent &lt;= 10.0: approved automatically only when a model wrote" in shown
        assert "sends its text out (email)" in shown


async def test_without_an_outside_recipient_the_tier_still_approves_automatically(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        await ask_discount(trellis, percent=5)
        said = await trellis.sandbox.wait_for_message(
            liams_messages(trellis), lambda m: "needs no approval" in m.text, 10
        )
        assert "needs no approval" in said.text


def composed(*, model: str | None, cited: bool) -> ComposedDraft:
    citations = (Citation(doc_id="d", title="Policy", quote="q"),) if cited else ()
    return ComposedDraft("text", citations, 0.8, DraftFacts(text="text"), model=model)


def test_only_a_model_draft_resting_on_documents_may_go_out_unread(tmp_path):
    workflow = _emailing_workflow(tmp_path)
    assert unread_risk(workflow, composed(model="claude-sonnet", cited=True)) is None
    offline = unread_risk(workflow, composed(model=None, cited=True))
    assert offline is not None and "written without a model" in offline
    unsupported = unread_risk(workflow, composed(model="claude-sonnet", cited=False))
    assert unsupported is not None and "restates the request" in unsupported


def _emailing_workflow(tmp_path):
    return load_workspace(emailing_discounts(tmp_path)).rules.workflows["discount_request"]


async def test_an_offline_draft_sent_to_approvers_tells_them_to_edit_it_before_it_goes_out(
    tmp_path,
):
    async with running_trellis(tmp_path, workspace=emailing_discounts(tmp_path)) as trellis:
        await ask_discount(trellis, percent=15)
        card = await card_in(trellis, "deal-approvals")
        shown = blocks_text(card.blocks)
        assert "input.percent &lt;= 25.0: sales-managers must approve (" in shown
        assert "so edit it before it goes out)" in shown


async def test_about_says_an_automatic_tier_whose_draft_goes_out_needs_a_model_draft(
    tmp_path, sqlite_database
):
    services = await services_for(emailing_discounts(tmp_path), sqlite_database)
    said = await about_text(services, LIAM, "approval")
    assert (
        "Discount up to 10 %: approved automatically, but only when a model wrote the draft "
        "from documents, since its text goes out (email); otherwise (and always without a "
        "model) one of sales-managers"
    ) in said
