"""A fresh `trellis run` on the sandbox carries an approved discount into the demo's
downstream systems, and the browser's Systems view shows what each received."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.sandbox.company import user_id_for
from tests.browser_helpers import (
    ROOT,
    act_as,
    assert_no_page_errors,
    chromium,
    message,
    open_channel,
    open_messages_with_trellis,
    open_page,
    post,
    screenshot,
)
from tests.run_helpers import trellis_run

pytestmark = pytest.mark.browser

LIAM = user_id_for("liam.carter@northwind.example")
SOFIA = user_id_for("sofia.marino@northwind.example")
SAM = user_id_for("sam.ortiz@northwind.example")
ROSA = user_id_for("rosa.delgado@northwind.example")
DELIVERED_WITHIN_MS = 15_000


@contextmanager
def sandbox_page(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """`python3 -m app run` with no Slack tokens: the page's address and what it printed."""
    with trellis_run(tmp_path, until="in your browser") as run:
        opened = re.search(r"Open (http://\S+) in your browser", run.printed)
        assert opened, run.printed
        yield opened.group(1), run.output
    assert run.returncode == 0, run.printed + run.rest


async def test_an_approved_discount_reaches_the_crm_and_the_webhook_in_the_browser(tmp_path):
    with sandbox_page(tmp_path) as (url, output):
        printed = "".join(output)
        assert "will fail" not in printed and "is not set" not in printed, printed
        assert "Downstream stand-ins" in printed
        async with chromium() as browser:
            page = await open_page(browser, url, as_user=LIAM)
            await open_channel(page, "sales")
            await post(
                page,
                '/trellis discount_request customer="Alpine Co." percent=18 '
                'reason="2-year renewal"',
            )
            # Typed in #sales, told to Liam alone: the status is in his messages with Trellis.
            await open_messages_with_trellis(page)
            await message(page, "Discount request from").wait_for()

            await act_as(page, SOFIA)
            await open_channel(page, "deal-approvals")
            approve = page.locator("#messages .msg").get_by_role("button", name="Approve")
            await approve.wait_for()
            card = page.locator("#messages .msg").filter(
                has=page.get_by_role("button", name="Approve")
            )
            card_ts = await card.get_attribute("data-ts")
            await approve.click()

            updated = page.locator(f'#messages .msg[data-ts="{card_ts}"]')
            await updated.filter(has_text="Done.").wait_for(timeout=DELIVERED_WITHIN_MS)
            shown = await updated.inner_text()
            assert "Approved by Sofia Marino" in shown
            assert "Added row 1 to discounts" in shown and "Sent to 127.0.0.1" in shown
            assert "failed" not in shown and "not configured" not in shown
            assert "✅" in shown and ":white_check_mark:" not in shown  # emoji, as in Slack
            await screenshot(page, "discount-delivered")

            await page.click('.nav-item[data-system="sql"]')
            row = page.locator('.sys-record[data-system="sql"]')
            await row.wait_for()
            assert await row.count() == 1
            draft = await row.get_attribute("data-draft")
            assert draft
            fields = await row.locator(".sys-fields").inner_text()
            assert "Alpine Co." in fields and re.search(r"percent\s+18\b", fields)
            assert f"trellis:{draft}:0" in fields
            link = row.locator(".sys-approval")
            assert await link.get_attribute("data-ts") == card_ts
            assert "Sofia Marino" in await row.locator(".sys-cause").inner_text()

            await page.click('.nav-item[data-system="webhook"]')
            hook = page.locator(f'.sys-record[data-system="webhook"][data-draft="{draft}"]')
            await hook.wait_for()
            assert await hook.get_attribute("data-verified") == "yes"
            delivery = await hook.inner_text()
            assert "signature verified" in delivery
            assert f"trellis:{draft}:1" in delivery  # its Idempotency-Key
            assert (
                f'"draft_id": "{draft}"' in delivery
                and '"workflow": "discount_request"' in delivery
            )
            assert await hook.locator(".sys-approval").get_attribute("data-ts") == card_ts
            await screenshot(
                page,
                "systems-webhook",
                for_readme=True,
                readme=ROOT / "docs" / "sandbox-systems.png",
            )

            await page.click('.nav-item[data-system="sql"]')
            await link.click()
            await page.wait_for_selector('.header-name:text-is("deal-approvals")')
            await page.locator(f'#messages .msg.msg-flash[data-ts="{card_ts}"]').wait_for()
            assert_no_page_errors(page)


async def test_an_approved_customer_reply_shows_its_email_and_ticket_comment(tmp_path):
    with sandbox_page(tmp_path) as (url, _):
        async with chromium() as browser:
            page = await open_page(browser, url, as_user=SAM)
            await open_channel(page, "support")
            await post(
                page,
                '/trellis customer_reply customer="Alpine Co." contact=purchasing@alpine-co.example '
                'ticket=SUP-4188 question="When does our contract renew?"',
            )
            await open_messages_with_trellis(page)
            await message(page, "Customer reply from").wait_for()

            await act_as(page, ROSA)
            await open_channel(page, "support-approvals")
            approve = page.locator("#messages .msg").get_by_role("button", name="Approve")
            await approve.wait_for()
            await approve.click()
            await (
                page.locator("#messages .msg")
                .filter(has_text="Done.")
                .wait_for(timeout=DELIVERED_WITHIN_MS)
            )

            await page.click('.nav-item[data-system="email"]')
            mail = page.locator('.sys-record[data-system="email"]')
            await mail.wait_for()
            draft = await mail.get_attribute("data-draft")
            headers = await mail.locator(".sys-fields").inner_text()
            assert "purchasing@alpine-co.example" in headers
            assert "Re: your request SUP-4188" in headers
            assert f"trellis:{draft}:0" in headers and "Message-ID" in headers
            assert "Rosa Delgado" in await mail.locator(".sys-cause").inner_text()
            await screenshot(page, "systems-email")

            await page.click('.nav-item[data-system="ticketing"]')
            comment = page.locator(f'.sys-record[data-system="ticketing"][data-draft="{draft}"]')
            await comment.wait_for()
            assert "Comment on SUP-4188" in await comment.inner_text()
            assert "Rosa Delgado" in await comment.locator(".sys-cause").inner_text()
            assert_no_page_errors(page)
