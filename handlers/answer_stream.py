"""An answer streamed into a Slack thread: one reply whose text grows, then stops.

Slack has nothing to show until there is text: the stream starts with the answer's first
text (chat.startStream), grows (chat.appendStream) and stops with the last of its text and
the blocks below it (chat.stopStream). The text always goes in `markdown_text`, at most
12,000 characters a call, as Slack documents; longer text is sent in several calls.

The model's text comes in many small pieces. They are gathered until `BUFFER` characters
wait, or `PAUSE` seconds after the first of them, and sent in one call, one call at a time,
so a fast model or a burst of questions does not run into Slack's rate limits.

Slack refuses to edit a message that is still streaming (chat.update answers
streaming_state_conflict). A stop Slack refuses is tried again, bare, up to `STOP_TRIES`
times in all; only a stopped message is edited. One that stays streaming is left as it is and
whatever should replace it is posted below it, so the person still gets it.

A start Slack answers with its own failure (an HTTP 5xx, fatal_error…) is not sent again:
"it's possible some aspect of the operation succeeded", and a second start could leave two
streams. The stream it may have started all the same is looked for in the thread
(`_started_anyway`); found, it is stopped and, like any stream a call failed on, replaced by
the answer. Otherwise the answer is posted whole, as where Slack refuses to stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError

from app.errors import SlackUnavailable
from app.slack_api import SlackGateway, error_code
from handlers.views.blocks import cut_at, escape

log = structlog.get_logger(__name__)

TEXT_LIMIT = 12_000
"""Characters of `markdown_text` Slack takes in one streaming call."""
BUFFER = 256
PAUSE = 0.5
STOP_TRIES = 3
LASTING_REFUSALS = frozenset(
    {"unknown_method", "not_allowed_token_type", "missing_scope", "method_deprecated"}
)
"""chat.startStream errors that will not pass: this process stops trying to stream
(`SlackGateway.streaming_refused`)."""
NOT_STREAMING = frozenset({"message_not_in_streaming_state", "message_not_found"})
"""Answers to a stop that say the message is not streaming (any more): nothing to stop."""
SLACK_FAILED = (SlackApiError, SlackUnavailable)


def pieces(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Escaped `text` in pieces of at most `limit` characters, cut where a section's text
    is (`blocks.cut_at`: never inside a link, an escaped character or a citation marker).
    Unlike a section's pieces none of its characters is dropped: Slack joins them."""
    parts: list[str] = []
    while len(text) > limit:
        at = cut_at(text, limit)
        parts.append(text[:at])
        text = text[at:]
    return [*parts, text] if text else parts


