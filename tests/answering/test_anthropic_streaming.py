"""The Anthropic backend streaming: the real SDK's `messages.stream` against the local fake
Messages API over loopback, the text handed over as the model writes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import anthropic
import pytest

from app.answering.backends.anthropic import AnthropicAnswerer
from app.answering.backends.resilient import ResilientAnswerer
from app.answering.prompts import NO_ANSWER
from tests.answering.test_anthropic import PASSAGES
from tests.fakes import FakeAnthropic

QUESTION = "How many days of paid time off do full-time employees receive?"
BAD_CITATION = [
    {
        "type": "text",
        "text": "Employees get 40 days of PTO.",
        "citations": [
            {
                "type": "search_result_location",
                "cited_text": "Full-time employees receive 40 days of paid time off per year.",
                "search_result_index": 0,
                "source": "https://wiki.example/hr/pto",
                "title": "Paid Time Off Policy",
                "start_block_index": 7,
                "end_block_index": 8,
            }
        ],
    }
]


@pytest.fixture
async def server() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(min_cache_tokens=0) as fake:
        yield fake


@pytest.fixture
async def client(server: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key=server.api_key, base_url=server.base_url, max_retries=0, timeout=5.0
    ) as sdk:
        yield sdk


@pytest.fixture
def answerer(client: anthropic.AsyncAnthropic) -> AnthropicAnswerer:
    return AnthropicAnswerer(client, model="claude-test-1", max_tokens=512)


class Sink:
    def __init__(self) -> None:
        self.pieces: list[str] = []

    async def __call__(self, text: str) -> None:
        self.pieces.append(text)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


async def test_streamed_text_is_the_answer_read_from_the_final_message(answerer, server):
    whole = await answerer.answer(question=QUESTION, passages=PASSAGES)
    sink = Sink()
    streamed = await answerer.answer(question=QUESTION, passages=PASSAGES, on_text=sink)
    assert server.message_requests[-1].body["stream"] is True
    assert len(sink.pieces) > 3  # word by word, not in one piece
    assert sink.text.strip() == streamed.text == whole.text
    assert "[1]" in sink.text
    assert streamed.citations == whole.citations
    assert streamed.confidence == whole.confidence
    assert streamed.usage.output_tokens == whole.usage.output_tokens


async def test_text_is_handed_over_before_the_model_has_finished(answerer, server):
    server.hold_last_token = asyncio.Event()
    sink = Sink()
    answering = asyncio.create_task(
        answerer.answer(question=QUESTION, passages=PASSAGES, on_text=sink)
    )
    while not sink.pieces:
        await asyncio.sleep(0.01)
        assert not answering.done()
    assert not answering.done()
    server.hold_last_token.set()
    answer = await answering
    assert answer.text.startswith(sink.pieces[0])


async def test_no_answer_is_never_handed_over(answerer, server):
    server.reply_next([{"type": "text", "text": f"{NO_ANSWER} - nothing in the documents."}])
    sink = Sink()
    answer = await answerer.answer(question=QUESTION, passages=PASSAGES, on_text=sink)
    assert answer.text == "" and answer.confidence == 0
    assert sink.pieces == []


async def test_a_citation_that_fails_its_check_gets_no_marker(answerer, server):
    server.reply_next(BAD_CITATION)
    sink = Sink()
    answer = await answerer.answer(question=QUESTION, passages=PASSAGES, on_text=sink)
    assert sink.text == "Employees get 40 days of PTO."  # shown, provisionally
    assert answer.citations == () and answer.confidence == 0  # and the checks refuse it


async def test_the_resilient_wrapper_streams_the_primary_only(client, server):
    primary = AnthropicAnswerer(client, model="claude-test-1")
    fallback = AnthropicAnswerer(client, model="claude-test-2")
    wrapper = ResilientAnswerer(primary, [fallback], attempts=1)
    assert wrapper.streams_text
    server.fail_next(400)
    sink = Sink()
    answer = await wrapper.answer(question=QUESTION, passages=PASSAGES, on_text=sink)
    assert answer.model == "claude-test-2" and answer.text
    assert sink.pieces == []
    assert "stream" not in server.message_requests[-1].body
