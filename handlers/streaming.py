"""Answering with Slack's status line and a streamed message, where Slack allows it (the
assistant view, DMs, thread replies): the status shows while the question waits and runs,
then the answer's text streams in (chat.startStream, chat.appendStream) and the stream
stops with the sources, confidence and feedback buttons (chat.stopStream). How the stream
talks to Slack (text in `markdown_text`, pieces gathered, stops tried again) is
handlers/answer_stream.py.

Slack shows a stream once it has text, so the stream starts with the answer's first text:
with the offline answerer, the whole checked answer, just before the answer is recorded (the
record names its message; `_Shown.show`), and the rest of it with the stop, with the
blocks. With Claude (`TRELLIS_STREAM_MODEL_TEXT`, on by default) the text is streamed as the
model writes it. That text is provisional: when the model ends, the chain checks the answer
as always, and then

- the checked answer is the text shown (with its citation markers): the stream stops with
  the sources, confidence and feedback buttons;
- anything else (citations that fail, no answer, an error): the stream stops and the
  message is replaced (chat.update) by the checked outcome, so no unchecked answer is
  left on screen.

A notice (no answer, a refusal, an answer held for review) ends the stream like an answer:
its text and its buttons.

Where Slack refuses to stream (an error from chat.startStream, such as unknown_method), a
thinking indicator is posted and replaced by the answer, as everywhere else; if the stream
breaks after it started, the streamed message is replaced by the answer once it has stopped,
and where Slack keeps it streaming, the answer is posted below it. A start that failed on
Slack's side may have started the stream all the same: found in the thread, it is stopped
and replaced by the answer like a broken one (handlers/answer_stream.py).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import structlog

from app.answering.compose import Reply
from app.db.models.records import ReceivedQuestion
from app.db.repositories.records import AnswerRepository
from app.domain import AnswerStatus
from app.errors import QuestionTakenOver
from app.pipeline import Outcome, Question, answer_question
from app.services import Services
from app.slack_api import SlackGateway, error_code
from app.trust import owners
from handlers import asking
from handlers.answer_stream import SLACK_FAILED, AnswerStream, stop_streaming
from handlers.asking import LATER_NOTICE, answered_later, declined, give_up, kept, settle
from handlers.deleted import was_deleted, withhold
from handlers.errors import NOT_ANSWERED, message_for
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
    except Exception as error:  # Slack is failing: the sweep tries again once the lease runs out
        raise kept(services, received, error) from error
    try:
        async with services.questions.turn(asker=f"{team_id}:{slack_user_id}"):
            question = Question(
                text=text,
                channel=await slack.channel(audience_channel_id or channel_id),
                posted_in=channel_id,
                slack_user_id=slack_user_id,
                thread_ts=thread_ts,
                message_ts=message_ts,
                # The message that shows the answer (started just before the answer is
                # recorded, when it streams) is named in the transaction that stores it.
                answer_ts=shown.indicator_ts,
                received_id=received.id if received is not None else None,
            )
            outcome = await answer_question(
                services,
                question,
                on_text=shown.provisional,
                show=functools.partial(_show_held, services, received, shown),
            )
        if was_deleted(channel_id, message_ts):  # nor shown, nor passed on
            await withhold(
                services, outcome.audit_id, channel_id, slack_user_id, await shown.withdrawn()
            )
            settle(services, received)
            return outcome
        await shown.finish(outcome.public)
    except QuestionTakenOver:  # answered by the process that took it over
        assert received is not None
        await asking.taken_over(services, received, await shown.withdrawn())
        return None
    except Exception as exc:  # the person is always told; the detail goes to the log
        services.metrics.observe_error(kind=type(exc).__name__)
        if received is not None and answered_later(exc):
            give_up(services, received)  # the sweep answers it once its lease runs out
            await shown.fail(LATER_NOTICE)
            return None
        await shown.fail(message_for(exc, outcome=NOT_ANSWERED))
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


async def _show_held(
    services: Services, received: ReceivedQuestion | None, shown: _Shown, reply: Reply
) -> str:
    """`shown.show`, unless another process took the question over: the stream would
    start with an answer that process gives."""
    if received is not None and not await services.intake.holds(received):
        raise QuestionTakenOver(received.id)
    return await shown.show(reply)


async def set_status(slack: SlackGateway, *, channel_id: str, thread_ts: str, status: str) -> bool:
    """The status line under the thread; False where Slack does not show one here."""
    try:
        await slack.set_status(
            channel_id=channel_id,
            thread_ts=thread_ts,
            status=status,
            loading_messages=views.LOADING_MESSAGES if status else [],
        )
    except SLACK_FAILED as error:
        log.info("status_not_shown", channel=channel_id, error=error_code(error))
        return False
    return True


class _Shown:
    """The message that will show the answer: a stream that starts with the answer's first
    text, or a thinking indicator (`indicator_ts`) where Slack refuses to stream."""

    def __init__(
        self,
        services: Services,
        stream: AnswerStream | None,
        *,
        channel_id: str,
        thread_ts: str,
        asker: str,
        message_ts: str,
        indicator_ts: str | None = None,
    ) -> None:
        self.services = services
        self.slack = slack_of(services)
        self.stream = stream
        self.channel_id = channel_id
        self.thread_ts = thread_ts
        self.asker = asker
        self.message_ts = message_ts
        self.indicator_ts = indicator_ts
        self.provisional = (
            stream.add if stream is not None and services.settings.stream_model_text else None
        )

    async def show(self, reply: Reply) -> str:
        """The message the checked answer `reply` is recorded in: the stream, which the
        model's text started or which starts now with the answer's text, or, where Slack
        refuses to stream, a thinking indicator the answer replaces."""
        if self.stream is not None:
            await self.stream.settle()
            if self.stream.ts is None and not self.stream.broken:
                with contextlib.suppress(*SLACK_FAILED):  # then the indicator, or replaced
                    await self.stream.write(reply.text)
                if self.stream.ts is not None:  # all of it, or part (`broken`): replaced
                    self.stream.shown = reply.text
            if self.stream.ts is not None:
                return self.stream.ts
        if self.indicator_ts is None:
            self.stream = None
            self.indicator_ts = await asking.post_thinking(
                self.services,
                channel_id=self.channel_id,
                thread_ts=self.thread_ts,
                question_ts=self.message_ts,
            )
        return self.indicator_ts

    async def finish(self, reply: Reply) -> None:
        text, blocks = answers.answer_text(reply), answers.answer_blocks(reply)
        if self.stream is None:
            assert self.indicator_ts is not None
            await self.slack.update(
                channel=self.channel_id, ts=self.indicator_ts, text=text, blocks=blocks
            )
            return
        shown = await self.stream.settle()
        if self.stream.ts is not None and shown and not self._stands(shown, reply):
            await self._replace(text, blocks, reply)  # unchecked text: replaced whole
            return
        # An answer, or a notice (no answer, a refusal, held for review): whatever of its
        # text was not streamed yet comes with the stop, and the rest of its blocks. (A
        # whole answer is not cut into pieces to look streamed: one call, not five, under
        # Slack's rate limits and a burst's CPU; bench/RESULTS.md.)
        rest = reply.text[len(shown.rstrip()) :]
        if shown != shown.rstrip():
            rest = rest.lstrip()
        if self.stream.ts is None:
            if self.slack.streaming_refused is None:
                with contextlib.suppress(*SLACK_FAILED):
                    await self.stream.write(rest)
            if self.stream.ts is None:  # Slack refuses to stream here: posted whole
                await self._post(text, blocks, reply)
                return
            if self.stream.broken:  # only part of it was shown
                await self._replace(text, blocks, reply)
                return
            rest = ""
        if not await self.stream.stop(rest, views.stream_end_blocks(reply)):
            await self._replace(text, blocks, reply)

    async def fail(self, notice: str) -> None:
        """`notice` in place of the answer or, when Slack refuses that too, privately."""
        blocks = notice_blocks(notice)
        try:
            if self.stream is not None:
                await self.stream.settle()
            if self.stream is not None and self.stream.ts is not None:
                await self._replace(notice, blocks)
            elif self.indicator_ts is not None:
                await self.slack.update(
                    channel=self.channel_id, ts=self.indicator_ts, text=notice, blocks=blocks
                )
            else:
                await self._post(notice, blocks)
            return
        except Exception:
            log.warning("failure_notice_not_shown", channel=self.channel_id, exc_info=True)
        # Slack shows an ephemeral in a thread only once the thread has replies: a question
        # whose thread Trellis could not start gets the notice beside it.
        shown = (self.stream is not None and self.stream.ts is not None) or self.indicator_ts
        started_none = not shown and self.thread_ts == self.message_ts
        await self.slack.post_private(
            channel=self.channel_id,
            user=self.asker,
            thread_ts=None if started_none else self.thread_ts,
            text=notice,
            blocks=blocks,
        )

    async def withdrawn(self) -> str | None:
        """The message this process posted for the answer, if any, no longer streaming (a
        question taken over: it is deleted unless the other process answers in it)."""
        if self.stream is not None:
            await self.stream.settle()
            if self.stream.ts is not None:
                if not self.stream.ended:
                    await stop_streaming(self.slack, channel=self.channel_id, ts=self.stream.ts)
                return self.stream.ts
        return self.indicator_ts

    def _stands(self, shown: str, reply: Reply) -> bool:
        """Whether the streamed text is the start of the checked answer, so it may stay."""
        return (
            reply.status == AnswerStatus.ANSWERED
            and not (self.stream is not None and self.stream.broken)
            and reply.text.startswith(shown.strip())
        )

    async def _replace(
        self, text: str, blocks: list[dict[str, Any]], reply: Reply | None = None
    ) -> None:
        """`text` and `blocks` in place of what the stream showed: the message is edited
        once it has stopped streaming (Slack refuses to edit it before); one that stays
        streaming, or that cannot be edited, is left, and they are posted below it."""
        assert self.stream is not None and self.stream.ts is not None
        if not self.stream.ended:
            await self.stream.stop()
        if self.stream.stopped:
            try:
                await self.slack.update(
                    channel=self.channel_id, ts=self.stream.ts, text=text, blocks=blocks
                )
                return
            except SLACK_FAILED as error:
                log.info("stream_not_replaced", channel=self.channel_id, error=error_code(error))
        await self._post(text, blocks, reply)

    async def _post(
        self, text: str, blocks: list[dict[str, Any]], reply: Reply | None = None
    ) -> None:
        """`text` and `blocks` as a new reply in the thread; the answer's record names it."""
        ts = await self.slack.post(
            channel=self.channel_id, thread_ts=self.thread_ts, text=text, blocks=blocks
        )
        if reply is not None and reply.answer_id is not None:
            async with self.services.database.session() as session:
                await AnswerRepository(session).set_message(
                    reply.answer_id, message_ts=ts, thread_ts=self.thread_ts
                )


