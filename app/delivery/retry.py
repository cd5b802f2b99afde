"""How long to wait before trying again: one backoff formula and one Retry-After reader.

The outbox (app/delivery/outbox.py), the answering backends
(app/answering/backends/resilient.py) and the downstream connectors (workflows/) all wait
the same way: the base delay doubles with each failed attempt up to a cap, a random factor
spreads retries that failed together, and a server's Retry-After is a floor, never cut.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def backoff(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: tuple[float, float] = (1.0, 1.0),
    draw: Callable[[], float] = random.random,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    `base * 2 ** (attempt - 1)`, at most `cap`, times a factor between the two `jitter`
    bounds (`draw()` in [0, 1] picks where), and never less than `retry_after`.
    """
    delay: float = min(cap, base * 2 ** max(0, attempt - 1))
    low, high = jitter
    delay *= low + (high - low) * draw()
    return max(delay, retry_after or 0.0)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After value as seconds: delta-seconds (a fraction is read too) or an HTTP
    date. None when there is none or it cannot be read."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a response's headers ask to wait: `retry-after-ms` (Anthropic's), else
    `retry-after`. Header names are matched as the mapping matches them (HTTP clients'
    header mappings ignore case)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


@dataclass(frozen=True)
class OutboxPolicy:
    """How the outbox paces its work: attempts, backoff, leases, polling, parallelism."""

    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.1
    execute_timeout: float = 30.0
    lease: float = 60.0
    poll: float = 2.0
    concurrency: int = 2
    report_lease: float = 60.0

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        spread = (1 - self.jitter, 1 + self.jitter)
        return backoff(
            attempt,
            base=self.base_delay,
            cap=self.max_delay,
            jitter=spread,
            retry_after=retry_after,
        )
