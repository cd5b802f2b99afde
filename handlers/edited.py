"""Questions their askers edited: answered again, as they now read.

Slack reports an edit as a `message` event of subtype `message_changed`, carrying the
message as it now reads (`message`, with `edited`) and as it read (`previous_message`). An
edit of a question Trellis took on, whose words changed, is a question of its own, as is an
edit that adds a mention of Trellis (Slack's `app_mention` for an edited message, which
carries `edited`, is left aside: the edit is read once, from `message_changed`): it is
stored with its delivery's claim like any other (the claim names the edit, so Slack's
retries of it are answered once, and each later edit again), and answered in the question's
thread below the first answer, marked as the answer to the question as edited. The first
answer stays: it answered what was asked at the time, and the audit keeps both.

Not an edit to answer: one that changes no words (Slack also reports a link's preview, a
reply count or a pin this way), one by a bot or of a system message, an edit that makes
the message a thanks, and any other edit of a message Trellis did not take on. In a direct
message, edits never reach these handlers once Trellis has replied: the question then
heads a thread, and Bolt's Assistant middleware acknowledges and drops any `message_changed`
of a direct message's thread.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.delivered import QUESTION_SUBTYPES, plain_text

EDITED_LEAD = "You edited your question: this answers it as it now reads."


def edited_question(event: dict[str, Any], bot_user_id: str | None) -> dict[str, Any] | None:
    """For a `message_changed` event reporting a person's edit of a message's words: the
    message as it now reads, shaped as the `message` event a new question would be (with
    `edited_ts`, naming the edit). None for any other event."""
    if event.get("subtype") != "message_changed":
        return None
    message = event.get("message") or {}
    user = message.get("user")
    if (
        not user
        or user == bot_user_id
        or message.get("bot_id")
        or message.get("subtype") not in QUESTION_SUBTYPES
        or not message.get("ts")
    ):
        return None
    before = (event.get("previous_message") or {}).get("text") or ""
    now = message.get("text") or ""
    if _words(now, bot_user_id) == _words(before, bot_user_id) and not _added_mention(
        now, before, bot_user_id
    ):
        return None
    thread_ts = message.get("thread_ts")
    question = {
        "type": "message",
        "channel": event.get("channel"),
        "channel_type": event.get("channel_type"),
        "user": user,
        "text": now,
        "ts": message["ts"],
        "edited_ts": (message.get("edited") or {}).get("ts") or event.get("event_ts") or "",
        "previous_text": before,
    }
    if message.get("user_team") or message.get("team"):
        question["user_team"] = message.get("user_team") or message.get("team")
    if thread_ts and thread_ts != message["ts"]:
        question["thread_ts"] = thread_ts
    return question


def mention_added(question: dict[str, Any], bot_user_id: str | None) -> bool:
    """Whether the edit `question` (`edited_question`) mentions Trellis where it did not."""
    return _added_mention(question["text"], question["previous_text"], bot_user_id)


def _added_mention(now: str, before: str, bot_user_id: str | None) -> bool:
    mention = f"<@{bot_user_id}"
    return bool(bot_user_id) and mention in now and mention not in before


def edit_key(question: dict[str, Any]) -> str:
    """The claim an edit is taken on with: one per edit of one message."""
    return f"edit:{question['channel']}:{question['ts']}:{question['edited_ts']}"


def _words(text: str | None, bot_user_id: str | None) -> list[str]:
    return re.findall(r"\w+", plain_text(text, drop_user=bot_user_id).casefold())