async def _open(
    services: Services,
    channel_id: str,
    thread_ts: str,
    slack_user_id: str,
    team_id: str,
    message_ts: str,
) -> _Shown:
    """The stream the answer will show in, started once there is text for it; where this
    process has learned Slack will not stream, the thinking indicator, posted now."""
    slack = slack_of(services)
    whose = {"channel_id": channel_id, "thread_ts": thread_ts, "asker": slack_user_id}
    if slack.streaming_refused is None:
        stream = AnswerStream(
            slack,
            channel=channel_id,
            thread_ts=thread_ts,
            question_ts=message_ts,
            recipient_user_id=slack_user_id,
            recipient_team_id=team_id or None,
            claimed=functools.partial(_claimed, services, channel_id),
        )
        return _Shown(services, stream, message_ts=message_ts, **whose)
    ts = await asking.post_thinking(
        services, channel_id=channel_id, thread_ts=thread_ts, question_ts=message_ts
    )
    return _Shown(services, None, message_ts=message_ts, indicator_ts=ts, **whose)


async def _claimed(services: Services, channel_id: str, ts: str) -> bool:
    """Whether an answer's record names the message `ts`: it shows that answer."""
    async with services.database.reading() as session:
        return await AnswerRepository(session).by_message(channel_id, ts) is not None


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
