"""Answering with Slack's status line and a streamed message, where Slack allows it (the
assistant view, DMs, thread replies): the status shows while the question waits and runs,
then the answer's text streams in (chat.startStream, chat.appendStream) and the stream
stops with the sources, confidence and feedback buttons (chat.stopStream).

The stream is started empty before the question runs, so the answer's record names its
message from the start. With the offline answerer the whole chain, citation checks
included, runs first, and the whole text comes with the stop, with the blocks. With Claude
(`TRELLIS_STREAM_MODEL_TEXT`, on by default) the text is streamed as the model writes it
(`_Provisional`: each piece is appended as soon as the previous append returns, so pieces
that arrive meanwhile go in one call). That text is provisional: when the model ends, the
chain checks the answer as always, and then

- the checked answer is the text shown (with its citation markers): the stream stops with
  the sources, confidence and feedback buttons;
- anything else (citations that fail, no answer, an error): the stream stops and the
  message is replaced (chat.update) by the checked outcome, so no unchecked answer is
  left on screen.

A notice (no answer, a refusal, an answer held for review) ends the stream like an answer
when nothing was streamed before it: its text and its buttons with the stop.

Where Slack refuses to stream (an error from chat.startStream, such as unknown_method), a
thinking indicator is posted and replaced by the answer, as everywhere else; if the stream
breaks after it started, the streamed message is replaced by the answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_chat_stream import AsyncChatStream

from app.answering.compose import Reply
from app.db.models.records import ReceivedQuestion
from app.domain import AnswerStatus
from app.pipeline import Outcome, Question, answer_question
from app.services import Services
from app.slack_api import SlackGateway
from app.trust import owners
from handlers import asking
from handlers.asking import LATER_NOTICE, answered_later, declined, give_up, settle
from handlers.errors import NOT_POSTED, message_for
from handlers.gateway import slack_of
from handlers.views import answers
from handlers.views import assistant as views
from handlers.views.blocks import escape, notice_blocks

log = structlog.get_logger(__name__)

LASTING_REFUSALS = frozenset(
    {"unknown_method", "not_allowed_token_type", "missing_scope", "method_deprecated"}
)
"""chat.startStream errors that will not pass: this process stops trying to stream."""
PRIVATE_NOTE = (
    "This fuller answer uses sources that some members of the channel you were viewing may not see."
)


async def answer_streaming(
    services: Services,
    *,
    text: str,
    channel_id: str,
    thread_ts: str,
    slack_user_id: str,
    team_id: str,
    message_ts: str,
    audience_channel_id: str | None = None,
    received: ReceivedQuestion | None = None,
) -> Outcome | None:
    """Answer `text` in the thread `thread_ts` of `channel_id`, for the members of
    `audience_channel_id` (the conversation itself without it). `received`: the stored
    question (app/answering/intake.py), settled once its asker has an answer or a notice;
    a question taken over after a crash is answered by handlers/recovery.py without a
    stream, in the thread."""
    if await declined(
        services,
        text=text,
        channel_id=channel_id,
        slack_user_id=slack_user_id,
        team_id=team_id,
        thread_ts=thread_ts,
        received=received,
    ):
        return None
    slack = slack_of(services)
    try:
        await set_status(slack, channel_id=channel_id, thread_ts=thread_ts, status=views.STATUS)
        shown = await _open(services, channel_id, thread_ts, slack_user_id, team_id, message_ts)
    except Exception:  # Slack is failing: the sweep tries again once the lease runs out
        give_up(services, received)
        raise
    try:
        async with services.questions.turn(asker=f"{team_id}:{slack_user_id}"):
            question = Question(
                text=text,
                channel=await slack.channel(audience_channel_id or channel_id),
                posted_in=channel_id,
                slack_user_id=slack_user_id,
                thread_ts=thread_ts,
                message_ts=message_ts,
                # The stream (or the indicator) is opened first, so the answer's record
                # names its message in the one transaction that stores it.
                answer_ts=shown.ts,
                received_id=received.id if received is not None else None,
            )
            outcome = await answer_question(services, question, on_text=shown.provisional)
        await shown.finish(outcome.public)
    except Exception as exc:  # the person is always told; the detail goes to the log
        services.metrics.observe_error(kind=type(exc).__name__)
        if received is not None and answered_later(exc):
            give_up(services, received)  # the sweep answers it once its lease runs out
            await shown.fail(LATER_NOTICE)
            return None
        await shown.fail(message_for(exc, outcome=NOT_POSTED))
        settle(services, received)
        return None
    settle(services, received)
    if outcome.private is not None:
        await _show_private(
            services,
            outcome.private,
            channel_id,
            thread_ts,
            slack_user_id,
            viewed=audience_channel_id is not None,
        )
    await owners.after_question(services, outcome=outcome, question=text)
    return outcome


async def set_status(slack: SlackGateway, *, channel_id: str, thread_ts: str, status: str) -> bool:
    """The status line under the thread; False where Slack does not show one here."""
    try:
        await slack.set_status(
            channel_id=channel_id,
            thread_ts=thread_ts,
            status=status,
            loading_messages=views.LOADING_MESSAGES if status else [],
        )
    except SlackApiError as error:
        log.info("status_not_shown", channel=channel_id, error=error.response.get("error"))
        return False
    return True


class _Shown:
    """The message that will show the answer: a stream, or a thinking indicator that is
    replaced when streaming is refused."""

    def __init__(
        self,
        services: Services,
        channel_id: str,
        ts: str,
        streamer: AsyncChatStream | None,
        *,
        asker: str,
        thread_ts: str,
    ) -> None:
        self.slack = slack_of(services)
        self.channel_id = channel_id
        self.ts = ts
        self.asker = asker
        self.thread_ts = thread_ts
        self.streamer = streamer
        self.provisional = (
            _Provisional(streamer)
            if streamer is not None and services.settings.stream_model_text
            else None
        )

    async def finish(self, reply: Reply) -> None:
        text, blocks = answers.answer_text(reply), answers.answer_blocks(reply)
        if self.streamer is None:
            await self.slack.update(channel=self.channel_id, ts=self.ts, text=text, blocks=blocks)
            return
        shown = await self.provisional.settle() if self.provisional else ""
        try:
            if shown and not self._stands(shown, reply):  # unchecked text: replaced whole
                await self._replace(text, blocks)
                return
            # An answer, or a notice (no answer, a refusal, held for review): whatever of
            # its text was not streamed yet comes with the stop, and the rest of its blocks.
            # (A whole answer is not cut into pieces to look streamed: one call, not five,
            # under Slack's rate limits and a burst's CPU; bench/RESULTS.md.)
            rest = reply.text[len(shown.rstrip()) :]
            if shown != shown.rstrip():
                rest = rest.lstrip()
            await self.streamer.stop(
                markdown_text=escape(rest) if rest.strip() else None,
                blocks=views.stream_end_blocks(reply),
            )
        except SlackClientError as error:  # the stream broke: the answer replaces it
            log.info("stream_broken", channel=self.channel_id, error=_code(error))
            await self.slack.update(channel=self.channel_id, ts=self.ts, text=text, blocks=blocks)

    async def fail(self, notice: str) -> None:
        """`notice` in place of the answer or, when Slack refuses that too, privately."""
        try:
            shown = await self.provisional.settle() if self.provisional else ""
            if shown:
                await self._replace(notice, notice_blocks(notice))
                return
            if self.streamer is not None:
                try:  # the notice comes as the stream's text, the message's text
                    await self.streamer.stop(markdown_text=escape(notice))
                    return
                except SlackClientError as error:
                    log.info("stream_not_stopped", channel=self.channel_id, error=_code(error))
            await self.slack.update(
                channel=self.channel_id, ts=self.ts, text=notice, blocks=notice_blocks(notice)
            )
            return
        except Exception:
            log.warning("failure_notice_not_shown", channel=self.channel_id, exc_info=True)
        await self.slack.post_private(
            channel=self.channel_id,
            user=self.asker,
            thread_ts=self.thread_ts,
            text=notice,
            blocks=notice_blocks(notice),
        )

    def _stands(self, shown: str, reply: Reply) -> bool:
        """Whether the streamed text is the start of the checked answer, so it may stay."""
        return (
            reply.status == AnswerStatus.ANSWERED
            and not (self.provisional is not None and self.provisional.broken)
            and reply.text.startswith(shown.strip())
        )

    async def _replace(self, text: str, blocks: list[dict[str, Any]]) -> None:
        """Stop the stream and put `text` and `blocks` in place of what it showed."""
        assert self.streamer is not None
        try:
            await self.streamer.stop()
        except SlackClientError as error:  # a broken stream is replaced all the same
            log.info("stream_not_stopped", channel=self.channel_id, error=_code(error))
        await self.slack.update(channel=self.channel_id, ts=self.ts, text=text, blocks=blocks)


class _Provisional:
    """The model's text, appended to the stream as it comes: one chat.appendStream at a
    time, the next carrying whatever arrived meanwhile. `settle` waits for the last one
    and says what the message shows."""

    def __init__(self, streamer: AsyncChatStream) -> None:
        self.streamer = streamer
        self.shown = ""
        self.pending = ""
        self.broken = False
        self.sending: asyncio.Task[None] | None = None

    async def __call__(self, text: str) -> None:
        self.pending += text
        if not self.broken and (self.sending is None or self.sending.done()):
            self.sending = asyncio.create_task(self._send())

    async def _send(self) -> None:
        while self.pending and not self.broken:
            piece, self.pending = self.pending, ""
            try:
                await self.streamer.append(markdown_text=escape(piece))
            except Exception as error:  # the final answer will replace the message
                log.info("stream_append_failed", error=_describe(error))
                self.broken = True
                self.shown += piece  # it may have been shown: never left as it stands
                return
            self.shown += piece

    async def settle(self) -> str:
        if self.sending is not None:
            await self.sending
        return self.shown


async def _open(
    services: Services,
    channel_id: str,
    thread_ts: str,
    slack_user_id: str,
    team_id: str,
    message_ts: str,
) -> _Shown:
    """Start an empty stream under the status line; where Slack refuses (unknown_method,
    a surface without streaming), post the thinking indicator instead."""
    slack = slack_of(services)
    whose = {"asker": slack_user_id, "thread_ts": thread_ts}
    if slack.streaming_refused is None:
        streamer = slack.chat_stream(
            channel=channel_id,
            thread_ts=thread_ts,
            recipient_team_id=team_id or None,
            recipient_user_id=slack_user_id,
        )
        try:
            await streamer.append(chunks=[])
        except SlackClientError as error:
            log.info("stream_refused", channel=channel_id, error=_code(error))
            if _code(error) in LASTING_REFUSALS:
                slack.streaming_refused = _code(error)
        if streamer.ts is not None:
            return _Shown(services, channel_id, streamer.ts, streamer, **whose)
    ts = await slack.post(
        channel=channel_id,
        thread_ts=thread_ts,
        text=answers.THINKING,
        blocks=answers.thinking_blocks(question_ts=message_ts),
    )
    return _Shown(services, channel_id, ts, None, **whose)


def _describe(error: Exception) -> str:
    return _code(error) if isinstance(error, SlackClientError) else type(error).__name__


def _code(error: SlackClientError) -> str:
    return str(error.response.get("error")) if isinstance(error, SlackApiError) else str(error)


async def _show_private(
    services: Services,
    reply: Reply,
    channel_id: str,
    thread_ts: str,
    slack_user_id: str,
    *,
    viewed: bool,
) -> None:
    """The asker's fuller answer: in their own DM as a reply, elsewhere as an ephemeral.
    `viewed`: the answer was for the channel the asker was viewing (the assistant view)."""
    slack = slack_of(services)
    text = answers.answer_text(reply)
    note = PRIVATE_NOTE if viewed else asking.PRIVATE_NOTE
    blocks = answers.answer_blocks(reply, private_note=note)
    if channel_id.startswith("D"):
        await slack.post(channel=channel_id, thread_ts=thread_ts, text=text, blocks=blocks)
    else:
        await slack.post_private(
            channel=channel_id, user=slack_user_id, thread_ts=thread_ts, text=text, blocks=blocks
        )
