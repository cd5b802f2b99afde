"""Retries, fallbacks and the deadline, with the real SDK against the fake Messages API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anthropic
import pytest

from app.answering import build_answerer
from app.answering.backends.anthropic import AnthropicAnswerer
from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.backends.resilient import ResilientAnswerer, classify
from app.delivery.retry import retry_after_seconds
from app.domain import Passage
from app.errors import ModelUnavailable
from tests.fakes import FakeAnthropic

PASSAGES = [
    Passage(
        chunk_id="hr-pto-2025#allowance",
        doc_id="hr-pto-2025",
        title="Paid Time Off Policy",
        url="https://wiki.example/hr/pto",
        text="Full-time employees receive 25 days of paid time off (PTO) per year. PTO accrues monthly.",
    )
]
QUESTION = "How many days of paid time off do full-time employees get per year?"


class Clock:
    """Real monotonic time plus every second slept, so backoff costs no real time."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds


@pytest.fixture
async def server() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(min_cache_tokens=0) as fake:
        yield fake


@pytest.fixture
async def client(server: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key=server.api_key, base_url=server.base_url, max_retries=0, timeout=0.5
    ) as sdk:
        yield sdk


@pytest.fixture
def clock() -> Clock:
    return Clock()


def resilient(primary, fallbacks=(), *, clock: Clock, **options) -> ResilientAnswerer:
    options.setdefault("deadline_s", 20.0)
    return ResilientAnswerer(
        primary, fallbacks, clock=clock, sleep=clock.sleep, jitter=lambda: 0.5, **options
    )


def claude(client: anthropic.AsyncAnthropic, model: str = "claude-big") -> AnthropicAnswerer:
    return AnthropicAnswerer(client, model=model)


# --- retried ----------------------------------------------------------------------------------


async def test_a_rate_limit_is_retried_honouring_retry_after(server, client, clock):
    server.fail_next(429, times=2, retry_after=3)
    result = await resilient(claude(client), [ExtractiveAnswerer()], clock=clock).answer(
        question=QUESTION, passages=PASSAGES
    )
    assert result.backend == "anthropic"
    assert result.notes == ()
    assert [r.status for r in server.message_requests] == [429, 429, 200]
    assert clock.slept == [3, 3]


@pytest.mark.parametrize(("kind", "status"), [(529, 529), (500, 500), (503, 503)])
async def test_overload_and_server_errors_are_retried(server, client, clock, kind, status):
    server.fail_next(kind, times=2)
    result = await resilient(claude(client), [ExtractiveAnswerer()], clock=clock).answer(
        question=QUESTION, passages=PASSAGES
    )
    assert result.backend == "anthropic"
    assert [r.status for r in server.message_requests] == [status, status, 200]
    assert clock.slept == [pytest.approx(0.375), pytest.approx(0.75)]


async def test_three_overloaded_attempts_fall_back_to_the_sources_with_a_note(
    server, client, clock
):
    server.fail_next(529, times=5)
    result = await resilient(claude(client), [ExtractiveAnswerer()], clock=clock).answer(
        question=QUESTION, passages=PASSAGES
    )
    assert len(server.message_requests) == 3
    assert result.backend == "extractive"
    assert result.citations and result.confidence > 0
    assert result.notes[-1] == (
        "The AI model was unavailable (overloaded), so this answer was composed directly from the sources."
    )


async def test_timeouts_are_retried_then_fall_back_within_the_deadline(server, client, clock):
    server.fail_next("timeout", times=3)
    started = time.monotonic()
    result = await resilient(
        claude(client), [ExtractiveAnswerer()], clock=clock, deadline_s=10
    ).answer(question=QUESTION, passages=PASSAGES)
    assert len(server.message_requests) == 3
    assert result.backend == "extractive"
    assert "(timed out)" in result.notes[-1]
    assert time.monotonic() - started < 5


async def test_the_deadline_cuts_a_hanging_request_short(server, clock):
    async with anthropic.AsyncAnthropic(
        api_key=server.api_key, base_url=server.base_url, max_retries=0, timeout=60
    ) as slow:
        server.fail_next("timeout", times=3)
        started = time.monotonic()
        result = await resilient(
            claude(slow), [ExtractiveAnswerer()], clock=clock, deadline_s=1.5, reserve_s=0.5
        ).answer(question=QUESTION, passages=PASSAGES)
    assert time.monotonic() - started < 1.5
    assert result.backend == "extractive"
    assert len(server.message_requests) == 1


async def test_connection_errors_are_retried(clock):
    async with FakeAnthropic() as gone:
        base_url = gone.base_url
    async with anthropic.AsyncAnthropic(
        api_key="test-key", base_url=base_url, max_retries=0
    ) as sdk:
        result = await resilient(claude(sdk), [ExtractiveAnswerer()], clock=clock).answer(
            question=QUESTION, passages=PASSAGES
        )
    assert len(clock.slept) == 2
    assert "(connection failed)" in result.notes[-1]


async def test_a_retry_after_beyond_the_deadline_goes_straight_to_the_fallback(
    server, client, clock
):
    server.fail_next(429, times=3, retry_after=60)
    result = await resilient(
        claude(client), [ExtractiveAnswerer()], clock=clock, deadline_s=20
    ).answer(question=QUESTION, passages=PASSAGES)
    assert len(server.message_requests) == 1
    assert clock.slept == []
    assert result.backend == "extractive"
    assert "(rate limit reached)" in result.notes[-1]


