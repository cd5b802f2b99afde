"""Claude's answer streamed into the assistant view as the model writes it: the real Bolt
app against the sandbox over Socket Mode, the real anthropic SDK against the fake Messages
API over loopback. The streamed text is provisional until its citations are checked."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anthropic
from sqlalchemy import func, select

from app import answering
from app.answering.base import Answerer
from app.config.workspace import Workspace, default_workspace_path
from app.db.models.feedback import OwnerNotice
from handlers.answer_stream import BUFFER
from tests.fakes import FakeAnthropic
from tests.handlers.test_assistant_view import SAM
from tests.harness import RunningTrellis, blocks_text, running_trellis
from tests.workflow_helpers import eventually

QUESTION = "When is Trail Day in 2026?"
STREAM_FLOW = ["assistant.threads.setStatus", "chat.startStream"]
TEXT_CALLS = ("chat.startStream", "chat.appendStream")


def claude(client: anthropic.AsyncAnthropic) -> Callable[[Workspace], Answerer]:
    return lambda _: answering.build_answerer(client=client, model="claude-sonnet-4-6")


def unreviewed_workspace(tmp_path: Path) -> Path:
    """The demo workspace without its review rule for answers: an answer that could be held
    for review is never streamed before its checks (see the last test)."""
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    rules = root / "rules.yml"
    text = rules.read_text()
    rule = "  review_when: 'channel.is_shared || \"review\" in draft.tags'\n"
    assert rule in text
    rules.write_text(text.replace(rule, ""))
    return root


@asynccontextmanager
async def trellis_on_claude(
    tmp_path: Path, server: FakeAnthropic, *, reviewed: bool = False
) -> AsyncIterator[RunningTrellis]:
    workspace = default_workspace_path() if reviewed else unreviewed_workspace(tmp_path)
    async with (
        anthropic.AsyncAnthropic(
            api_key=server.api_key, base_url=server.base_url, max_retries=0, timeout=10.0
        ) as client,
        running_trellis(tmp_path, workspace=workspace, answerer_for=claude(client)) as trellis,
    ):
        yield trellis


async def _ask_in_assistant(trellis: RunningTrellis, email: str) -> tuple[str, str, int]:
    user = trellis.user(email)
    thread_ts = await trellis.sandbox.open_assistant(user)
    im = trellis.sandbox.workspace.open_im(user).id
    await trellis.sandbox.wait_for_message(
        im, lambda m: m.bot_id and m.is_reply and m.thread_ts == thread_ts
    )
    start = len(trellis.sandbox.workspace.calls)
    await trellis.sandbox.post_message(user, im, QUESTION, thread_ts=thread_ts)
    return im, thread_ts, start


def _streamed(params: dict) -> str:
    """The text a streaming call carries, in the documented `markdown_text`."""
    assert "chunks" not in params
    return str(params.get("markdown_text") or "")


def _texts(trellis: RunningTrellis, start: int) -> list[str]:
    """The text of the calls that started and grew the stream, in order."""
    return [
        _streamed(c.params)
        for c in trellis.sandbox.workspace.calls[start:]
        if c.method in TEXT_CALLS and c.response.get("ok")
    ]


async def test_claudes_text_reaches_slack_before_the_model_has_finished(tmp_path):
    async with FakeAnthropic(min_cache_tokens=0, token_delay_s=0.005) as server:
        server.hold_last_token = asyncio.Event()
        async with trellis_on_claude(tmp_path, server) as trellis:
            im, thread_ts, start = await _ask_in_assistant(trellis, SAM)
            first = await trellis.sandbox.wait_for_call(
                "chat.startStream", lambda c: bool(_streamed(c.params)), timeout=15
            )
            # The model has not written its last word, and Slack already shows its first.
            assert not trellis.sandbox.calls_to("chat.stopStream")
            assert first.response["ok"]
            server.hold_last_token.set()
            stop = await trellis.sandbox.wait_for_call("chat.stopStream", timeout=15)

            flow = [c.method for c in trellis.sandbox.workspace.calls[start:]]
            relevant = [m for m in flow if m in {*STREAM_FLOW, "chat.stopStream", "chat.update"}]
            assert relevant[:2] == STREAM_FLOW
            assert relevant[-1] == "chat.stopStream"
            assert set(relevant[2:-1]) <= {"chat.appendStream"}
            assert [r.body.get("stream") for r in server.message_requests] == [True], [
                (r.body.get("system"), r.body["messages"][-1]) for r in server.message_requests
            ]
            answer = trellis.sandbox.workspace.find_message(im, stop.params["ts"])
            assert answer is not None and not answer.streaming
            streamed = "".join(_texts(trellis, start)) + _streamed(stop.params)
            assert answer.text.strip() == streamed.strip()
            assert "According to the documents" in answer.text and "[1]" in answer.text
            blocks = stop.params["blocks"]
            assert "Confidence:" in blocks_text(blocks) and "[1]" in blocks_text(blocks)
            assert any(b["type"] == "context_actions" for b in blocks)
            assert not trellis.sandbox.calls_to("chat.update")  # it stood: nothing replaced


async def test_an_answer_whose_citations_fail_is_replaced_not_left_half_shown(tmp_path):
    async with FakeAnthropic(min_cache_tokens=0) as server:
        # The model holds its last word until its first ones are shown.
        server.hold_last_token = asyncio.Event()
        server.reply_next(
            [
                {
                    "type": "text",
                    "text": "Trail Day moves to FREESHIP50 street every year.",
                    "citations": [
                        {
                            "type": "search_result_location",
                            "cited_text": "Trail Day moves to FREESHIP50 street every year.",
                            "search_result_index": 0,
                            "source": "https://nowhere.example/made-up",
                            "title": "Made up",
                            "start_block_index": 0,
                            "end_block_index": 1,
                        }
                    ],
                }
            ]
        )
        async with trellis_on_claude(tmp_path, server) as trellis:
            im, thread_ts, start = await _ask_in_assistant(trellis, SAM)
            shown = await trellis.sandbox.wait_for_call(
                "chat.startStream", lambda c: "FREESHIP50" in _streamed(c.params), timeout=15
            )
            server.hold_last_token.set()
            update = await trellis.sandbox.wait_for_call("chat.update", timeout=15)
            assert shown.time <= update.time  # shown provisionally, then replaced
            stops = trellis.sandbox.calls_to("chat.stopStream")
            assert len(stops) == 1 and not stops[0].params.get("blocks")
            assert stops[0].time <= update.time
            answer = trellis.sandbox.workspace.find_message(im, update.params["ts"])
            assert answer is not None and not answer.streaming
            assert "FREESHIP50" not in answer.text
            assert "FREESHIP50" not in blocks_text(answer.blocks)
            assert "couldn't find a well-supported answer" in answer.text

            # The owners' notice of the unanswered question is written after the reply:
            # the test ends once it is, not while its write is open.
            async def noticed() -> bool:
                async with trellis.services.database.reading() as session:
                    return bool(await session.scalar(select(func.count(OwnerNotice.id))))

            await eventually(noticed, within=15)


async def test_where_slack_refuses_to_stream_claudes_answer_is_posted_whole(tmp_path):
    async with (
        FakeAnthropic(min_cache_tokens=0) as server,
        trellis_on_claude(tmp_path, server) as trellis,
    ):
        trellis.sandbox.web_api.withdraw("chat.startStream")
        for _ in range(2):
            im, thread_ts, start = await _ask_in_assistant(trellis, SAM)
            answer = await trellis.sandbox.wait_for_message(
                im,
                lambda m, thread_ts=thread_ts: (
                    m.bot_id
                    and m.is_reply
                    and m.thread_ts == thread_ts
                    and "Confidence:" in blocks_text(m.blocks)
                ),
                timeout=15,
            )
            assert not trellis.sandbox.calls_to("chat.appendStream")
            assert not trellis.sandbox.calls_to("chat.stopStream")
            assert "According to the documents" in blocks_text(answer.blocks)
            assert "[1]" in blocks_text(answer.blocks)
        # Slack's refusal is learned from the first answer: the next is not streamed at all.
        assert len(trellis.sandbox.calls_to("chat.startStream")) == 1
        assert server.message_requests[-1].body.get("stream") is None


async def test_an_answer_that_could_be_held_for_review_is_checked_before_it_streams(tmp_path):
    async with (
        FakeAnthropic(min_cache_tokens=0) as server,
        trellis_on_claude(tmp_path, server, reviewed=True) as trellis,
    ):
        # The demo's rule holds answers built on documents tagged "review", and one of
        # them is among this question's passages: the model is not streamed.
        im, thread_ts, start = await _ask_in_assistant(trellis, SAM)
        await trellis.sandbox.wait_for_call("chat.stopStream", timeout=15)
        assert [r.body.get("stream") for r in server.message_requests] == [None]


async def test_by_default_claudes_answer_to_a_direct_message_streams_in_its_thread(tmp_path):
    async with (
        FakeAnthropic(min_cache_tokens=0, token_delay_s=0.005) as server,
        trellis_on_claude(tmp_path, server) as trellis,
    ):
        assert trellis.services.settings.stream_answers == "auto"
        sam = trellis.user(SAM)
        start = len(trellis.sandbox.workspace.calls)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, QUESTION)
        im = trellis.sandbox.workspace.open_im(sam).id
        answer = await trellis.answer_in_thread(im, ts, timeout=15)
        started = trellis.sandbox.calls_to("chat.startStream")
        assert [(c.params["channel"], c.params["thread_ts"]) for c in started] == [(im, ts)]
        assert _texts(trellis, start)  # Claude's text appended as it was written
        assert "According to the documents" in answer.text and "[1]" in answer.text
        assert "Confidence:" in blocks_text(answer.blocks)
        assert not trellis.sandbox.calls_to("chat.postMessage")  # no thinking indicator


async def test_claudes_words_are_gathered_into_few_calls_not_one_call_each(tmp_path):
    async with (
        FakeAnthropic(min_cache_tokens=0, token_delay_s=0.002) as server,
        trellis_on_claude(tmp_path, server) as trellis,
    ):
        im, thread_ts, start = await _ask_in_assistant(trellis, SAM)
        stop = await trellis.sandbox.wait_for_call("chat.stopStream", timeout=15)
        answer = trellis.sandbox.workspace.find_message(im, stop.params["ts"])
        assert answer is not None and "According to the documents" in answer.text
        written = len(re.findall(r"\s*\S+\s*|\s+", answer.text))  # the model's pieces
        texts = _texts(trellis, start)
        # Each call carries BUFFER characters, or what came within PAUSE seconds: the
        # model wrote its answer in far less than PAUSE, in many pieces.
        assert written >= 10
        assert 1 <= len(texts) <= len(answer.text) // BUFFER + 1
        assert all(texts)
        assert answer.text.strip() == ("".join(texts) + _streamed(stop.params)).strip()
