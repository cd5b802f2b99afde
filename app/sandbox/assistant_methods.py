"""The assistant.threads.* methods and the streaming chat methods (chat.startStream,
chat.appendStream, chat.stopStream), with the assistant threads they act on.

A thread in the assistant view lives in the DM between a person and the app; its root is a
message of subtype `assistant_app_thread`. The status line (setStatus) belongs to a thread
and is cleared when the app's reply in it shows text. A streamed message is an ordinary bot
reply in a thread whose text grows with each append; stopStream adds its blocks below the
text. As Slack documents them, chat.appendStream requires `markdown_text` (the experimental
`chunks` alone are refused) and a stream does not start without text (`no_text`); a message
still streaming cannot be edited (chat.update answers streaming_state_conflict).
"""

from __future__ import annotations

import json
from typing import Any

from app.sandbox.block_kit import MAX_MESSAGE_BLOCKS, block_errors, with_ids
from app.sandbox.lookups import Method, message_at, readable
from app.sandbox.records import AssistantThread, Change, Conversation, Message
from app.sandbox.slack_json import message_json
from app.sandbox.state import SandboxWorkspace, SlackError

MAX_LOADING_MESSAGES = 10
MAX_PROMPTS = 4
MAX_MARKDOWN = 12_000
ROOT_SUBTYPE = "assistant_app_thread"


# -- assistant threads ----------------------------------------------------------------------


def start_thread(
    ws: SandboxWorkspace, im: Conversation, *, user: str, context: dict[str, Any]
) -> AssistantThread:
    """A new assistant thread in `im`, as Slack makes one when the person opens the view."""
    root = Message(
        channel=im.id,
        ts=ws.next_ts(),
        text="New Assistant Thread",
        user=ws.bot.user_id,
        team=ws.team.id,
        bot_id=ws.bot.bot_id,
        app_id=ws.bot.app_id,
        subtype=ROOT_SUBTYPE,
    )
    ws.messages[im.id].append(root)
    thread = AssistantThread(channel=im.id, thread_ts=root.ts, user=user, context=context)
    ws.assistant_threads[(im.id, root.ts)] = thread
    ws.notify(Change("assistant_thread", channel=im.id, user=user, message=root))
    return thread


def thread_event(ws: SandboxWorkspace, kind: str, thread: AssistantThread) -> dict[str, Any]:
    """assistant_thread_started / assistant_thread_context_changed, as Slack sends them."""
    return {
        "type": kind,
        "assistant_thread": {
            "user_id": thread.user,
            "context": dict(thread.context),
            "channel_id": thread.channel,
            "thread_ts": thread.thread_ts,
        },
        "event_ts": ws.next_ts(),
    }


def viewing(ws: SandboxWorkspace, channel_id: str | None) -> dict[str, Any]:
    """The `context` of an assistant thread while the person looks at `channel_id`."""
    if not channel_id:
        return {}
    return {"channel_id": channel_id, "team_id": ws.team.id, "enterprise_id": None}


def _thread(
    ws: SandboxWorkspace, params: dict[str, Any], *, ts_required: bool = True
) -> tuple[Conversation, str]:
    conversation = readable(ws, params.get("channel_id"))
    thread_ts = params.get("thread_ts") or ""
    if not thread_ts:
        if ts_required:
            raise SlackError("invalid_arguments")
        latest = ws.messages.get(conversation.id) or []
        if not latest:
            raise SlackError("message_not_found")
        thread_ts = latest[-1].thread_ts or latest[-1].ts
    if ws.find_message(conversation.id, thread_ts) is None:
        raise SlackError("invalid_thread_ts")
    return conversation, thread_ts


