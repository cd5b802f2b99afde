"""Answering with Slack's status line and a streamed message, where Slack allows it (the
assistant view, DMs, thread replies): the status shows while the question waits and runs,
then the answer's text streams in (chat.startStream, chat.appendStream) and the stream
stops with the sources, confidence and feedback buttons (chat.stopStream).

The stream is started empty before the question runs, so the answer's record names its
message from the start. The whole chain, citation checks included, has run before the first
piece of text is streamed, so an answer that fails its checks is never half shown. Where
Slack refuses to stream (an error from chat.startStream, such as unknown_method), a thinking
indicator is posted and replaced by the answer, as everywhere else; if the stream breaks
after it started, the streamed message is replaced by the answer.
"""

from __future__ import annotations

import structlog
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from app.answering.compose import Reply
from app.domain import AnswerStatus
from app.pipeline import Outcome, Question, answer_question
from app.services import Services
from app.trust import owners
from handlers.errors import NOT_POSTED, message_for
from handlers.gateway import slack_of
from handlers.views import answers
from handlers.views import assistant as views
from handlers.views.blocks import notice_blocks

log = structlog.get_logger(__name__)

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
) -> Outcome | None:
    """Answer `text` in the thread `thread_ts` of `channel_id`, for the members of
    `audience_channel_id` (the conversation itself without it)."""
    slack = slack_of(services)
    await set_status(slack.client, channel_id=channel_id, thread_ts=thread_ts, status=views.STATUS)
    shown = await _open(services, channel_id, thread_ts, slack_user_id, team_id)
    try:
        async with services.questions.turn(asker=f"{team_id}:{slack_user_id}"):
            question = Question(
                text=text,
                channel=await slack.channel(audience_channel_id or channel_id),
                slack_user_id=slack_user_id,
                thread_ts=thread_ts,
                message_ts=message_ts,
                # The stream (or the indicator) is opened first, so the answer's record
                # names its message in the one transaction that stores it.
                answer_ts=shown.ts,
            )
            outcome = await answer_question(services, question)
        await shown.finish(outcome.public)
    except Exception as exc:  # the person is always told; the detail goes to the log
        services.metrics.observe_error(kind=type(exc).__name__)
        await shown.fail(message_for(exc, outcome=NOT_POSTED))
        return None
    if outcome.private is not None:
        await _show_private(services, outcome.private, channel_id, thread_ts, slack_user_id)
    await owners.after_question(services, outcome=outcome, question=text)
    return outcome


async def set_status(
    client: AsyncWebClient, *, channel_id: str, thread_ts: str, status: str
) -> bool:
    """The status line under the thread; False where Slack does not show one here."""
    try:
        await client.assistant_threads_setStatus(
            channel_id=channel_id,
            thread_ts=thread_ts,
            status=status,
            loading_messages=views.LOADING_MESSAGES if status else None,
        )
    except SlackApiError as error:
        log.info("status_not_shown", channel=channel_id, error=error.response.get("error"))
        return False
    return True


class _Shown:
    """The message that will show the answer: a stream, or a thinking indicator that is
    replaced when streaming is refused."""

    def __init__(
        self, services: Services, channel_id: str, ts: str, streamer: AsyncChatStream | None
    ) -> None:
        self.slack = slack_of(services)
        self.channel_id = channel_id
        self.ts = ts
        self.streamer = streamer

    async def finish(self, reply: Reply) -> None:
        text, blocks = answers.answer_text(reply), answers.answer_blocks(reply)
        if self.streamer is None:
            await self.slack.update(channel=self.channel_id, ts=self.ts, text=text, blocks=blocks)
            return
        try:
            if reply.status != AnswerStatus.ANSWERED:  # nothing to stream: shown whole
                await self.streamer.stop(blocks=blocks)
                return
            for piece in views.stream_pieces(reply.text):
                await self.streamer.append(markdown_text=piece)
            await self.streamer.stop(blocks=views.stream_end_blocks(reply))
        except SlackClientError as error:  # the stream broke: the answer replaces it
            log.info("stream_broken", channel=self.channel_id, error=_code(error))
            await self.slack.update(channel=self.channel_id, ts=self.ts, text=text, blocks=blocks)

    async def fail(self, notice: str) -> None:
        try:
            if self.streamer is not None:
                await self.streamer.stop(blocks=notice_blocks(notice))
            else:
                await self.slack.update(
                    channel=self.channel_id, ts=self.ts, text=notice, blocks=notice_blocks(notice)
                )
        except Exception:
            log.warning("failure_notice_not_shown", channel=self.channel_id, exc_info=True)


async def _open(
    services: Services, channel_id: str, thread_ts: str, slack_user_id: str, team_id: str
) -> _Shown:
    """Start an empty stream under the status line; where Slack refuses (unknown_method,
    a surface without streaming), post the thinking indicator instead."""
    slack = slack_of(services)
    streamer = await slack.client.chat_stream(
        channel=channel_id,
        thread_ts=thread_ts,
        recipient_team_id=team_id or None,
        recipient_user_id=slack_user_id,
        buffer_size=1,
    )
    try:
        await streamer.append(chunks=[])
    except SlackClientError as error:
        log.info("stream_refused", channel=channel_id, error=_code(error))
    if streamer.ts is not None:
        return _Shown(services, channel_id, streamer.ts, streamer)
    ts = await slack.post(
        channel=channel_id,
        thread_ts=thread_ts,
        text=answers.THINKING,
        blocks=answers.thinking_blocks(),
    )
    return _Shown(services, channel_id, ts, None)


def _code(error: SlackClientError) -> str:
    return str(error.response.get("error")) if isinstance(error, SlackApiError) else str(error)


async def _show_private(
    services: Services, reply: Reply, channel_id: str, thread_ts: str, slack_user_id: str
) -> None:
    """The asker's fuller answer: in their own DM as a reply, elsewhere as an ephemeral."""
    slack = slack_of(services)
    text = answers.answer_text(reply)
    blocks = answers.answer_blocks(reply, private_note=PRIVATE_NOTE)
    if channel_id.startswith("D"):
        await slack.post(channel=channel_id, thread_ts=thread_ts, text=text, blocks=blocks)
    else:
        await slack.post_private(
            channel=channel_id, user=slack_user_id, thread_ts=thread_ts, text=text, blocks=blocks
        )
