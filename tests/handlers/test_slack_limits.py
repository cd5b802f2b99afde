"""What Trellis sends Slack keeps to Slack's documented Block Kit limits on real data, through
the real Bolt app and the sandbox, which refuses what Slack refuses (an option's label over
75 characters, a button's over 75, a select with more than 100 options…)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from app.domain import FlagStatus
from app.sandbox.view_methods import view_spec
from app.trust.feedback import FlagCase
from app.trust.stories import Story, StoryDocument
from handlers.views import cards, flags, forms
from handlers.views.blocks import (
    MESSAGE_TEXT,
    SECTION_LIMIT,
    context,
    escape,
    link,
    section,
    text_in,
)
from handlers.views.story import story_view
from tests.harness import blocks_text, running_trellis
from tests.workflow_helpers import card_in, copy_demo, draft_of, modal_for

LIAM = "liam.carter@northwind.example"  # sales rep
SAM = "sam.ortiz@northwind.example"  # support: may flag
ROSA = "rosa.delgado@northwind.example"  # support lead, owns the support macros
DEEP_ID = (
    "support/shared-documents/customer-service/returns-and-exchanges/saved-replies/"
    "2026-edition-revised-after-the-march-audit/support-macros-for-damaged-goods"
)
LONG_PLAN = "Enterprise plan, annual contract with a dedicated success manager and a custom SLA"
PLANS = f'[Starter, "{LONG_PLAN}"]'


async def test_a_choice_longer_than_a_slack_option_label_still_opens_the_form_and_is_kept_whole(
    tmp_path,
):
    assert 75 < len(LONG_PLAN) <= 150
    workspace = copy_demo(
        tmp_path,
        {
            "      reason: {type: text, label: Why}\n": (
                "      reason: {type: text, label: Why}\n"
                f"      plan: {{type: choice, choices: {PLANS}, label: Plan}}\n"
            )
        },
    )
    async with running_trellis(tmp_path, workspace=workspace) as trellis:
        liam = trellis.user(LIAM)
        await trellis.sandbox.slash_command(
            liam, trellis.channel("sales"), "/trellis", 'discount_request customer="Summit Sports"'
        )
        form = await modal_for(trellis, LIAM)
        assert form.spec["callback_id"] == forms.FORM_VIEW
        plan = next(b for b in form.spec["blocks"] if b.get("block_id") == "plan")
        labels = [o["text"]["text"] for o in plan["element"]["options"]]
        assert labels[0] == "Starter"
        assert len(labels[1]) == 75 and labels[1].endswith("…")
        assert LONG_PLAN.startswith(labels[1][:-1])

        values = {
            "customer": {"field_customer": "Summit Sports"},
            "percent": {"field_percent": "15"},
            "reason": {"field_reason": "Store opening"},
            "plan": {"field_plan": LONG_PLAN},
        }
        await trellis.sandbox.submit_view(liam, form.id, values)
        card = await card_in(trellis, "deal-approvals", within=15)
        assert LONG_PLAN in str(card.blocks)


def _links_whole(text: str) -> bool:
    """Every `<` of Slack markup is closed by its `>` (no link or mention cut in two)."""
    return re.fullmatch(r"(?:[^<]|<[^<>]*>)*", text) is not None


def test_a_section_too_long_for_slack_is_cut_before_a_link_not_inside_it():
    url = "https://wiki.northwind.example/policies/returns/" + "x" * 80
    text = "Policies: " + " ".join(link(url, f"Return policy part {i}") for i in range(40))
    assert len(text) > SECTION_LIMIT
    shown = section(text)["text"]["text"]
    assert len(shown) <= SECTION_LIMIT and shown.endswith("…")
    assert _links_whole(shown), shown[-200:]
    entities = escape("Terms & conditions " * 300)
    assert re.search(r"&(?!amp;)", context(entities)["elements"][0]["text"]) is None


def test_the_story_lists_twenty_documents_with_long_links_whole_within_slacks_limits():
    documents = [
        StoryDocument(
            doc_id=f"doc-{i}",
            title=f"Northwind returns and exchanges handbook, chapter {i}: damaged goods",
            url=f"https://northwind.sharepoint.example/sites/support/Shared%20Documents/{'a' * 90}/{i}.docx",
            cited=i < 3,
        )
        for i in range(20)
    ]
    story = Story(
        audit_id="a1",
        kind="question",
        at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        question="What is the prepaid return label fee?",
        status="answered",
        documents=documents,
    )
    view = story_view(story)
    view_spec(view, home=False)  # Slack's checks: raises SlackError when Slack would refuse
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert all(len(t) <= SECTION_LIMIT and _links_whole(t) for t in texts)
    shown = "\n".join(texts)
    assert all(f"|{escape(d.title)}>" in shown for d in documents)
    assert "Only documents you may see are listed." in shown


async def test_a_source_whose_id_is_longer_than_a_slack_option_value_can_be_named_wrong(tmp_path):
    assert len(DEEP_ID) > 150
    workspace = copy_demo(tmp_path, {})
    macros = workspace / "knowledge" / "support" / "macros.md"
    macros.write_text(macros.read_text().replace("id: support-macros\n", f"id: {DEEP_ID}\n", 1))
    async with running_trellis(tmp_path, workspace=workspace) as trellis:
        sam, support = trellis.user(SAM), trellis.channel("support")
        ts = await trellis.ask(SAM, "support", "What is the prepaid return label fee?")
        answer = await trellis.answer_in_thread("support", ts)
        await trellis.sandbox.add_reaction(sam, support, answer.ts, "x")
        rosa_dm = trellis.sandbox.workspace.open_im(trellis.user(ROSA)).id
        notice = await trellis.sandbox.wait_for_message(
            rosa_dm, lambda m: m.bot_id is not None and "flagged" in blocks_text(m.blocks), 10
        )
        prompt = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Say what's wrong" in blocks_text(e.blocks)
        )
        await trellis.sandbox.click_button(sam, prompt.channel, prompt.ts, flags.EXPLAIN)
        form = await modal_for(trellis, SAM)
        [menu] = [b["element"] for b in form.spec["blocks"] if b.get("block_id") == "source"]
        values = [o["value"] for o in menu["options"]]
        assert all(len(v) <= 150 for v in values)
        assert len(values) == len(set(values))  # one option per document
        macros_value = next(
            o["value"] for o in menu["options"] if o["text"]["text"] == "Support Macros"
        )

        await trellis.sandbox.submit_view(
            sam,
            form.id,
            {
                "correction": {"text": "Trail Club members pay no fee."},
                "source": {"doc": macros_value},
            },
        )
        await trellis.sandbox.wait_for_message(
            rosa_dm,
            lambda m: (
                m.ts == notice.ts
                and "Source wrong or missing:* Support Macros" in blocks_text(m.blocks)
            ),
            15,
        )


def test_a_document_quoted_twice_is_one_choice_in_the_flag_modals():
    quoted_twice = (
        {"doc_id": "support-macros", "title": "Support Macros", "quote": "Prepaid labels…"},
        {"doc_id": "returns-policy", "title": "Returns Policy", "quote": "Within 30 days…"},
        {"doc_id": "support-macros", "title": "Support Macros", "quote": "USD 8.95 fee…"},
    )
    case = FlagCase(
        id="f1",
        status=FlagStatus.OPEN,
        answer_id="a1",
        audit_id="au1",
        question="What is the prepaid return label fee?",
        answer="USD 8.95 [1] [3]",
        citations=quoted_twice,
        channel_id="C1",
        thread_ts=None,
        message_ts="1.2",
        flagger_email="sam.ortiz@northwind.example",
        flagger_name="Sam Ortiz",
        flagger_slack_id="U1",
        correction="Trail Club members pay nothing.",
        wrong_source="support-macros",
        owners=("support-leads",),
        doc_ids=("support-macros", "returns-policy"),
        notices=(),
        decided_by=None,
    )
    for view in (flags.note_modal(case), flags.correction_modal(case)):
        view_spec(view, home=False)
        held = [b.get("element") or {} for b in view["blocks"]]
        menu = next(e for e in held if e.get("type", "").endswith("select"))
        values = [o["value"] for o in menu["options"]]
        assert len(values) == len(set(values)), values
    correction = flags.correction_modal(case)
    sources = next(b for b in correction["blocks"] if b.get("block_id") == "sources")
    assert [o["value"] for o in sources["element"]["initial_options"]] == ["returns-policy"]


LONG_DRAFT = "\n\n".join(
    f"Paragraph {i}: Alpine Co. commits to the whole spring range, so the discount holds for "
    "this order only; delivery is split over three dates and each invoice is due in 30 days."
    for i in range(160)
)


async def test_a_draft_longer_than_one_slack_message_still_makes_a_card_and_reaches_its_requester(
    tmp_path,
):
    assert len(LONG_DRAFT) > 2 * MESSAGE_TEXT
    async with running_trellis(tmp_path) as trellis:
        await trellis.sandbox.slash_command(
            trellis.user(LIAM),
            trellis.channel("sales"),
            "/trellis",
            'discount_request customer="Alpine Co." percent=15 reason="Spring order volume"',
        )
        draft = await draft_of(trellis, await card_in(trellis, "deal-approvals", within=15))
        long = replace(draft, id=f"{draft.id}-long", text=LONG_DRAFT, original_text=LONG_DRAFT)
        notifier = trellis.services.notifier

        channel, ts = await notifier.post_card(long)
        [card] = [m for m in trellis.sandbox.messages(channel) if m.ts == ts]
        assert text_in(card.blocks) <= MESSAGE_TEXT
        assert "Paragraph 0:" in blocks_text(card.blocks)
        assert "the text goes on; it is too long for one card" in blocks_text(card.blocks)
        assert any(b.get("block_id") == cards.DECISION_BLOCK for b in card.blocks)

        await notifier.tell_requester(
            long,
            "Sofia Marino approved your Discount request. The approved text:",
            privately=True,
            quoting=LONG_DRAFT,
        )
        dm = trellis.sandbox.workspace.open_im(trellis.user(LIAM)).id
        await trellis.sandbox.wait_for_message(
            dm, lambda m: "Paragraph 159:" in blocks_text(m.blocks), 10
        )
        told = [m for m in trellis.sandbox.messages(dm) if "Paragraph" in blocks_text(m.blocks)]
        shown = "\n".join(blocks_text(m.blocks) for m in told)
        assert all(f"Paragraph {i}:" in shown for i in range(160))
        assert all(text_in(m.blocks) <= MESSAGE_TEXT for m in told)