async def set_status(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    if "status" not in params:
        raise SlackError("invalid_arguments")
    conversation, thread_ts = _thread(ws, params)
    loading = _json_list(params.get("loading_messages"))
    if len(loading) > MAX_LOADING_MESSAGES or not all(isinstance(m, str) for m in loading):
        raise SlackError("invalid_arguments")
    status = str(params.get("status") or "")
    key = (conversation.id, thread_ts)
    if status:
        ws.thread_status[key] = status
    else:
        ws.thread_status.pop(key, None)
    thread = ws.assistant_threads.get(key)
    if thread is not None:
        thread.status, thread.loading_messages = status, list(loading)
    ws.notify(Change("assistant_status", channel=conversation.id))
    return {}


async def set_suggested_prompts(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    prompts = _json_list(params.get("prompts"))
    if not prompts or len(prompts) > MAX_PROMPTS:
        raise SlackError("invalid_arguments")
    for prompt in prompts:
        if not isinstance(prompt, dict) or not prompt.get("title") or not prompt.get("message"):
            raise SlackError("invalid_arguments")
    conversation, thread_ts = _thread(ws, params, ts_required=False)
    thread = ws.assistant_threads.get((conversation.id, thread_ts))
    if thread is None:
        raise SlackError("invalid_thread_ts")
    thread.prompts = [{"title": str(p["title"]), "message": str(p["message"])} for p in prompts]
    thread.prompts_title = str(params.get("title") or "")
    ws.notify(Change("assistant_prompts", channel=conversation.id))
    return {}


async def set_title(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("title"):
        raise SlackError("invalid_arguments")
    conversation, thread_ts = _thread(ws, params)
    thread = ws.assistant_threads.get((conversation.id, thread_ts))
    if thread is None:
        raise SlackError("invalid_thread_ts")
    thread.title = str(params["title"])
    ws.notify(Change("assistant_title", channel=conversation.id))
    return {}


# -- streaming ------------------------------------------------------------------------------


async def start_stream(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = readable(ws, params.get("channel"))
    thread_ts = params.get("thread_ts") or ""
    if not thread_ts:
        raise SlackError("invalid_arguments")
    if ws.find_message(conversation.id, thread_ts) is None:
        raise SlackError("message_not_found")
    if not conversation.is_im:
        if not params.get("recipient_user_id"):
            raise SlackError("missing_recipient_user_id")
        if not params.get("recipient_team_id"):
            raise SlackError("missing_recipient_team_id")
    text = _streamed_text(params)
    if not text:
        raise SlackError("no_text")
    ws.thread_status.pop((conversation.id, thread_ts), None)
    message = ws.post(
        conversation.id, user=ws.bot.user_id, text=text, thread_ts=thread_ts, streaming=True
    )
    return {"channel": conversation.id, "ts": message.ts}


async def append_stream(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation, message = _streaming(ws, params)
    text = _streamed_text(params)
    if not params.get("markdown_text"):  # required, chunks or not
        raise SlackError("no_text")
    _grow(ws, message, text)
    return {"channel": conversation.id, "ts": message.ts}


async def stop_stream(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation, message = _streaming(ws, params)
    raw_blocks = params.get("blocks")
    if isinstance(raw_blocks, str) and raw_blocks:
        try:
            raw_blocks = json.loads(raw_blocks)
        except json.JSONDecodeError as error:
            raise SlackError("invalid_blocks_format") from error
    blocks = None
    if isinstance(raw_blocks, list) and raw_blocks:
        errors = block_errors(raw_blocks, limit=MAX_MESSAGE_BLOCKS, pointer="/blocks")
        if errors:
            raise SlackError(
                "invalid_blocks", errors=errors, response_metadata={"messages": errors}
            )
        blocks = with_ids(raw_blocks)
    elif raw_blocks not in (None, "", []):
        raise SlackError("invalid_blocks")
    metadata = params.get("metadata")
    if isinstance(metadata, str) and metadata:
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError as error:
            raise SlackError("invalid_metadata_format") from error
    if isinstance(metadata, dict):
        message.metadata = metadata
    ws.thread_status.pop((conversation.id, message.thread_ts or ""), None)
    message.streaming = False
    message.text += _streamed_text(params)
    message.blocks = blocks
    ws.notify(Change("message_changed", channel=conversation.id, message=message))
    return {"channel": conversation.id, "ts": message.ts, "message": message_json(ws, message)}


def _streaming(ws: SandboxWorkspace, params: dict[str, Any]) -> tuple[Conversation, Message]:
    conversation = readable(ws, params.get("channel"))
    message = message_at(ws, conversation, params.get("ts"))
    if message.bot_id != ws.bot.bot_id:
        raise SlackError("cant_update_message")
    if not message.streaming:
        raise SlackError("message_not_in_streaming_state")
    return conversation, message


def _grow(ws: SandboxWorkspace, message: Message, text: str) -> None:
    ws.thread_status.pop((message.channel, message.thread_ts or ""), None)
    message.text += text
    ws.notify(Change("message_changed", channel=message.channel, message=message))


def _streamed_text(params: dict[str, Any]) -> str:
    """markdown_text followed by the text of any markdown_text chunks."""
    text = str(params.get("markdown_text") or "")
    for chunk in _json_list(params.get("chunks")):
        if not isinstance(chunk, dict) or not chunk.get("type"):
            raise SlackError("invalid_chunks")
        if chunk["type"] == "markdown_text":
            text += str(chunk.get("text") or "")
    if len(text) > MAX_MARKDOWN:
        raise SlackError("msg_too_long")
    return text


def _json_list(value: Any) -> list[Any]:
    """An array argument, sent as JSON or, form-encoded, as a JSON string."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise SlackError("invalid_arguments") from error
    if not isinstance(value, list):
        raise SlackError("invalid_arguments")
    return value


METHODS: dict[str, Method] = {
    "assistant.threads.setStatus": set_status,
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "assistant.threads.setTitle": set_title,
    "chat.startStream": start_stream,
    "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
}
