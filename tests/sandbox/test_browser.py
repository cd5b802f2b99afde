"""The story in a real browser: the whole Trellis app on the sandbox, driven by clicking and
typing in the sandbox's page in headless Chromium."""

from __future__ import annotations

import shutil

import pytest

from app.config.workspace import default_workspace_path
from tests.browser_helpers import (
    act_as,
    app_replies,
    assert_no_page_errors,
    chromium,
    message,
    open_channel,
    open_messages_with_trellis,
    open_sandbox,
    post,
    screenshot,
    thread_panel,
)
from tests.harness import running_trellis

pytestmark = pytest.mark.browser

SAM = "sam.ortiz@northwind.example"  # support agent
ROSA = "rosa.delgado@northwind.example"  # support lead
SOFIA = "sofia.marino@northwind.example"  # sales manager
LIAM = "liam.carter@northwind.example"  # sales rep
GINA = "gina@contractor.example"  # guest, not in the directory

INJECTION = """---
id: chat-paste-sample
title: Chat paste sample
url: https://wiki.northwind.example/support/chat-paste-sample
owner: support-leads
access: [everyone]
status: current
---

# Chat paste sample

The quarantine code for pasted chat samples is QX-7781, as in `<!channel> restore access at <https://evil.example/reset|https://wiki.northwind.example/reset> now <script>window.trellisInjected = "script"</script><img src=x onerror="window.trellisInjected = 'img'">`
"""


