"""Retries, fallbacks and a deadline around answering backends.

`ResilientAnswerer(primary, fallbacks)` asks the primary backend, retrying failures that
may pass (rate limits, overload, server errors, timeouts, dropped connections) at most
`attempts` times with exponential backoff and jitter, waiting at least what the API's
`retry-after` asks. Failures that will not pass by waiting (a bad key, a bad request, a
spend limit or billing problem) are not retried. Then it tries each fallback in order
(a cheaper model, the extractive answerer) and adds a plain note for the person saying
what happened. A fallback on the same backend as a failure of the account (bad key,
spend limit) is skipped, since it would fail the same way. If every backend fails it
raises `ModelUnavailable`.

Given `on_text`, the primary backend streams its text there when it can (the fallbacks
answer whole). Once an attempt that has streamed some text fails, later attempts do not
stream: what was shown is left for the caller to replace with the final answer.

All of it happens within `deadline_s`. Each backend's turn ends `reserve_s` per remaining
fallback before the deadline, so the last resort (usually the extractive answerer,
which takes milliseconds) always gets its turn. The SDK's own retries must be off
(`AsyncAnthropic(max_retries=0)`) so that the attempt count here is the real one.

How the Messages API reports errors (status, `error.type`, `error.details.error_code`):
    429 rate_limit_error               retried, honouring retry-after
    429 rate_limit_error + error_code  enforced_spend_limit_reached /
                                       contract_spend_limit_reached: a spend cap, not
                                       a rate limit: not retried (the SDK still raises
                                       RateLimitError for it)
    402 billing_error                  not retried (linked_organization_* codes too)
    529 overloaded_error, 5xx          retried
    401, 403, 400, 404, 413, 422       not retried
    timeouts, connection errors        retried
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

import anthropic

from app.answering.base import Answerer, TextSink
from app.delivery.retry import backoff, retry_after_seconds
from app.domain import ModelAnswer, Passage, Turn
from app.errors import MalformedResponse, ModelUnavailable

log = logging.getLogger(__name__)

SPEND_LIMIT_CODES = frozenset(
    {
        "enforced_spend_limit_reached",
        "contract_spend_limit_reached",
        "linked_organization_spend_limit_reached",
        "linked_organization_billing_unavailable",
    }
)

ACCOUNT_FAILURES = frozenset({"authentication", "permission", "spend_limit"})
"""Failures of the account, not the model: a fallback on the same backend would fail too."""

REASONS = {
    "rate_limited": "rate limit reached",
    "overloaded": "overloaded",
    "server_error": "server error",
    "timeout": "timed out",
    "connection": "connection failed",
    "spend_limit": "spending limit reached",
    "authentication": "authentication failed",
    "permission": "permission denied",
    "bad_request": "request rejected",
    "malformed": "unreadable reply",
    "unexpected": "unexpected error",
}
"""How each failure is named to the person: "The AI model was unavailable (<reason>)"."""


@dataclass(frozen=True)
class Failure:
    """One failed attempt, classified."""

    backend: str
    reason: str
    retryable: bool
    retry_after: float | None = None
    detail: str = ""


def classify(error: BaseException, *, backend: str = "") -> Failure:
    """What kind of failure `error` is and whether waiting could help."""
    detail = f"{type(error).__name__}: {error}"[:500]
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        code = error.error_code
        kind = error.type
        after = retry_after_seconds(error.response.headers)
        if code in SPEND_LIMIT_CODES or kind == "billing_error" or status == 402:
            return Failure(backend, "spend_limit", False, detail=detail)
        if status == 401:
            return Failure(backend, "authentication", False, detail=detail)
        if status == 403:
            return Failure(backend, "permission", False, detail=detail)
        if status == 429:
            return Failure(backend, "rate_limited", True, after, detail)
        if status == 529 or kind == "overloaded_error":
            return Failure(backend, "overloaded", True, after, detail)
        if status in (408, 504):
            return Failure(backend, "timeout", True, after, detail)
        if status >= 500 or status == 409:
            return Failure(backend, "server_error", True, after, detail)
        return Failure(backend, "bad_request", False, detail=detail)
    if isinstance(error, anthropic.APITimeoutError | TimeoutError):
        return Failure(backend, "timeout", True, detail=detail)
    if isinstance(error, anthropic.APIConnectionError):
        return Failure(backend, "connection", True, detail=detail)
    if isinstance(
        error, anthropic.APIResponseValidationError | MalformedResponse | json.JSONDecodeError
    ):
        return Failure(backend, "malformed", False, detail=detail)
    return Failure(backend, "unexpected", False, detail=detail)


class ResilientAnswerer:
    """An Answerer that retries, falls back and keeps a deadline; see the module docstring."""

    def __init__(
        self,
        primary: Answerer,
        fallbacks: Sequence[Answerer] = (),
        *,
        attempts: int = 3,
        deadline_s: float = 45.0,
        reserve_s: float = 1.0,
        base_delay_s: float = 0.5,
        max_delay_s: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.primary = primary
        self.fallbacks = tuple(fallbacks)
        self.name = primary.name
        self.attempts = attempts
        self.deadline_s = deadline_s
        self.reserve_s = reserve_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.clock = clock
        self.sleep = sleep
        self.jitter = jitter

    @property
    def streams_text(self) -> bool:
        """`answer` takes `on_text` when the primary backend does."""
        return bool(getattr(self.primary, "streams_text", False))

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
        on_text: TextSink | None = None,
    ) -> ModelAnswer:
        deadline = self.clock() + self.deadline_s
        sink = _OnceSink(on_text) if on_text is not None else None
        backends = (self.primary, *self.fallbacks)
        failures: list[Failure] = []
        primary_failure: Failure | None = None
        for position, backend in enumerate(backends):
            if any(f.backend == backend.name and f.reason in ACCOUNT_FAILURES for f in failures):
                continue
            remaining_after = len(backends) - position - 1
            turn_ends = deadline - self.reserve_s * remaining_after
            result = await self._try(
                backend,
                turn_ends=turn_ends,
                failures=failures,
                question=question,
                passages=passages,
                history=history,
                instructions=instructions,
                model=model if position == 0 else None,
                sink=sink if position == 0 else None,
            )
            if position == 0:
                if result is not None:
                    return result
                primary_failure = failures[-1]
            elif result is not None:
                assert primary_failure is not None
                return replace(result, notes=(*result.notes, self._note(primary_failure, backend)))
        raise ModelUnavailable(
            self._unavailable_message(primary_failure),
            detail="; ".join(f"{f.backend}: {f.reason} ({f.detail})" for f in failures),
        )

    async def _try(
        self,
        backend: Answerer,
        *,
        turn_ends: float,
        failures: list[Failure],
        sink: _OnceSink | None = None,
        **request: object,
    ) -> ModelAnswer | None:
        """Up to `attempts` calls of one backend before `turn_ends`; None if they all fail."""
        for attempt in range(1, self.attempts + 1):
            remaining = turn_ends - self.clock()
            if remaining <= 0:
                failures.append(Failure(backend.name, "timeout", True, detail="deadline reached"))
                return None
            try:
                streaming = {"on_text": sink} if sink is not None and sink.open else {}
                async with asyncio.timeout(remaining):
                    return await backend.answer(**request, **streaming)  # type: ignore[arg-type]
            except Exception as error:
                if sink is not None and sink.used:
                    sink.open = False  # a retry would write after the broken text
                failure = classify(error, backend=backend.name)
                failures.append(failure)
                log.warning(
                    "answering backend %s failed (attempt %d/%d): %s",
                    backend.name,
                    attempt,
                    self.attempts,
                    failure.detail,
                    exc_info=failure.reason == "unexpected",
                )
                if not failure.retryable or attempt == self.attempts:
                    return None
                delay = self._delay(attempt, failure.retry_after)
                if self.clock() + delay >= turn_ends:
                    return None
                await self.sleep(delay)
        return None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff, jittered down to half, never shorter than the retry-after."""
        return backoff(
            attempt,
            base=self.base_delay_s,
            cap=self.max_delay_s,
            jitter=(0.5, 1.0),
            draw=self.jitter,
            retry_after=retry_after,
        )

    @staticmethod
    def _note(failure: Failure, backend: Answerer) -> str:
        reason = REASONS.get(failure.reason, "unavailable")
        if backend.name == "extractive":
            how = "so this answer was composed directly from the sources"
        else:
            how = "so this answer came from a backup AI model"
        return f"The AI model was unavailable ({reason}), {how}."

    @staticmethod
    def _unavailable_message(failure: Failure | None) -> str:
        reason = REASONS.get(failure.reason, "unavailable") if failure else "unavailable"
        then = (
            "Please try again in a few minutes."
            if failure is None or failure.retryable
            else "Please let the Trellis admins know."
        )
        return (
            f"The AI model is unavailable right now ({reason}) and no backup could answer. {then}"
        )


class _OnceSink:
    """The caller's text sink, used by attempts until one that streamed text fails."""

    def __init__(self, sink: TextSink) -> None:
        self.sink = sink
        self.used = False
        self.open = True

    async def __call__(self, text: str) -> None:
        self.used = True
        await self.sink(text)
