"""The assistant view in the browser, with the real Trellis behind it: the split pane with
suggested prompts, the status line while the question runs, the answer growing in place,
then its sources and Slack's feedback buttons."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import ModelAnswer, Turn
from app.domain import Passage
from tests.browser_helpers import (
    assert_no_page_errors,
    chromium,
    open_channel,
    open_sandbox,
    screenshot,
    thread_panel,
)
from tests.harness import running_trellis

pytestmark = pytest.mark.browser

SAM = "sam.ortiz@northwind.example"  # support agent


class HeldAnswerer:
    """The extractive answerer, held until the test lets it answer."""

    name = "extractive"

    def __init__(self) -> None:
        self.inner = ExtractiveAnswerer()
        self.release = asyncio.Event()

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        await self.release.wait()
        return await self.inner.answer(
            question=question,
            passages=passages,
            history=history,
            instructions=instructions,
            model=model,
        )


async def test_the_assistant_pane_shows_prompts_status_a_growing_answer_and_feedback(tmp_path):
    held = HeldAnswerer()
    async with (
        running_trellis(tmp_path, answerer_for=lambda _: held) as trellis,
        chromium() as browser,
    ):
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        await open_channel(page, "support")
        await page.click(".assistant-open")
        pane = thread_panel(page)
        prompts = pane.locator(".assistant-prompt")
        await prompts.first.wait_for()
        assert "thread-assistant" in (await page.get_attribute("#thread", "class") or "")
        assert "what would you like to know" in await pane.inner_text()

        # A slow stop keeps the started stream on screen for a moment.
        trellis.sandbox.rate_limit("chat.stopStream", times=1, retry_after=1)
        await page.locator("#thread-text").fill(
            "What apology code can I add to a delayed shipment reply?"
        )
        await page.locator("#thread-text").press("Enter")
        status = pane.locator(".assistant-status")
        await status.wait_for()
        assert "looking through the documents" in (await status.inner_text()).lower()
        await screenshot(page, "assistant-status")

        held.release.set()
        growing = pane.locator(".msg-streaming")
        await growing.wait_for()
        await screenshot(page, "assistant-streaming")
        await status.wait_for(state="detached")

        finished = pane.locator(".msg-app").filter(has=page.locator(".msg-stream")).last
        await finished.locator("text=Confidence:").wait_for()
        assert await finished.locator(".msg-streaming").count() == 0
        assert "[1]" in await finished.inner_text()
        assert await finished.locator("[data-element=feedback_buttons], .bk-feedback").count() >= 1
        title = await page.locator("#thread .thread-title").inner_text()
        assert title.startswith("What apology code")
        await screenshot(page, "assistant-answer")
        assert_no_page_errors(page)


async def test_a_mention_shows_the_status_line_in_its_thread_then_the_streamed_answer(tmp_path):
    held = HeldAnswerer()
    streamed = {"stream_answers": "always"}  # by default only a streaming model's answers
    async with (
        running_trellis(tmp_path, answerer_for=lambda _: held, settings=streamed) as trellis,
        chromium() as browser,
    ):
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(SAM))
        await open_channel(page, "support")
        await page.locator("#composer-text").fill(
            "@trellis What apology code can I add to a delayed shipment reply?"
        )
        await page.locator("#composer-text").press("Enter")
        pane = thread_panel(page)
        status = pane.locator(".assistant-status")
        await status.wait_for()
        assert "looking through the documents" in (await status.inner_text()).lower()
        assert "thread-assistant" not in (await page.get_attribute("#thread", "class") or "")
        await screenshot(page, "thread-status")

        held.release.set()
        finished = pane.locator(".msg-app").filter(has=page.locator(".msg-stream")).last
        await finished.locator("text=Confidence:").wait_for()
        await status.wait_for(state="detached")
        assert await finished.locator(".msg-streaming").count() == 0
        assert "[1]" in await finished.inner_text()
        assert_no_page_errors(page)
