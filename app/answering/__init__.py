"""Answering backends behind one interface (`Answerer`), their checks and their resilience.

- `ExtractiveAnswerer`: offline, deterministic, quotes the passages (the default).
- `AnthropicAnswerer`: Claude over the Messages API with search-result citations.
- `ResilientAnswerer`: retries, fallbacks and a deadline around any of them.
- `verify_citations`: keeps only citations whose quote is text of an allowed passage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import Answerer, drop_superseded, no_answer
from app.answering.citations import verify_citations
from app.answering.prompts import (
    ANSWER_PROTOCOL,
    DEFAULT_ANSWER_PROMPT,
    NO_ANSWER,
    answer_system_prompt,
    render,
)

if TYPE_CHECKING:
    import anthropic

    from app.answering.backends.anthropic import AnthropicAnswerer
    from app.answering.backends.resilient import ResilientAnswerer, classify

# The Anthropic SDK takes seconds to import; only a configured key needs it.
_LAZY = {
    "AnthropicAnswerer": "app.answering.backends.anthropic",
    "ResilientAnswerer": "app.answering.backends.resilient",
    "classify": "app.answering.backends.resilient",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = [
    "ANSWER_PROTOCOL",
    "DEFAULT_ANSWER_PROMPT",
    "NO_ANSWER",
    "AnthropicAnswerer",
    "Answerer",
    "ExtractiveAnswerer",
    "ResilientAnswerer",
    "answer_system_prompt",
    "build_answerer",
    "classify",
    "drop_superseded",
    "no_answer",
    "render",
    "verify_citations",
]


def build_answerer(
    *,
    client: anthropic.AsyncAnthropic | None = None,  # noqa: F821
    model: str | None = None,
    fallback_model: str | None = None,
    system_prompt: str | None = None,
    max_tokens: int = 1024,
    deadline_s: float = 45.0,
) -> Answerer:
    """The answerer a workspace gets: extractive without a client, else Claude with fallbacks.

    With a client, the chain is Claude (`model`), then Claude (`fallback_model`, when
    given), then the extractive answerer, inside one `ResilientAnswerer`. The client must
    be built with `max_retries=0` so that retries are counted in one place.
    """
    extractive = ExtractiveAnswerer()
    if client is None or not model:
        return extractive
    from app.answering.backends.anthropic import AnthropicAnswerer
    from app.answering.backends.resilient import ResilientAnswerer

    primary = AnthropicAnswerer(
        client, model=model, max_tokens=max_tokens, system_prompt=system_prompt
    )
    fallbacks: list[Answerer] = []
    if fallback_model and fallback_model != model:
        fallbacks.append(
            AnthropicAnswerer(
                client, model=fallback_model, max_tokens=max_tokens, system_prompt=system_prompt
            )
        )
    fallbacks.append(extractive)
    return ResilientAnswerer(primary, fallbacks, deadline_s=deadline_s)
