"""The sandbox's assistant view and streaming methods, called with slack_sdk's real clients:
assistant.threads.*, chat.startStream / appendStream / stopStream, the assistant events,
and a click on Slack's feedback buttons element."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.sandbox import SandboxServer
from tests.sandbox_helpers import (
    ANA,
    BOT,
    GENERAL,
    TEAM,
    recording_socket_client,
    running_sandbox,
    sandbox_client,
)

FEEDBACK = {
    "type": "context_actions",
    "elements": [
        {
            "type": "feedback_buttons",
            "action_id": "feedback",
            "positive_button": {"text": {"type": "plain_text", "text": "Good"}, "value": "up"},
            "negative_button": {"text": {"type": "plain_text", "text": "Bad"}, "value": "down"},
        }
    ],
}


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with running_sandbox() as server:
        yield server


@pytest.fixture
def client(server: SandboxServer) -> AsyncWebClient:
    return sandbox_client(server)


async def error_of(call) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call
    return raised.value.response["error"]


async def test_opening_the_assistant_view_sends_assistant_thread_started(server):
    async with recording_socket_client(server) as received:
        thread_ts = await server.open_assistant(ANA, viewing=GENERAL)
        await received.wait_for(1)
    body = received[0].payload
    im = server.workspace.open_im(ANA).id
    assert body["type"] == "event_callback"
    assert body["event"]["type"] == "assistant_thread_started"
    assert body["event"]["assistant_thread"] == {
        "user_id": ANA,
        "context": {"channel_id": GENERAL, "team_id": TEAM, "enterprise_id": None},
        "channel_id": im,
        "thread_ts": thread_ts,
    }
    root = server.messages(im)[0]
    assert (root.ts, root.subtype, root.user) == (thread_ts, "assistant_app_thread", BOT)


async def test_moving_to_another_channel_sends_context_changed(server):
    async with recording_socket_client(server) as received:
        thread_ts = await server.open_assistant(ANA)
        await server.view_channel(ANA, thread_ts, GENERAL)
        await received.wait_for(2)
    started, changed = (r.payload["event"] for r in received)
    assert started["assistant_thread"]["context"] == {}
    assert changed["type"] == "assistant_thread_context_changed"
    assert changed["assistant_thread"]["context"]["channel_id"] == GENERAL
    assert changed["assistant_thread"]["thread_ts"] == thread_ts


async def test_status_prompts_and_title_are_kept_on_the_thread(server, client):
    thread_ts = await server.open_assistant(ANA)
    im = server.workspace.open_im(ANA).id
    await client.assistant_threads_setStatus(
        channel_id=im, thread_ts=thread_ts, status="is thinking…", loading_messages=["Reading…"]
    )
    await client.assistant_threads_setSuggestedPrompts(
        channel_id=im,
        thread_ts=thread_ts,
        prompts=[{"title": "Refunds", "message": "What is the refund policy?"}],
        title="Try asking",
    )
    await client.assistant_threads_setTitle(channel_id=im, thread_ts=thread_ts, title="Refunds")
    thread = server.workspace.assistant_threads[(im, thread_ts)]
    assert (thread.status, thread.loading_messages) == ("is thinking…", ["Reading…"])
    assert thread.prompts == [{"title": "Refunds", "message": "What is the refund policy?"}]
    assert (thread.prompts_title, thread.title) == ("Try asking", "Refunds")
    await client.chat_postMessage(channel=im, thread_ts=thread_ts, text="Here you are")
    assert server.workspace.thread_status.get((im, thread_ts)) is None


async def test_assistant_methods_check_their_arguments(server, client):
    thread_ts = await server.open_assistant(ANA)
    im = server.workspace.open_im(ANA).id
    five = [{"title": str(n), "message": str(n)} for n in range(5)]
    assert (
        await error_of(
            client.assistant_threads_setSuggestedPrompts(
                channel_id=im, thread_ts=thread_ts, prompts=five
            )
        )
        == "invalid_arguments"
    )
    assert (
        await error_of(
            client.assistant_threads_setStatus(channel_id=im, thread_ts="1.000001", status="x")
        )
        == "invalid_thread_ts"
    )
    assert (
        await error_of(
            client.assistant_threads_setTitle(channel_id="C0NOPE", thread_ts=thread_ts, title="x")
        )
        == "channel_not_found"
    )


async def test_a_stream_grows_one_message_and_stops_with_blocks(server, client):
    thread_ts = await server.open_assistant(ANA)
    im = server.workspace.open_im(ANA).id
    started = await client.chat_startStream(
        channel=im,
        thread_ts=thread_ts,
        markdown_text="Refunds take ",
        recipient_user_id=ANA,
        recipient_team_id=TEAM,
    )
    ts = started["ts"]
    message = server.workspace.find_message(im, ts)
    assert message is not None and message.streaming and message.text == "Refunds take "
    await client.chat_appendStream(channel=im, ts=ts, markdown_text="five days.")
    assert message.text == "Refunds take five days."
    await client.chat_stopStream(channel=im, ts=ts, blocks=[FEEDBACK])
    assert not message.streaming and message.text == "Refunds take five days."
    assert message.blocks[0]["type"] == "context_actions"
    assert [c.method for c in server.workspace.calls][-3:] == [
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    ]
    assert (
        await error_of(client.chat_appendStream(channel=im, ts=ts, markdown_text="more"))
        == "message_not_in_streaming_state"
    )


async def test_a_stream_takes_its_text_as_slack_documents_it(server, client):
    thread_ts = await server.open_assistant(ANA)
    im = server.workspace.open_im(ANA).id
    # Nothing to show: no stream starts.
    assert await error_of(client.chat_startStream(channel=im, thread_ts=thread_ts)) == "no_text"
    started = await client.chat_startStream(
        channel=im, thread_ts=thread_ts, markdown_text="Refunds take "
    )
    ts = started["ts"]
    # chat.appendStream requires markdown_text: the experimental chunks alone are refused.
    chunks = [{"type": "markdown_text", "text": "five days."}]
    assert await error_of(client.chat_appendStream(channel=im, ts=ts, chunks=chunks)) == "no_text"
    too_long = "x" * 12_001
    assert (
        await error_of(client.chat_appendStream(channel=im, ts=ts, markdown_text=too_long))
        == "msg_too_long"
    )
    # A message still streaming cannot be edited; once stopped, it can.
    assert (
        await error_of(client.chat_update(channel=im, ts=ts, text="Replaced"))
        == "streaming_state_conflict"
    )
    await client.chat_stopStream(channel=im, ts=ts)
    await client.chat_update(channel=im, ts=ts, text="Replaced")
    message = server.workspace.find_message(im, ts)
    assert message is not None and message.text == "Replaced"


async def test_streaming_in_a_channel_needs_the_recipient(server, client):
    parent = await client.chat_postMessage(channel=GENERAL, text="question")
    assert (
        await error_of(client.chat_startStream(channel=GENERAL, thread_ts=parent["ts"]))
        == "missing_recipient_user_id"
    )


async def test_a_withdrawn_method_is_unknown_like_slack(server, client):
    server.web_api.withdraw("chat.startStream")
    thread_ts = await server.open_assistant(ANA)
    im = server.workspace.open_im(ANA).id
    assert (
        await error_of(client.chat_startStream(channel=im, thread_ts=thread_ts)) == "unknown_method"
    )
    assert await error_of(client.api_call("assistant.threads.nothing")) == "unknown_method"


async def test_a_feedback_button_click_carries_the_chosen_value(server, client):
    posted = await client.chat_postMessage(channel=GENERAL, text="answer", blocks=[FEEDBACK])
    async with recording_socket_client(server) as received:
        await server.click_button(ANA, GENERAL, posted["ts"], "feedback", value="down")
    clicks = [r.payload for r in received if r.type == "interactive"]
    action = clicks[0]["actions"][0]
    assert action["type"] == "feedback_buttons"
    assert action["value"] == "down"
    assert action["text"] == {"type": "plain_text", "text": "Bad"}
