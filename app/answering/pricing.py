"""What model calls cost, from their token counts.

Prices are US dollars per million tokens, as Anthropic lists them for the standard API
(prompts up to 200K tokens). Cache writes are the 5-minute ephemeral cache that
`cache_control: {"type": "ephemeral"}` creates (1.25 x input); cache reads are 0.1 x
input. The answer backend reports all four counts separately (`Usage`), and each is
priced on its own.

    model prefix          input   output   cache write   cache read
    claude-opus-4-6        5.00    25.00        6.25         0.50
    claude-opus-4-5        5.00    25.00        6.25         0.50
    claude-opus-4-1       15.00    75.00       18.75         1.50
    claude-opus-4         15.00    75.00       18.75         1.50
    claude-sonnet-4-6      3.00    15.00        3.75         0.30
    claude-sonnet-4-5      3.00    15.00        3.75         0.30
    claude-sonnet-4        3.00    15.00        3.75         0.30
    claude-3-7-sonnet      3.00    15.00        3.75         0.30
    claude-haiku-4-5       1.00     5.00        1.25         0.10
    claude-3-5-haiku       0.80     4.00        1.00         0.08
    claude-3-haiku         0.25     1.25        0.30         0.03

A model id matches the longest prefix in the table (`claude-sonnet-4-5-20250929` is
`claude-sonnet-4-5`). An id the table does not know is priced like the dearest model in
it, so a budget is never under-counted. No model (the extractive answerer) costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain import Usage

MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


PRICES: dict[str, Price] = {
    "claude-opus-4-6": Price(5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-5": Price(5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-1": Price(15.00, 75.00, 18.75, 1.50),
    "claude-opus-4": Price(15.00, 75.00, 18.75, 1.50),
    "claude-sonnet-4-6": Price(3.00, 15.00, 3.75, 0.30),
    "claude-sonnet-4-5": Price(3.00, 15.00, 3.75, 0.30),
    "claude-sonnet-4": Price(3.00, 15.00, 3.75, 0.30),
    "claude-3-7-sonnet": Price(3.00, 15.00, 3.75, 0.30),
    "claude-haiku-4-5": Price(1.00, 5.00, 1.25, 0.10),
    "claude-3-5-haiku": Price(0.80, 4.00, 1.00, 0.08),
    "claude-3-haiku": Price(0.25, 1.25, 0.30, 0.03),
}

DEAREST = max(PRICES.values(), key=lambda p: p.output)


@dataclass(frozen=True)
class Cost:
    """One call's cost, split the way the bill splits it."""

    input: float = 0.0
    output: float = 0.0
    cache_write: float = 0.0
    cache_read: float = 0.0

    @property
    def total(self) -> float:
        return self.input + self.output + self.cache_write + self.cache_read

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.input + other.input,
            self.output + other.output,
            self.cache_write + other.cache_write,
            self.cache_read + other.cache_read,
        )


def price_of(model: str | None) -> Price | None:
    """The price of `model`; None for no model at all."""
    if not model:
        return None
    name = model.strip().lower()
    matches = [prefix for prefix in PRICES if name.startswith(prefix)]
    return PRICES[max(matches, key=len)] if matches else DEAREST


def cost_of(usage: Usage, model: str | None) -> Cost:
    price = price_of(model)
    if price is None:
        return Cost()
    return Cost(
        input=usage.input_tokens * price.input / MILLION,
        output=usage.output_tokens * price.output / MILLION,
        cache_write=usage.cache_write_tokens * price.cache_write / MILLION,
        cache_read=usage.cache_read_tokens * price.cache_read / MILLION,
    )


def usage_from(payload: Mapping[str, Any] | None) -> Usage:
    """The `Usage` stored in an audit payload's "usage" (missing counts are 0)."""
    data = payload or {}
    return Usage(
        input_tokens=int(data.get("input_tokens") or 0),
        output_tokens=int(data.get("output_tokens") or 0),
        cache_read_tokens=int(data.get("cache_read_tokens") or 0),
        cache_write_tokens=int(data.get("cache_write_tokens") or 0),
    )
