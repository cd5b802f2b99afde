"""The chat.* and reactions.* methods, and what a post to a response_url does: the messages
and ephemerals the app posts, edits and deletes, and the reactions it adds."""

from __future__ import annotations

from typing import Any

from app.sandbox.block_kit import (
    MAX_BLOCKS_TEXT,
    MAX_MESSAGE_BLOCKS,
    block_errors,
    text_length,
    with_ids,
)
from app.sandbox.lookups import Method, known_user, message_at, readable, truthy, visible
from app.sandbox.records import Message, ResponseTarget
from app.sandbox.slack_json import message_json
from app.sandbox.state import SandboxWorkspace, SlackError

MAX_TEXT = 40_000


async def post_message(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = readable(ws, params.get("channel"), by_name=True)
    text, blocks = message_content(params, required=True)
    thread_ts = params.get("thread_ts") or None
    if thread_ts and ws.find_message(conversation.id, thread_ts) is None:
        raise SlackError("thread_not_found")
    if thread_ts:
        ws.thread_status.pop((conversation.id, thread_ts), None)  # Slack clears it on a reply
    message = ws.post(
        conversation.id,
        user=ws.bot.user_id,
        text=text or "",
        blocks=blocks,
        thread_ts=thread_ts,
        metadata=params.get("metadata"),
    )
    return {"channel": conversation.id, "ts": message.ts, "message": message_json(ws, message)}


async def update(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = readable(ws, params.get("channel"))
    message = message_at(ws, conversation, params.get("ts"))
    if message.bot_id != ws.bot.bot_id:
        raise SlackError("cant_update_message")
    if message.streaming:
        raise SlackError("streaming_state_conflict")
    text, blocks = message_content(params, required=False)
    if "blocks" in params and blocks is None:
        blocks = []
    if isinstance(params.get("metadata"), dict):
        message.metadata = params["metadata"]
    ws.update_message(message, text=text, blocks=blocks)
    return {
        "channel": conversation.id,
        "ts": message.ts,
        "text": message.text,
        "message": message_json(ws, message),
    }


async def post_ephemeral(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = readable(ws, params.get("channel"))
    user = known_user(ws, params.get("user"))
    if user.id not in conversation.members:
        raise SlackError("user_not_in_channel")
    text, blocks = message_content(params, required=True)
    thread_ts = params.get("thread_ts") or None
    parent = ws.find_message(conversation.id, thread_ts) if thread_ts else None
    if thread_ts and (parent is None or not (parent.reply_ts or parent.is_reply)):
        # Slack shows an ephemeral in a thread only if the thread already has replies.
        return {"message_ts": ws.next_ts()}
    ephemeral = ws.post_ephemeral(
        conversation.id, user=user.id, text=text or "", blocks=blocks, thread_ts=thread_ts
    )
    return {"message_ts": ephemeral.ts}


async def delete(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = readable(ws, params.get("channel"))
    message = message_at(ws, conversation, params.get("ts"))
    if message.bot_id != ws.bot.bot_id:
        raise SlackError("cant_delete_message")
    ws.delete_message(message)
    return {"channel": conversation.id, "ts": message.ts}


async def get_permalink(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = visible(ws, params.get("channel"))
    message = message_at(ws, conversation, params.get("message_ts"))
    link = (
        f"https://{ws.team.domain}.slack.com/archives/{conversation.id}"
        f"/p{message.ts.replace('.', '')}"
    )
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={conversation.id}"
    return {"channel": conversation.id, "permalink": link}


async def add_reaction(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    message, name = _reaction_target(ws, params)
    ws.add_reaction(message, user=ws.bot.user_id, name=name)
    return {}


async def remove_reaction(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    message, name = _reaction_target(ws, params)
    ws.remove_reaction(message, user=ws.bot.user_id, name=name)
    return {}


async def get_reactions(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    conversation = readable(ws, params.get("channel"))
    message = message_at(ws, conversation, params.get("timestamp"))
    return {"type": "message", "channel": conversation.id, "message": message_json(ws, message)}


def _reaction_target(ws: SandboxWorkspace, params: dict[str, Any]) -> tuple[Message, str]:
    conversation = readable(ws, params.get("channel"))
    message = message_at(ws, conversation, params.get("timestamp"))
    name = (params.get("name") or "").strip(":")
    if not name:
        raise SlackError("invalid_name")
    return message, name


METHODS: dict[str, Method] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
    "reactions.add": add_reaction,
    "reactions.remove": remove_reaction,
    "reactions.get": get_reactions,
}


def respond(ws: SandboxWorkspace, target: ResponseTarget, body: dict[str, Any]) -> None:
    """What a post to a response_url does: delete or replace the original, or post anew."""
    original_message = (
        ws.find_message(target.channel, target.message_ts)
        if target.message_ts and not target.ephemeral
        else None
    )
    original_ephemeral = (
        ws.find_ephemeral(target.user, target.message_ts)
        if target.message_ts and target.ephemeral
        else None
    )
    original = original_message or original_ephemeral
    if truthy(body.get("delete_original")):
        if original_message is not None:
            ws.delete_message(original_message)
        elif original_ephemeral is not None:
            ws.delete_ephemeral(original_ephemeral)
        else:
            raise SlackError("message_not_found")
        return
    text, blocks = message_content(body, required=True)
    text = text or ""
    if truthy(body.get("replace_original")) and original is not None:
        if original_message is not None:
            ws.update_message(original_message, text=text, blocks=blocks or [])
        elif original_ephemeral is not None:
            ws.replace_ephemeral(original_ephemeral, text=text, blocks=blocks)
        return
    thread_ts = body.get("thread_ts") or None
    if body.get("response_type") == "in_channel":
        ws.post(target.channel, user=ws.bot.user_id, text=text, blocks=blocks, thread_ts=thread_ts)
    else:
        ws.post_ephemeral(
            target.channel, user=target.user, text=text, blocks=blocks, thread_ts=thread_ts
        )


def message_content(
    params: dict[str, Any], *, required: bool
) -> tuple[str | None, list[dict[str, Any]] | None]:
    """A message's text and checked blocks (ids filled in) from a call's parameters."""
    text = params.get("text")
    raw_blocks = params.get("blocks")
    if required and not text and not raw_blocks and not params.get("attachments"):
        raise SlackError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT:
        raise SlackError("msg_too_long")
    blocks = None
    if raw_blocks not in (None, "", []):
        errors = block_errors(raw_blocks, limit=MAX_MESSAGE_BLOCKS, pointer="/blocks")
        if errors:
            raise SlackError(
                "invalid_blocks", errors=errors, response_metadata={"messages": errors}
            )
        if text_length(raw_blocks) > MAX_BLOCKS_TEXT:
            raise SlackError("msg_blocks_too_long")
        blocks = with_ids(raw_blocks)
    return (None if text is None else str(text)), blocks
