"""The Anthropic backend: the real SDK against the local fake Messages API over loopback."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import anthropic
import pytest

from app.answering.backends.anthropic import AnthropicAnswerer
from app.answering.prompts import ANSWER_PROTOCOL, NO_ANSWER, answer_system_prompt, render
from app.domain import DocumentStatus, Passage, Turn
from app.errors import MalformedResponse
from tests.fakes import FakeAnthropic

PTO = Passage(
    chunk_id="hr-pto-2025#allowance",
    doc_id="hr-pto-2025",
    title="Paid Time Off Policy",
    url="https://wiki.example/hr/pto",
    supersedes="hr-pto-2023",
    score=9.0,
    text=(
        "## Allowance\n\nFull-time employees receive **25 days of paid time off (PTO) per year**. "
        "PTO accrues at 2.08 days per month.\n\n## Carryover\n\nUp to 5 unused days carry over "
        "into the next year and must be used by March 31."
    ),
)
PTO_2023 = Passage(
    chunk_id="hr-pto-2023#allowance",
    doc_id="hr-pto-2023",
    title="Paid Time Off Policy (2023)",
    status=DocumentStatus.DEPRECATED,
    text="Full-time employees receive 20 days of paid time off per year.",
)
WIFI = Passage(
    chunk_id="it-help#wifi",
    doc_id="it-help",
    title="IT Help",
    text="Visitors use NW-Guest. The guest password changes every Monday and is posted at reception.",
)
PASSAGES = [PTO, WIFI]


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


def last_body(server: FakeAnthropic) -> dict:
    return server.message_requests[-1].body


# --- the request ---------------------------------------------------------------------------


async def test_passages_are_sent_as_search_results_with_citations_enabled(answerer, server):
    await answerer.answer(question="How many PTO days per year?", passages=PASSAGES)
    body = last_body(server)
    assert body["model"] == "claude-test-1"
    assert body["max_tokens"] == 512
    final = body["messages"][-1]
    assert final["role"] == "user"
    results = [b for b in final["content"] if b["type"] == "search_result"]
    assert [r["source"] for r in results] == ["https://wiki.example/hr/pto", "it-help"]
    assert [r["title"] for r in results] == ["Paid Time Off Policy", "IT Help"]
    assert all(r["citations"] == {"enabled": True} for r in results)
    assert all(
        block["type"] == "text" and block["text"] in PTO.text for block in results[0]["content"]
    )
    assert len(results[0]["content"]) > 1
    assert final["content"][-1] == {"type": "text", "text": "How many PTO days per year?"}


async def test_the_stable_prefix_is_marked_for_caching(answerer, server):
    await answerer.answer(
        question="How many PTO days?", passages=PASSAGES, instructions="Answer in one sentence."
    )
    system = last_body(server)["system"]
    assert [b["text"] for b in system] == [
        answer_system_prompt(),
        ANSWER_PROTOCOL,
        "Answer in one sentence.",
    ]
    assert [b.get("cache_control") for b in system] == [None, None, {"type": "ephemeral"}]
    marked = [
        b
        for m in last_body(server)["messages"]
        for b in m["content"]
        if isinstance(b, dict) and "cache_control" in b
    ]
    assert marked == []


async def test_the_system_prompt_asks_for_search_results_only_and_no_answer(answerer, server):
    await answerer.answer(question="How many PTO days?", passages=PASSAGES)
    system = " ".join(b["text"] for b in last_body(server)["system"])
    assert "only the search results" in system
    assert f"reply with exactly {NO_ANSWER}" in system


async def test_earlier_turns_are_sent_as_prior_messages(answerer, server):
    history = [
        Turn(question="How many PTO days do I get?", answer="25 days per year [1]."),
        Turn(question="And sick days?", answer=""),
    ]
    await answerer.answer(question="Do unused days carry over?", passages=PASSAGES, history=history)
    messages = last_body(server)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"] == "How many PTO days do I get?"
    assert messages[1]["content"] == "25 days per year [1]."
    assert messages[3]["content"]
    assert (
        sum(
            1
            for m in messages
            for b in m["content"]
            if isinstance(b, dict) and b["type"] == "search_result"
        )
        == 2
    )


async def test_a_superseded_passage_is_not_sent(answerer, server):
    await answerer.answer(question="How many PTO days per year?", passages=[PTO_2023, PTO])
    sources = [
        b["source"]
        for b in last_body(server)["messages"][-1]["content"]
        if b["type"] == "search_result"
    ]
    assert sources == ["https://wiki.example/hr/pto"]


async def test_a_deprecated_passage_is_labelled_in_its_title(answerer, server):
    await answerer.answer(question="How many PTO days per year?", passages=[PTO_2023])
    titles = [
        b["title"]
        for b in last_body(server)["messages"][-1]["content"]
        if b["type"] == "search_result"
    ]
    assert titles == ["Paid Time Off Policy (2023) (deprecated)"]


async def test_no_passages_means_no_call(answerer, server):
    result = await answerer.answer(question="How many PTO days?", passages=[])
    assert (result.text, result.confidence) == ("", 0)
    assert server.message_requests == []


async def test_the_caller_may_choose_the_model(answerer, server):
    result = await answerer.answer(
        question="How many PTO days per year?", passages=PASSAGES, model="claude-other"
    )
    assert last_body(server)["model"] == "claude-other"
    assert result.model == "claude-other"


async def test_the_sdk_retries_are_switched_off(server):
    async with anthropic.AsyncAnthropic(api_key=server.api_key, base_url=server.base_url) as sdk:
        answerer = AnthropicAnswerer(sdk, model="claude-test-1")
        server.fail_next(529)
        with pytest.raises(anthropic.InternalServerError):
            await answerer.answer(question="How many PTO days per year?", passages=PASSAGES)
    assert len(server.message_requests) == 1


# --- the reply -----------------------------------------------------------------------------


async def test_citations_are_mapped_back_to_passages_and_verified(answerer):
    result = await answerer.answer(
        question="How many days of paid time off per year?", passages=PASSAGES
    )
    assert result.backend == "anthropic"
    assert result.model == "claude-test-1"
    assert len(result.citations) == 1
    citation = result.citations[0]
    assert (citation.doc_id, citation.chunk_id, citation.url) == (
        "hr-pto-2025",
        "hr-pto-2025#allowance",
        "https://wiki.example/hr/pto",
    )
    assert (
        citation.quote == "Full-time employees receive **25 days of paid time off (PTO) per year**."
    )
    assert citation.quote in PTO.text
    assert "[1]" in result.text
    assert 0.6 <= result.confidence <= 1.0


async def test_usage_reports_cache_writes_then_reads(answerer):
    long_instructions = "Workspace style guide. " * 400
    first = await answerer.answer(
        question="How many PTO days?", passages=PASSAGES, instructions=long_instructions
    )
    second = await answerer.answer(
        question="When does the guest password change?",
        passages=PASSAGES,
        instructions=long_instructions,
    )
    assert first.usage.cache_write_tokens > 0 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    assert second.usage.cache_write_tokens == 0
    assert first.usage.input_tokens > 0 and first.usage.output_tokens > 0


async def test_a_prefix_below_the_minimum_cacheable_length_is_not_cached():
    # The real API silently skips caching below 1024-4096 tokens; Trellis's own prompt is
    # shorter, so caching only pays once a workspace adds long instructions.
    strict = FakeAnthropic()
    async with (
        strict,
        anthropic.AsyncAnthropic(
            api_key=strict.api_key, base_url=strict.base_url, max_retries=0
        ) as sdk,
    ):
        answerer = AnthropicAnswerer(sdk, model="claude-test-1")
        for _ in range(2):
            result = await answerer.answer(question="How many PTO days?", passages=PASSAGES)
            assert (result.usage.cache_write_tokens, result.usage.cache_read_tokens) == (0, 0)


async def test_no_answer_reply_gives_an_empty_answer_with_zero_confidence(answerer, server):
    result = await answerer.answer(question="Which chili recipe won?", passages=PASSAGES)
    assert (result.text, result.citations, result.confidence) == ("", (), 0)
    assert result.usage.output_tokens > 0


async def test_a_citation_of_text_that_is_not_in_the_passages_is_dropped(answerer, server):
    server.reply_next(
        [
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
    )
    result = await answerer.answer(question="How many PTO days?", passages=PASSAGES)
    assert result.citations == ()
    assert result.confidence == 0
    assert any("did not match the sources" in n for n in result.notes)


async def test_a_citation_of_a_search_result_that_was_not_sent_is_dropped(answerer, server):
    server.reply_next(
        [
            {
                "type": "text",
                "text": "Salaries are secret.",
                "citations": [
                    {
                        "type": "search_result_location",
                        "cited_text": "Salaries are secret.",
                        "search_result_index": 5,
                        "source": "hr-salaries",
                        "title": "Salaries",
                        "start_block_index": 0,
                        "end_block_index": 1,
                    }
                ],
            }
        ]
    )
    result = await answerer.answer(question="How many PTO days?", passages=PASSAGES)
    assert result.citations == () and result.confidence == 0


async def test_a_multi_block_citation_quotes_the_exact_passage_span(answerer, server):
    blocks = [
        "Full-time employees receive **25 days of paid time off (PTO) per year**.",
        "PTO accrues at 2.08 days per month.",
    ]
    server.reply_next(
        [
            {
                "type": "text",
                "text": "You get 25 days a year, accruing monthly.",
                "citations": [
                    {
                        "type": "search_result_location",
                        "cited_text": "".join(blocks),
                        "search_result_index": 0,
                        "source": "https://wiki.example/hr/pto",
                        "title": "Paid Time Off Policy",
                        "start_block_index": 1,
                        "end_block_index": 3,
                    }
                ],
            }
        ]
    )
    result = await answerer.answer(question="How many PTO days?", passages=PASSAGES)
    assert [c.quote for c in result.citations] == [" ".join(blocks)]
    assert result.citations[0].quote in PTO.text


async def test_confidence_follows_the_share_of_the_answer_that_is_cited(answerer, server):
    cited = {
        "type": "text",
        "text": "The guest password changes every Monday.",
        "citations": [
            {
                "type": "search_result_location",
                "cited_text": "The guest password changes every Monday and is posted at reception.",
                "search_result_index": 1,
                "source": "it-help",
                "title": "IT Help",
                "start_block_index": 1,
                "end_block_index": 2,
            }
        ],
    }
    uncited = {
        "type": "text",
        "text": " It is also printed on the back of every badge, which is handy.",
    }
    server.reply_next([cited])
    full = await answerer.answer(question="When does the guest password change?", passages=PASSAGES)
    server.reply_next([cited, uncited])
    half = await answerer.answer(question="When does the guest password change?", passages=PASSAGES)
    server.reply_next([{"type": "text", "text": "It changes every Monday."}])
    none = await answerer.answer(question="When does the guest password change?", passages=PASSAGES)
    assert full.confidence >= 0.9
    assert 0.3 < half.confidence < full.confidence
    assert none.confidence == 0 and none.citations == ()
    assert re.search(r"Monday\. \[1\] It is also", half.text) or "Monday. [1]" in half.text


async def test_a_refusal_gives_an_empty_answer_with_a_note(answerer, server):
    server.reply_next([{"type": "text", "text": "I can't help with that."}], stop_reason="refusal")
    result = await answerer.answer(question="How many PTO days?", passages=PASSAGES)
    assert (result.text, result.confidence) == ("", 0)
    assert result.notes


async def test_a_reply_cut_off_at_max_tokens_is_less_confident(answerer, server):
    question = "How many days of paid time off per year?"
    sentence = "Full-time employees receive **25 days of paid time off (PTO) per year**."
    content = [
        {
            "type": "text",
            "text": sentence,
            "citations": [
                {
                    "type": "search_result_location",
                    "cited_text": sentence,
                    "search_result_index": 0,
                    "source": "https://wiki.example/hr/pto",
                    "title": "Paid Time Off Policy",
                    "start_block_index": 1,
                    "end_block_index": 2,
                }
            ],
        }
    ]
    server.reply_next(content)
    complete = await answerer.answer(question=question, passages=PASSAGES)
    server.reply_next(content, stop_reason="max_tokens")
    cut = await answerer.answer(question=question, passages=PASSAGES)
    assert cut.confidence == pytest.approx(0.8 * complete.confidence, abs=0.002)
    assert any("cut off" in n for n in cut.notes)


async def test_an_unreadable_reply_raises_malformed_response(answerer, server):
    server.fail_next("malformed")
    with pytest.raises(MalformedResponse):
        await answerer.answer(question="How many PTO days?", passages=PASSAGES)


async def test_a_wrong_key_is_an_authentication_error(server):
    async with anthropic.AsyncAnthropic(
        api_key="wrong", base_url=server.base_url, max_retries=0
    ) as sdk:
        with pytest.raises(anthropic.AuthenticationError) as raised:
            await AnthropicAnswerer(sdk, model="m").answer(
                question="How many PTO days?", passages=PASSAGES
            )
    assert raised.value.type == "authentication_error"


# --- prompts -------------------------------------------------------------------------------


def test_a_workspace_prompt_is_rendered_with_safe_placeholders():
    template = 'You answer for {company} on {unknown}. Example: {"json": true}'
    assert (
        render(template, company="Acme")
        == 'You answer for Acme on {unknown}. Example: {"json": true}'
    )
    assert render("For {company}.", {"company": "Acme"}) == "For Acme."
    assert (
        answer_system_prompt("Assistant of {company}.", company="Northwind")
        == "Assistant of Northwind."
    )
    assert "the company" in answer_system_prompt()