# --- not retried ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("billing", "(spending limit reached)"),
        ("billing_402", "(spending limit reached)"),
        (400, "(request rejected)"),
        (403, "(permission denied)"),
        (404, "(request rejected)"),
        ("malformed", "(unreadable reply)"),
    ],
)
async def test_failures_that_waiting_cannot_fix_go_straight_to_the_fallback(
    server, client, clock, kind, reason
):
    server.fail_next(kind, times=3)
    result = await resilient(claude(client), [ExtractiveAnswerer()], clock=clock).answer(
        question=QUESTION, passages=PASSAGES
    )
    assert len(server.message_requests) == 1
    assert clock.slept == []
    assert result.backend == "extractive"
    assert reason in result.notes[-1]


async def test_a_spend_limit_is_not_mistaken_for_a_rate_limit(server, client, clock):
    server.fail_next("billing")
    with pytest.raises(anthropic.RateLimitError) as raised:
        await claude(client).answer(question=QUESTION, passages=PASSAGES)
    assert raised.value.error_code == "enforced_spend_limit_reached"
    failure = classify(raised.value)
    assert (failure.reason, failure.retryable) == ("spend_limit", False)


async def test_a_wrong_key_is_not_retried(server, clock):
    async with anthropic.AsyncAnthropic(
        api_key="wrong", base_url=server.base_url, max_retries=0
    ) as sdk:
        result = await resilient(claude(sdk), [ExtractiveAnswerer()], clock=clock).answer(
            question=QUESTION, passages=PASSAGES
        )
    assert [r.status for r in server.message_requests] == [401]
    assert "(authentication failed)" in result.notes[-1]


# --- fallbacks --------------------------------------------------------------------------------


async def test_a_cheaper_model_is_tried_before_the_extractive_answerer(server, client, clock):
    server.fail_next(529, times=3)
    chain = resilient(
        claude(client, "claude-big"),
        [claude(client, "claude-small"), ExtractiveAnswerer()],
        clock=clock,
    )
    result = await chain.answer(question=QUESTION, passages=PASSAGES)
    assert [r.body["model"] for r in server.message_requests] == ["claude-big"] * 3 + [
        "claude-small"
    ]
    assert result.backend == "anthropic" and result.model == "claude-small"
    assert (
        result.notes[-1]
        == "The AI model was unavailable (overloaded), so this answer came from a backup AI model."
    )


async def test_the_requested_model_goes_to_the_primary_only(server, client, clock):
    server.fail_next(500, times=3)
    chain = resilient(claude(client, "claude-big"), [claude(client, "claude-small")], clock=clock)
    await chain.answer(question=QUESTION, passages=PASSAGES, model="claude-chosen")
    assert [r.body["model"] for r in server.message_requests] == ["claude-chosen"] * 3 + [
        "claude-small"
    ]


async def test_when_everything_fails_the_person_is_told_clearly(server, client, clock):
    server.fail_next(529, times=6)
    chain = resilient(claude(client), [claude(client, "claude-small")], clock=clock)
    with pytest.raises(ModelUnavailable) as raised:
        await chain.answer(question=QUESTION, passages=PASSAGES)
    assert len(server.message_requests) == 6
    assert "overloaded" in raised.value.user_message
    assert "try again" in raised.value.user_message


async def test_a_configuration_failure_asks_for_the_admins(server, client, clock):
    server.fail_next("billing")
    with pytest.raises(ModelUnavailable) as raised:
        await resilient(claude(client), clock=clock).answer(question=QUESTION, passages=PASSAGES)
    assert "admins" in raised.value.user_message


async def test_a_successful_primary_answer_carries_no_note(server, client, clock):
    result = await resilient(claude(client), [ExtractiveAnswerer()], clock=clock).answer(
        question=QUESTION, passages=PASSAGES
    )
    assert result.backend == "anthropic" and result.notes == ()
    assert len(server.message_requests) == 1
    assert all(r.headers["x-stainless-retry-count"] == "0" for r in server.message_requests)


# --- backoff arithmetic -----------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    chain = ResilientAnswerer(
        ExtractiveAnswerer(), base_delay_s=0.5, max_delay_s=3.0, jitter=lambda: 1.0
    )
    assert [chain._delay(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    low = ResilientAnswerer(ExtractiveAnswerer(), base_delay_s=0.5, jitter=lambda: 0.0)
    assert low._delay(2, None) == 0.5
    assert low._delay(1, 4.0) == 4.0


def test_retry_after_is_read_in_its_three_forms():
    assert retry_after_seconds({"retry-after": "7"}) == 7
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= retry_after_seconds({"retry-after": future}) <= 31
    assert retry_after_seconds({}) is None


# --- wiring -----------------------------------------------------------------------------------


def test_build_answerer_is_extractive_without_a_client_and_a_chain_with_one(server):
    assert isinstance(build_answerer(), ExtractiveAnswerer)
    sdk = anthropic.AsyncAnthropic(api_key="k", base_url=server.base_url)
    chain = build_answerer(client=sdk, model="claude-big", fallback_model="claude-small")
    assert isinstance(chain, ResilientAnswerer)
    assert [getattr(b, "model", b.name) for b in (chain.primary, *chain.fallbacks)] == [
        "claude-big",
        "claude-small",
        "extractive",
    ]
    assert chain.primary.client.max_retries == 0


async def test_a_spend_limit_skips_the_cheaper_model_on_the_same_account(server, client, clock):
    server.fail_next("billing", times=3)
    chain = resilient(
        claude(client, "claude-big"),
        [claude(client, "claude-small"), ExtractiveAnswerer()],
        clock=clock,
    )
    result = await chain.answer(question=QUESTION, passages=PASSAGES)
    assert [r.body["model"] for r in server.message_requests] == ["claude-big"]
    assert result.backend == "extractive"
    assert "(spending limit reached)" in result.notes[-1]