class AnswerStream:
    """One streamed reply in the thread `thread_ts`, answering the message `question_ts`.
    `shown`: the text (before escaping) Slack shows, or may show when a call failed after it
    was sent; `broken`: a call failed, so what the message shows is not known; `ended`: a
    stop was tried (`stopped`: the message no longer streams). `claimed(ts)`: whether
    another answer is shown in the message `ts` (its record names it)."""

    def __init__(
        self,
        slack: SlackGateway,
        *,
        channel: str,
        thread_ts: str,
        question_ts: str,
        recipient_user_id: str,
        recipient_team_id: str | None,
        claimed: Callable[[str], Awaitable[bool]],
    ) -> None:
        self.slack = slack
        self.channel = channel
        self.thread_ts = thread_ts
        self.question_ts = question_ts
        self.recipient_user_id = recipient_user_id
        self.recipient_team_id = recipient_team_id
        self.claimed = claimed
        self.ts: str | None = None
        self.shown = ""
        self.broken = False
        self.ended = False
        self.stopped = False
        self._pending = ""
        self._enough = asyncio.Event()
        self._settling = False
        self._sending: asyncio.Task[None] | None = None

    async def write(self, text: str) -> None:
        """Show `text` after what the message shows; the first text starts the stream."""
        parts = pieces(escape(text))
        if not parts:
            return
        try:
            if self.ts is None:
                self.ts = await self.slack.start_stream(
                    channel=self.channel,
                    thread_ts=self.thread_ts,
                    markdown_text=parts.pop(0),
                    recipient_user_id=self.recipient_user_id,
                    recipient_team_id=self.recipient_team_id,
                )
            for part in parts:
                await self.slack.append_stream(channel=self.channel, ts=self.ts, markdown_text=part)
        except SLACK_FAILED as error:
            self.broken = True
            code = error_code(error)
            log.info("stream_not_written", channel=self.channel, error=code or str(error))
            if self.ts is None and code in LASTING_REFUSALS:
                self.slack.streaming_refused = code
            elif self.ts is None and isinstance(error, SlackUnavailable):
                self.ts = await self._started_anyway()
            raise

    async def _started_anyway(self) -> str | None:
        """The stream a start that failed on Slack's side may have started all the same,
        now stopped: the newest of Trellis's replies after the question that no other answer
        claims and that Slack was still streaming (the others answer that they are not).
        None when there is none, or when Slack cannot say."""
        try:
            replies = await self.slack.replies(self.channel, self.thread_ts, since=self.question_ts)
            for message in reversed(replies):
                ts = str(message["ts"])
                if ts == self.question_ts or not self.slack.wrote(message):
                    continue
                if await self.claimed(ts):
                    continue
                try:
                    await self.slack.stop_stream(channel=self.channel, ts=ts)
                except SLACK_FAILED as error:
                    if error_code(error) in NOT_STREAMING:
                        continue
                    raise
                log.info("stream_started_anyway", channel=self.channel, ts=ts)
                self.ended = self.stopped = True
                return ts
        except SLACK_FAILED as error:
            log.info("started_stream_not_looked_up", channel=self.channel, error=_described(error))
        return None

    async def add(self, text: str) -> None:
        """The model's next words, shown once `BUFFER` characters wait or `PAUSE` seconds
        after the first of them; after a failed call, none are."""
        if self.broken or self._settling:
            return
        self._pending += text
        if len(self._pending) >= BUFFER:
            self._enough.set()
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send())

    async def _send(self) -> None:
        while self._pending and not self.broken and not self._settling:
            if len(self._pending) < BUFFER:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._enough.wait(), PAUSE)
            if self._settling:
                return
            piece, self._pending = self._pending, ""
            self._enough.clear()
            try:
                await self.write(piece)
            except SLACK_FAILED:  # the checked answer will replace the message
                if self.ts is not None:  # it may have been shown: never left as it stands
                    self.shown += piece
                return
            self.shown += piece

    async def settle(self) -> str:
        """Stop taking the model's words and wait for the call under way; the text the
        message shows. Words not sent yet are left to the stop."""
        self._settling = True
        self._enough.set()
        if self._sending is not None:
            await self._sending
        return self.shown

    async def stop(self, text: str = "", blocks: list[dict[str, Any]] | None = None) -> bool:
        """Stop the stream with `text` after what it shows and `blocks` below it; whether
        they are shown. A stop Slack refuses is tried again without them: `stopped` says
        whether the message has stopped streaming, by these stops or otherwise."""
        assert self.ts is not None
        self.ended = True
        try:
            parts = pieces(escape(text)) if text.strip() else []
            last = parts.pop() if parts else None
            for part in parts:
                await self.slack.append_stream(channel=self.channel, ts=self.ts, markdown_text=part)
            await self.slack.stop_stream(
                channel=self.channel, ts=self.ts, markdown_text=last, blocks=blocks
            )
        except SLACK_FAILED as error:
            log.info("stream_not_stopped", channel=self.channel, error=_described(error))
            self.stopped = error_code(error) in NOT_STREAMING
        else:
            self.stopped = True
            return True
        if not self.stopped:
            self.stopped = await stop_streaming(
                self.slack, channel=self.channel, ts=self.ts, tries=STOP_TRIES - 1
            )
        return self.stopped and not (text.strip() or blocks)


async def stop_streaming(
    slack: SlackGateway, *, channel: str, ts: str, tries: int = STOP_TRIES
) -> bool:
    """Stop the stream of the message `ts`, bare, trying up to `tries` times; whether the
    message no longer streams (Slack stopped it, or answers that it is not streaming). Only
    then may it be edited."""
    for _ in range(tries):
        try:
            await slack.stop_stream(channel=channel, ts=ts)
        except SLACK_FAILED as error:
            log.info("stream_not_stopped", channel=channel, error=_described(error))
            if error_code(error) in NOT_STREAMING:
                return True
        else:
            return True
    return False


def _described(error: Exception) -> str:
    return error_code(error) or str(error)
