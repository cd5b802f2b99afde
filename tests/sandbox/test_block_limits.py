"""The sandbox refuses what Slack refuses inside a block, not only a block's own fields: a
button, a select, an option or a text object past Block Kit's documented limits, with
Slack's error (`invalid_blocks` for a message, `invalid_arguments` for a view) and a JSON
pointer to the field. Called with slack_sdk's real AsyncWebClient over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.sandbox import SandboxServer
from tests.sandbox_helpers import ANA, GENERAL, running_sandbox, sandbox_client


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def button(label: str = "Go", **fields) -> dict:
    return {"type": "button", "text": plain(label), "action_id": "go", "value": "v", **fields}


def menu(*options: dict, **fields) -> dict:
    return {
        "type": "static_select",
        "action_id": "pick",
        "placeholder": plain("Pick one"),
        "options": list(options),
        **fields,
    }


def option(label: str, value: str = "v") -> dict:
    return {"text": plain(label), "value": value}


def actions(*elements: dict) -> dict:
    return {"type": "actions", "elements": list(elements)}


FEEDBACK = {
    "type": "feedback_buttons",
    "action_id": "feedback",
    "positive_button": {"text": plain("Good"), "value": "good"},
    "negative_button": {"text": plain("Bad"), "value": "bad"},
}
REFUSED = [
    ([actions(button("x" * 76))], "/blocks/0/elements/0/text/text", "less than 76"),
    ([actions(button(value="v" * 2001))], "/blocks/0/elements/0/value", "less than 2001"),
    ([actions(button(action_id="a" * 256))], "/blocks/0/elements/0/action_id", "less than 256"),
    ([actions(button(""))], "/blocks/0/elements/0/text/text", "more than 0"),
    ([actions(menu(option("x" * 76)))], "/blocks/0/elements/0/options/0/text/text", "76"),
    ([actions(menu(option("Plan", "v" * 151)))], "/blocks/0/elements/0/options/0/value", "151"),
    (
        [actions(menu(*[option(str(i), str(i)) for i in range(101)]))],
        "/blocks/0/elements/0/options",
        "no more than 100",
    ),
    (
        [actions(menu(option("a"), placeholder=plain("p" * 151)))],
        "/blocks/0/elements/0/placeholder/text",
        "151",
    ),
    (
        [actions(menu(option("EMEA", "emea"), initial_option=option("AMER", "amer")))],
        "/blocks/0/elements/0/initial_option",
        "one of the provided options",
    ),
    ([{"type": "context_actions", "elements": [FEEDBACK] * 6}], "/blocks/0", "cannot exceed 5"),
    ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "/blocks/0/text/text", "0"),
    (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
        "/blocks/0/fields/0/text",
        "less than 2001",
    ),
    (
        [{"type": "header", "text": {"type": "mrkdwn", "text": "Hi"}}],
        "/blocks/0/text/type",
        "plain",
    ),
    (
        [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Sure?"},
                "accessory": button(
                    confirm={
                        "title": plain("t" * 101),
                        "text": plain("Really?"),
                        "confirm": plain("Yes"),
                        "deny": plain("No"),
                    }
                ),
            }
        ],
        "/blocks/0/accessory/confirm/title/text",
        "less than 101",
    ),
]


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with running_sandbox() as server:
        yield server


@pytest.fixture
def client(server: SandboxServer) -> AsyncWebClient:
    return sandbox_client(server)


@pytest.mark.parametrize(("blocks", "pointer", "words"), REFUSED)
async def test_a_message_past_a_limit_inside_a_block_is_refused_with_its_place(
    client, blocks, pointer, words
):
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=GENERAL, text="fallback", blocks=blocks)
    body = raised.value.response
    assert body["error"] == "invalid_blocks"
    assert any(f"[json-pointer:{pointer}]" in e and words in e for e in body["errors"]), body


async def test_the_same_limits_hold_in_a_modal_and_the_app_home(server, client):
    long_option = {"type": "input", "label": plain("Plan"), "element": menu(option("x" * 76))}
    modal = {"type": "modal", "title": plain("Start"), "submit": plain("Go"), "blocks": []}
    trigger = server.workspace.issue_trigger(ANA)
    with pytest.raises(SlackApiError) as raised:
        await client.views_open(trigger_id=trigger, view={**modal, "blocks": [long_option]})
    assert raised.value.response["error"] == "invalid_arguments"
    messages = raised.value.response["response_metadata"]["messages"]
    assert any("/view/blocks/0/element/options/0/text/text" in m for m in messages), messages

    home = {"type": "home", "blocks": [actions(button("x" * 76))]}
    with pytest.raises(SlackApiError) as raised:
        await client.views_publish(user_id=ANA, view=home)
    assert raised.value.response["error"] == "invalid_arguments"

    titled = {**modal, "title": {"type": "mrkdwn", "text": "Start"}, "blocks": [long_option]}
    with pytest.raises(SlackApiError) as raised:
        await client.views_open(trigger_id=server.workspace.issue_trigger(ANA), view=titled)
    assert any(
        "/view/title/type" in m for m in raised.value.response["response_metadata"]["messages"]
    )


async def test_blocks_within_every_limit_are_taken(client):
    blocks = [
        actions(button("x" * 75, value="v" * 2000), menu(option("y" * 75, "w" * 150))),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "f" * 2000}]
            + [{"type": "mrkdwn", "text": "g"}] * 9,
        },
        {"type": "header", "text": plain("h" * 150)},
    ]
    response = await client.chat_postMessage(channel=GENERAL, text="fallback", blocks=blocks)
    assert response["ok"]
