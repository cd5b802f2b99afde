"""Block Kit in the sandbox's page, with a small real Bolt app on the other end: buttons send
block_actions, modals submit view_submission (errors shown under their input), the App Home
renders views.publish, and mrkdwn renders like Slack without ever becoming markup."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.browser_helpers import (
    assert_no_page_errors,
    chromium,
    open_channel,
    open_sandbox,
    screenshot,
)
from tests.sandbox_helpers import ANA, BO, GENERAL, running_bolt_app, running_sandbox

pytestmark = pytest.mark.browser

SHORTCUT = {"callback_id": "ask_modal", "name": "Ask in a modal"}
CARD = [
    {"type": "header", "text": {"type": "plain_text", "text": "Discount request"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Initech* asks for _15%_ off ~list~ price"},
        "fields": [
            {"type": "mrkdwn", "text": "*Requester*\n<@U02BO>"},
            {"type": "mrkdwn", "text": "*Channel*\n<#C0GENERAL>"},
        ],
        "accessory": {
            "type": "button",
            "action_id": "details",
            "text": {"type": "plain_text", "text": "Details"},
            "url": "https://crm.acme.example/deals/1",
        },
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Policy: `discounts-2026`"}]},
    {"type": "divider"},
    {"type": "image", "image_url": "https://cdn.acme.example/chart.png", "alt_text": "deal chart"},
    {"type": "file", "external_id": "deal-sheet", "source": "remote"},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "style": "primary",
                "value": "draft-1",
                "text": {"type": "plain_text", "text": "Approve"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Approve 15%?"},
                    "text": {"type": "mrkdwn", "text": "The CRM is updated at once."},
                    "confirm": {"type": "plain_text", "text": "Yes, approve"},
                    "deny": {"type": "plain_text", "text": "Not yet"},
                },
            },
            {
                "type": "button",
                "action_id": "reject",
                "style": "danger",
                "value": "draft-1",
                "text": {"type": "plain_text", "text": "Reject"},
            },
        ],
    },
]
MODAL = {
    "type": "modal",
    "callback_id": "ask_modal",
    "title": {"type": "plain_text", "text": "Ask the team"},
    "submit": {"type": "plain_text", "text": "Send"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {
            "type": "input",
            "block_id": "question",
            "label": {"type": "plain_text", "text": "Question"},
            "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
        },
        {
            "type": "input",
            "block_id": "team",
            "label": {"type": "plain_text", "text": "Team"},
            "element": {
                "type": "static_select",
                "action_id": "pick",
                "options": [
                    {"text": {"type": "plain_text", "text": "Sales"}, "value": "sales"},
                    {"text": {"type": "plain_text", "text": "Support"}, "value": "support"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "percent",
            "label": {"type": "plain_text", "text": "Discount %"},
            "element": {"type": "number_input", "action_id": "value", "is_decimal_allowed": False},
        },
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        },
    ],
}


def register(app) -> None:
    @app.action("approve")
    async def approve(ack, body, client):
        await ack()
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=body["message"]["ts"],
            text="Approved",
            blocks=[
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f":white_check_mark: Approved by <@{body['user']['id']}>",
                    },
                }
            ],
        )

    @app.action("reject")
    async def reject(ack):
        await ack()

    @app.action("details")
    async def details(ack):
        await ack()

    @app.shortcut("ask_modal")
    async def open_modal(ack, body, client):
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.view("ask_modal")
    async def submitted(ack, view, body, client):
        values = view["state"]["values"]
        percent = int(values["percent"]["value"]["value"])
        if percent > 100:
            await ack(response_action="errors", errors={"percent": "A discount is at most 100%."})
            return
        await ack()
        team = values["team"]["pick"]["selected_option"]["value"]
        question = values["question"]["text"]["value"]
        await client.chat_postMessage(channel=GENERAL, text=f"{question} ({team}, {percent}%)")

    @app.event("app_home_opened")
    async def home(event, client):
        await client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "Your Trellis"}},
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": "refresh",
                                "text": {"type": "plain_text", "text": "Refresh"},
                            }
                        ],
                    },
                ],
            },
        )

    @app.action("refresh")
    async def refresh(ack, body, client):
        await ack()
        await client.views_publish(
            user_id=body["user"]["id"],
            view={
                "type": "home",
                "blocks": [
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": f"Refreshed for <@{body['user']['id']}>",
                        },
                    }
                ],
            },
        )


@pytest.fixture
async def server() -> AsyncIterator:
    async with (
        running_sandbox(message_shortcuts=[SHORTCUT]) as server,
        running_bolt_app(server, register),
    ):
        yield server


async def _card(server) -> str:
    from tests.sandbox_helpers import sandbox_client

    posted = await sandbox_client(server).chat_postMessage(
        channel=GENERAL, text="Discount request", blocks=CARD
    )
    return posted["ts"]


async def test_blocks_render_and_a_confirmed_click_sends_block_actions(server):
    ts = await _card(server)
    async with chromium() as browser:
        page = await open_sandbox(browser, server, as_user=ANA)
        await open_channel(page, "general")
        card = page.locator(f'.msg[data-ts="{ts}"]')
        await card.wait_for()
        assert await card.locator(".bk-header").inner_text() == "Discount request"
        assert await card.locator(".bk-section strong").first.inner_text() == "Initech"
        assert await card.locator(".bk-section em").inner_text() == "15%"
        assert await card.locator(".bk-section del").inner_text() == "list"
        assert await card.locator(".bk-fields .mention").first.inner_text() == "@Bo Chen"
        assert await card.locator(".bk-fields .mention-channel").inner_text() == "#general"
        assert await card.locator(".bk-context code").inner_text() == "discounts-2026"
        assert await card.locator("hr.bk-divider").count() == 1
        image = card.locator(".bk-image a")
        assert await image.get_attribute("href") == "https://cdn.acme.example/chart.png"
        assert "deal chart" in await image.inner_text()
        assert await card.locator("img").count() == 0
        unsupported = card.locator(".bk-unsupported")
        assert "Unsupported block" in await unsupported.inner_text()
        assert "file" in await unsupported.inner_text()
        assert "bk-primary" in (
            await card.get_by_role("button", name="Approve").get_attribute("class") or ""
        )
        assert "bk-danger" in (
            await card.get_by_role("button", name="Reject").get_attribute("class") or ""
        )

        await card.get_by_role("button", name="Approve").click()
        dialog = page.locator(".confirm-dialog")
        assert "Approve 15%?" in await dialog.inner_text()
        await dialog.get_by_role("button", name="Not yet").click()
        assert not [d for d in server.gateway.deliveries if d.type == "interactive"]

        await card.get_by_role("button", name="Approve").click()
        await page.locator(".confirm-dialog").get_by_role("button", name="Yes, approve").click()
        await card.filter(has_text="Approved by @Ana Souza").wait_for()
        await screenshot(page, "button-updated-card")
        clicks = [d.payload for d in server.gateway.deliveries if d.type == "interactive"]
        assert [c["type"] for c in clicks] == ["block_actions"]
        assert clicks[0]["actions"][0]["action_id"] == "approve"
        assert clicks[0]["actions"][0]["value"] == "draft-1"
        assert clicks[0]["user"]["id"] == ANA
        assert_no_page_errors(page)


async def test_a_modal_opens_shows_errors_under_its_input_and_submits(server):
    ts = await _card(server)
    async with chromium() as browser:
        page = await open_sandbox(browser, server, as_user=BO)
        await open_channel(page, "general")
        card = page.locator(f'.msg[data-ts="{ts}"]')
        await card.hover()
        await card.get_by_label("More actions").click()
        await page.click('.menu-item[data-callback-id="ask_modal"]')
        modal = page.get_by_role("dialog", name="Ask the team")
        await modal.wait_for()

        await modal.get_by_role("button", name="Send").click()
        assert await modal.locator(".bk-error").count() == 3  # the three required inputs
        assert not [
            d for d in server.gateway.deliveries if d.payload.get("type") == "view_submission"
        ]

        await modal.get_by_label("Question").fill("Can Initech get a discount?")
        await modal.get_by_label("Team").select_option("sales")
        await modal.get_by_label("Discount %").fill("150")
        await modal.get_by_role("button", name="Send").click()
        error = modal.locator('[data-block-id="percent"] .bk-error')
        await error.wait_for()
        assert await error.inner_text() == "A discount is at most 100%."
        assert await modal.locator(".bk-error").count() == 1
        await screenshot(page, "modal-error")

        await modal.get_by_label("Discount %").fill("15")
        await modal.get_by_role("button", name="Send").click()
        await modal.wait_for(state="detached")
        await (
            page.locator("#messages .msg")
            .filter(has_text="Can Initech get a discount? (sales, 15%)")
            .wait_for()
        )
        submissions = [
            d.payload
            for d in server.gateway.deliveries
            if d.payload.get("type") == "view_submission"
        ]
        assert len(submissions) == 2
        assert (
            submissions[-1]["view"]["state"]["values"]["team"]["pick"]["selected_option"]["value"]
            == "sales"
        )
        assert server.open_views(BO) == []
        assert_no_page_errors(page)


async def test_app_home_renders_what_the_app_publishes(server):
    async with chromium() as browser:
        page = await open_sandbox(browser, server, as_user=ANA)
        await page.click('.nav-item[data-channel="app"]')
        home = page.locator("#home")
        await home.locator(".bk-header", has_text="Your Trellis").wait_for()
        opened = [d.payload["event"] for d in server.gateway.deliveries if d.type == "events_api"]
        assert [e["type"] for e in opened] == ["app_home_opened"]
        await home.get_by_role("button", name="Refresh").click()
        await home.get_by_text("Refreshed for @Ana Souza").wait_for()
        assert_no_page_errors(page)


MRKDWN_CASES = {
    "*bold* _italic_ ~strike~ `x < y`": '<strong class="mk-strong">bold</strong> <em class="mk-em">italic</em> <del class="mk-del">strike</del> <code class="mk-code">x &lt; y</code>',
    "snake_case_name and 2*3*4": "snake_case_name and 2*3*4",
    "&lt;b&gt; &amp;amp;": "&lt;b&gt; &amp;amp;",
    "<javascript:alert(1)|click me>": '<span class="mk-unlinked">click me</span>',
    "<!here> and <!date^1700000000^{date}|Nov 14>": '<span class="mention mention-broadcast">@here</span> and <span class="mk-date">Nov 14</span>',
    "> quoted\nplain": '<blockquote class="mk-quote">quoted</blockquote>plain',
    "```<b>code</b>```": '<pre class="mk-pre">&lt;b&gt;code&lt;/b&gt;</pre>',
    ":white_check_mark: done": '<span class="emoji" title=":white_check_mark:">✅</span> done',
    ":rotating_light: *Approved* :constructor:": '<span class="emoji" title=":rotating_light:">🚨</span> <strong class="mk-strong">Approved</strong> :constructor:',
}


async def test_mrkdwn_renders_like_slack_and_never_as_markup(server):
    async with chromium() as browser:
        page = await open_sandbox(browser, server, as_user=ANA)
        rendered = await page.evaluate(
            """async (cases) => {
                const { renderMrkdwn } = await import("/static/mrkdwn.js");
                const out = {};
                for (const text of cases) {
                    const box = document.createElement("div");
                    box.append(renderMrkdwn(text, {}));
                    out[text] = box.innerHTML;
                }
                return out;
            }""",
            list(MRKDWN_CASES),
        )
        assert rendered == MRKDWN_CASES
        link = await page.evaluate(
            """async () => {
                const { renderMrkdwn } = await import("/static/mrkdwn.js");
                const box = document.createElement("div");
                box.append(renderMrkdwn("<https://docs.acme.example/a?b=1&amp;c=2|Docs &amp; more>", {}));
                const a = box.querySelector("a");
                return [a.href, a.textContent, a.rel, a.target];
            }"""
        )
        assert link == [
            "https://docs.acme.example/a?b=1&c=2",
            "Docs & more",
            "noopener noreferrer",
            "_blank",
        ]
