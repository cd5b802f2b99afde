"""The sandbox looks like Slack where it matters: emoji shortcodes render as emoji from the
`emoji` package's names, and a first-run panel suggests three things to try for the person
you act as, until it is dismissed."""

from __future__ import annotations

import json

import aiohttp
import emoji
import pytest

from app.sandbox.emoji_names import emoji_table
from tests.browser_helpers import (
    act_as,
    assert_no_page_errors,
    chromium,
    open_channel,
    open_sandbox,
    screenshot,
)
from tests.harness import running_trellis
from tests.sandbox_helpers import ANA, BOT, GENERAL, running_sandbox

pytestmark = pytest.mark.browser

LIAM = "liam.carter@northwind.example"
SOFIA = "sofia.marino@northwind.example"
DISCOUNT = '/trellis discount_request customer="Alpine Co." percent=18 reason="2-year renewal"'


async def test_the_emoji_table_is_the_emoji_packages_names():
    async with (
        running_sandbox() as server,
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}ui/emoji") as response,
    ):
        table = json.loads(await response.text())
    assert table == emoji_table()
    assert table["rotating_light"] == "🚨" and table["white_check_mark"] == "✅"
    assert table["+1"] == table["thumbsup"] == "👍"
    names = {n.strip(":") for data in emoji.EMOJI_DATA.values() for n in data.get("alias", [])}
    assert names <= set(table)


async def test_shortcodes_in_messages_render_as_emoji():
    async with running_sandbox() as server, chromium() as browser:
        server.workspace.post(
            GENERAL,
            user=BOT,
            text=":rotating_light: *Approved* by Sofia, but an action failed :not_an_emoji:",
        )
        page = await open_sandbox(browser, server, as_user=ANA)
        await open_channel(page, "general")
        alarm = page.locator('#messages .emoji[title=":rotating_light:"]')
        await alarm.wait_for()
        assert await alarm.inner_text() == "🚨"
        text = await page.locator("#messages .msg").last.inner_text()
        assert ":rotating_light:" not in text and ":not_an_emoji:" in text
        assert_no_page_errors(page)


async def test_first_run_hints_follow_the_person_and_can_be_dismissed(tmp_path):
    async with running_trellis(tmp_path) as trellis, chromium() as browser:
        page = await open_sandbox(browser, trellis.sandbox, as_user=trellis.user(LIAM))
        hints = page.locator("#hints .hint")
        await hints.first.wait_for()
        assert await hints.count() == 3
        assert "Ask for a discount a manager must approve" in await hints.first.inner_text()
        await screenshot(page, "first-run-hints")
        await hints.first.get_by_role("button", name="Try it").click()
        await page.wait_for_selector('.header-name:text-is("sales")')
        assert await page.input_value("#composer-text") == DISCOUNT

        await act_as(page, trellis.user(SOFIA))
        assert "Approve Liam's discount" in await hints.first.inner_text()
        await page.click("#hints .hints-close")
        await page.locator("#hints").wait_for(state="hidden")
        await page.reload()
        await page.wait_for_selector("body[data-live=yes]")
        assert await page.locator("#hints").is_hidden()

        await act_as(page, trellis.user(LIAM))  # dismissed for Sofia only
        await hints.first.wait_for()
        await act_as(page, trellis.user(SOFIA))
        await page.click('.nav-item[data-hints="show"]')
        await hints.first.wait_for()
        assert_no_page_errors(page)
