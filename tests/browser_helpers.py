"""Driving the sandbox's browser view with Debian's Chromium through Playwright.

    async with chromium() as browser:
        page = await open_sandbox(browser, server, as_user="U01ANA")
        await post(page, "@trellis how many PTO days?")

Nothing is downloaded: Playwright drives /usr/bin/chromium (`apt-get install chromium`,
which .ci/run does). Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import re
import shutil
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright

from app.sandbox import SandboxServer

CHROMIUM = Path(os.environ.get("TRELLIS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
README_SCREENSHOT = ROOT / "docs" / "sandbox.png"
VIEWPORT = {"width": 1360, "height": 820}
WAIT_MS = 15_000
_page_errors: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's "
            "package (`apt-get update && apt-get install -y chromium`; .ci/run installs it).",
            pytrace=False,
        )


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def open_sandbox(browser: Browser, server: SandboxServer, *, as_user: str) -> Page:
    """A new page on the sandbox as `as_user`, once its live updates are connected."""
    return await open_page(browser, server.url, as_user=as_user)


async def open_page(browser: Browser, url: str, *, as_user: str) -> Page:
    """A new page on the sandbox served at `url` (e.g. by `trellis run`) as `as_user`."""
    page = await browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(WAIT_MS)
    errors = _page_errors.setdefault(page, [])
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}?as={as_user}")
    await page.wait_for_selector("body[data-live=yes]")
    await page.wait_for_selector(f"body[data-me={as_user}]")
    return page


async def act_as(page: Page, user_id: str) -> None:
    """Pick another person in the "Acting as" switcher."""
    await page.select_option("#as-user", user_id)
    await page.wait_for_selector(f"body[data-me={user_id}][data-live=yes]")


async def open_channel(page: Page, name: str) -> None:
    await page.click(f'.nav-item[data-channel="{name}"]')
    await page.wait_for_selector(f'.header-name:text-is("{name}")')


async def open_messages_with_trellis(page: Page) -> None:
    """The acting person's direct messages with Trellis, where a request they started with
    /trellis hears back."""
    await page.click('.nav-item[data-channel="app"]')
    await page.get_by_role("tab", name="Messages").click()


async def post(page: Page, text: str, *, in_thread: bool = False) -> None:
    box = "#thread-text" if in_thread else "#composer-text"
    await page.fill(box, text)
    await page.press(box, "Enter")


def thread_panel(page: Page) -> Locator:
    return page.locator("#thread-messages")


def app_replies(page: Page) -> Locator:
    """The app's finished messages in the open thread (not its thinking indicator)."""
    return thread_panel(page).locator(".msg-app").filter(has_not_text="Looking through")


def message(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.locator("#messages .msg").filter(has_text=text)


async def screenshot(
    page: Page, name: str, *, for_readme: bool = False, readme: Path = README_SCREENSHOT
) -> Path:
    """Save tests/artifacts/NAME.png; with TRELLIS_UPDATE_SCREENSHOT=1 also `readme`
    (docs/sandbox.png unless told)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    if for_readme and os.environ.get("TRELLIS_UPDATE_SCREENSHOT") == "1":
        readme.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, readme)
    return path


def assert_no_page_errors(page: Page) -> None:
    errors = _page_errors.get(page, [])
    assert errors == [], f"the page raised: {errors}"
