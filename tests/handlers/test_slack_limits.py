"""What Trellis sends Slack keeps to Slack's documented Block Kit limits on real data, through
the real Bolt app and the sandbox, which refuses what Slack refuses (an option's label over
75 characters, a button's over 75, a select with more than 100 options…)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from app.sandbox.view_methods import view_spec
from app.trust.stories import Story, StoryDocument
from handlers.views import forms
from handlers.views.blocks import SECTION_LIMIT, context, escape, link, section
from handlers.views.story import story_view
from tests.harness import running_trellis
from tests.workflow_helpers import card_in, copy_demo, modal_for

LIAM = "liam.carter@northwind.example"  # sales rep
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