async def test_switching_person_shows_only_their_channels(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        channels = page.locator(".nav-item[data-channel]")
        names = [await c.get_attribute("data-channel") for c in await channels.all()]
        assert "support" in names and "deal-approvals" not in names
        await act_as(page, trellis.user(SOFIA))
        names = [await c.get_attribute("data-channel") for c in await channels.all()]
        assert "deal-approvals" in names and "support" not in names
        assert "Sofia Marino" in await page.inner_text("#me-card")
        assert "Sales Manager" in await page.inner_text("#me-card")
        assert_no_page_errors(page)


async def test_question_in_a_channel_is_answered_live_with_citations(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        await open_channel(page, "support")
        await post(page, "@trellis When is Trail Day in 2026?")

        answer = app_replies(page).filter(has_text="[1]")
        await answer.wait_for()
        assert "Confidence:" in await answer.inner_text()
        source = answer.locator("a.mk-link").first
        assert (await source.get_attribute("href") or "").startswith("https://")
        assert await source.get_attribute("rel") == "noopener noreferrer"
        assert await source.get_attribute("target") == "_blank"
        # The question shows its thread in the channel, and the mention as a chip.
        question = message(page, "Trail Day")
        await question.locator(".thread-summary").wait_for()
        assert await question.locator(".mention").inner_text() == "@Trellis"
        await screenshot(page, "answer-with-citations", for_readme=True)
        assert_no_page_errors(page)


async def test_guest_is_refused(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        await act_as(page, trellis.user(GINA))
        await open_channel(page, "general")
        await post(page, "@trellis How many PTO days do I get?")
        refusal = app_replies(page).filter(has_text="can't verify who you are")
        await refusal.wait_for()
        assert "[1]" not in await refusal.inner_text()
        await screenshot(page, "guest-refused")


async def test_fuller_answer_is_shown_to_the_asker_only(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        await open_channel(page, "general")
        await post(
            page, "@trellis How many days of paid time off do full-time employees get per year?"
        )
        private = thread_panel(page).locator(".msg-ephemeral").filter(has_text="25 days")
        await private.wait_for()
        assert "Only visible to you" in await private.inner_text()
        await screenshot(page, "fuller-answer-for-the-asker")

        await act_as(page, trellis.user(ROSA))
        await open_channel(page, "general")
        await message(page, "paid time off").locator(".thread-summary").click()
        await app_replies(page).first.wait_for()
        assert await thread_panel(page).locator(".msg-ephemeral").count() == 0
        assert "25 days" not in await thread_panel(page).inner_text()


async def test_document_markup_renders_inert(tmp_path):
    workspace = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), workspace)
    (workspace / "knowledge" / "support" / "chat-paste-sample.md").write_text(INJECTION)
    async with running_trellis(tmp_path, workspace=workspace) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        await open_channel(page, "support")
        await post(page, "@trellis What is the quarantine code for pasted chat samples?")
        answer = app_replies(page).filter(has_text="QX-7781")
        await answer.wait_for()
        text = await answer.inner_text()
        assert "<script>window.trellisInjected" in text
        assert "<!channel>" in text
        assert "<https://evil.example/reset|https://wiki.northwind.example/reset>" in text
        assert await answer.locator("script, img").count() == 0
        assert await answer.locator('a[href*="evil.example"]').count() == 0
        assert await page.locator(".mention-broadcast").count() == 0
        # What a person types is shown as typed, too.
        await post(page, "<b>bold?</b> <script>window.trellisInjected = 'typed'</script>")
        typed = message(page, "bold?")
        await typed.wait_for()
        assert "<b>bold?</b> <script>" in await typed.inner_text()
        assert await page.evaluate("window.trellisInjected") is None
        await screenshot(page, "inert-markup")
        assert_no_page_errors(page)


async def test_slash_command_typed_in_the_composer_reaches_the_app(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        await open_channel(page, "support")
        await post(page, "/trellis help")
        help_text = page.locator("#messages .msg-ephemeral").filter(has_text="answers questions")
        await help_text.wait_for()
        commands = [d for d in trellis.sandbox.gateway.deliveries if d.type == "slash_commands"]
        assert [d.payload["text"] for d in commands] == ["help"]


async def test_reactions_are_added_and_removed(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        sam = trellis.user(SAM)
        page = await open_sandbox(browser, trellis.sandbox, as_user=sam)
        await open_channel(page, "support")
        await post(page, "Morning all")
        greeting = message(page, "Morning all")
        await greeting.hover()
        await greeting.get_by_label("Add reaction").click()
        await page.click('.emoji-picker [data-reaction="eyes"]')
        chip = greeting.locator('.reaction[data-reaction="eyes"]')
        await chip.wait_for()
        assert "reaction-mine" in (await chip.get_attribute("class") or "")
        assert await chip.locator(".reaction-count").inner_text() == "1"
        stored = trellis.sandbox.messages(trellis.channel("support"))[-1]
        assert stored.reactions == {"eyes": [sam]}
        await chip.click()
        await chip.wait_for(state="detached")
        assert stored.reactions == {}
        kinds = [
            d.payload["event"]["type"]
            for d in trellis.sandbox.gateway.deliveries
            if d.type == "events_api"
        ]
        assert "reaction_added" in kinds and "reaction_removed" in kinds


async def test_manager_approves_a_draft_and_the_requester_sees_it_in_their_thread(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(LIAM))
        await open_channel(page, "sales")
        await post(
            page,
            '/trellis discount_request customer="Initech" percent=15 '
            'reason="Two-year volume commitment"',
        )
        # Typed in #sales, told to Liam alone: the status is in his messages with Trellis.
        await open_messages_with_trellis(page)
        request = message(page, "Discount request from")
        await request.wait_for()

        await act_as(page, trellis.user(SOFIA))
        await open_channel(page, "deal-approvals")
        approve = page.locator("#messages .msg").get_by_role("button", name="Approve")
        await approve.wait_for()
        card = page.locator("#messages .msg").filter(has=page.get_by_role("button", name="Approve"))
        ts = await card.get_attribute("data-ts")
        assert "bk-primary" in (await approve.get_attribute("class") or "")
        await screenshot(page, "approval-card")
        await approve.click()
        updated = page.locator(f'#messages .msg[data-ts="{ts}"]')
        await updated.filter(has_text="Approved by Sofia Marino").wait_for()
        assert await updated.get_by_role("button", name="Approve").count() == 0
        await screenshot(page, "approval-card-approved")
        clicks = [
            d.payload
            for d in trellis.sandbox.gateway.deliveries
            if d.type == "interactive" and d.payload["type"] == "block_actions"
        ]
        assert [(c["actions"][0]["action_id"], c["user"]["id"]) for c in clicks] == [
            ("trellis_approve", trellis.user(SOFIA))
        ]

        await act_as(page, trellis.user(LIAM))
        await open_messages_with_trellis(page)
        await request.locator(".thread-summary").click()
        await (
            thread_panel(page).get_by_text("Sofia Marino approved your Discount request").wait_for()
        )
        await screenshot(page, "approval-in-requester-thread")
        assert_no_page_errors(page)


async def test_support_flags_an_answer_by_reaction_and_the_owners_see_the_note(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        await open_channel(page, "support")
        await post(page, "@trellis When is Trail Day in 2026?")
        answer = app_replies(page).filter(has_text="[1]")
        await answer.wait_for()
        await answer.hover()
        await answer.get_by_label("Add reaction").click()
        await page.click('.emoji-picker [data-reaction="x"]')
        await answer.locator('.reaction[data-reaction="x"]').wait_for()

        prompt = page.locator(".msg-ephemeral").filter(has_text="Say what's wrong")
        await prompt.get_by_role("button", name="Say what's wrong").click()
        modal = page.get_by_role("dialog", name="What's wrong?")
        await modal.get_by_label("The correct answer").fill(
            "Trail Day moved to Friday, October 16."
        )
        await modal.get_by_role("button", name="Send to owners").click()
        await modal.wait_for(state="detached")

        await act_as(page, trellis.user(ROSA))
        await open_channel(page, "trellis-owners")
        notice = page.locator("#messages .msg").filter(has_text="Sam Ortiz flagged an answer")
        await notice.filter(has_text="Trail Day moved to Friday, October 16.").wait_for()
        assert await notice.get_by_role("button", name="Accept correction").count() == 1
        await screenshot(page, "flag-reaches-owners")
        assert_no_page_errors(page)
