"""The Anthropic Messages API backend, with search-result citations and prompt caching.

Request
    - `system`: the answer prompt (workspace or default), the fixed answer protocol and
      the caller's instructions, as text blocks; the last one carries
      `cache_control: {"type": "ephemeral"}` so this stable prefix is cached.
    - `messages`: earlier turns of the thread as plain user/assistant messages, then one
      user message with the passages as `search_result` blocks (`citations` enabled, one
      text block per sentence so citations point at sentences) followed by the question.

Reading the reply
    Text blocks are joined into the answer; each block's `search_result_location`
    citations are mapped back to the passage that was sent at `search_result_index`, and
    the quote is the exact passage text of the cited block range. Every citation is then
    checked with `verify_citations`; those that fail are dropped and counted in a note.
    A reply of exactly NO_ANSWER (or a refusal) gives text "" and confidence 0.

What the confidence means
    `confidence = support x (0.6 + 0.4 x grounding)`, where
    - `support` is the share of the answer's text (by characters, ignoring blank and
      punctuation-only blocks) that carries at least one verified citation, and
    - `grounding` is the weighted share of the question's content terms found in the cited
      passages, with the same term weights as the extractive backend (so a term no
      passage mentions weighs double). It stands in for retrieval strength because the
      retriever's raw scores are not comparable from one question to the next.
    A fully cited answer therefore scores at least 0.6 and reaches 1.0 when the cited
    passages also contain every term of the question; an answer with no verified
    citation scores 0. A reply cut off at max_tokens is multiplied by 0.8.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anthropic
from anthropic.types import Message, TextBlock

from app.answering.base import describe_source, drop_superseded, no_answer
from app.answering.citations import normalize_quote, verify_citations
from app.answering.prompts import ANSWER_PROTOCOL, NO_ANSWER, answer_system_prompt
from app.answering.weights import TermWeights
from app.domain import Citation, DocumentStatus, ModelAnswer, Passage, Turn, Usage
from app.errors import MalformedResponse
from app.text.sentences import Sentence, split_sentences
from app.text.words import content_terms, question_terms
from app.trust import tracing

CACHE_CONTROL = {"type": "ephemeral"}


@dataclass(frozen=True)
class SentResult:
    """A passage as it was sent: its search_result block and the sentence of each text block."""

    passage: Passage
    source: str
    sentences: tuple[Sentence, ...]

    def block(self) -> dict[str, Any]:
        title = describe_source(self.passage)
        if self.passage.status in (DocumentStatus.DEPRECATED, DocumentStatus.DRAFT):
            title = f"{title} ({self.passage.status})"
        return {
            "type": "search_result",
            "source": self.source,
            "title": title,
            "content": [{"type": "text", "text": s.text} for s in self.sentences],
            "citations": {"enabled": True},
        }

    def quote(self, start: int, end: int) -> str | None:
        """The exact passage text of content blocks [start, end), or None if out of range."""
        if not 0 <= start < end <= len(self.sentences):
            return None
        return self.passage.text[self.sentences[start].start : self.sentences[end - 1].end]


class AnthropicAnswerer:
    """Answers with Claude over the Messages API; see the module docstring."""

    name = "anthropic"

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        *,
        model: str,
        max_tokens: int = 1024,
        system_prompt: str | None = None,
        timeout_s: float | None = None,
    ) -> None:
        # Retries are counted and paced by ResilientAnswerer; the SDK's own would multiply them.
        self.client = client if client.max_retries == 0 else client.with_options(max_retries=0)
        self.model = model
        self.max_tokens = max_tokens
        self.system_prompt = system_prompt or answer_system_prompt()
        self.timeout_s = timeout_s

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        chosen_model = model or self.model
        usable, _ = drop_superseded(passages)
        sent = self.search_results(usable)
        if not sent or not question.strip():
            return no_answer(self.name, model=chosen_model)
        request = self.build_request(
            question=question,
            sent=sent,
            history=history,
            instructions=instructions,
            model=chosen_model,
        )
        options: dict[str, Any] = {} if self.timeout_s is None else {"timeout": self.timeout_s}
        with tracing.model_call(
            operation="chat", provider="anthropic", model=chosen_model, max_tokens=self.max_tokens
        ) as span:
            try:
                message = await self.client.messages.create(**request, **options)
            except json.JSONDecodeError as exc:
                raise MalformedResponse(f"the Messages API reply is not valid JSON: {exc}") from exc
            answer = self.read(message, question=question, sent=sent, model=chosen_model)
            tracing.model_replied(
                span,
                model=answer.model,
                usage=answer.usage,
                finish_reasons=[getattr(message, "stop_reason", None)],
                response_id=getattr(message, "id", None),
            )
        return answer

    # --- request -----------------------------------------------------------------------------

    @staticmethod
    def search_results(passages: Sequence[Passage]) -> list[SentResult]:
        sent = []
        for passage in passages:
            sentences = tuple(split_sentences(passage.text))
            if sentences:
                sent.append(SentResult(passage, passage.url or passage.doc_id, sentences))
        return sent

    def build_request(
        self,
        *,
        question: str,
        sent: Sequence[SentResult],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """The keyword arguments of `messages.create` (without transport options)."""
        system: list[dict[str, Any]] = [
            {"type": "text", "text": self.system_prompt},
            {"type": "text", "text": ANSWER_PROTOCOL},
        ]
        if instructions and instructions.strip():
            system.append({"type": "text", "text": instructions.strip()})
        system[-1]["cache_control"] = dict(CACHE_CONTROL)

        messages: list[dict[str, Any]] = []
        for turn in history:
            if not turn.question.strip():
                continue
            messages.append({"role": "user", "content": turn.question})
            answer = turn.answer.strip() or "I could not find an answer in the documents."
            messages.append({"role": "assistant", "content": answer})
        content: list[dict[str, Any]] = [result.block() for result in sent]
        content.append({"type": "text", "text": question.strip()})
        messages.append({"role": "user", "content": content})
        return {
            "model": model or self.model,
            "max_tokens": self.max_tokens,
            "system": system,
            "messages": messages,
        }

    # --- reply -------------------------------------------------------------------------------

    def read(
        self, message: Message, *, question: str, sent: Sequence[SentResult], model: str
    ) -> ModelAnswer:
        """Turn a Messages API reply into a ModelAnswer (see the module docstring)."""
        try:
            blocks = [b for b in message.content if isinstance(b, TextBlock)]
            texts = [str(b.text) for b in blocks]
            usage = _usage(message)
            stop_reason = message.stop_reason
            replied_model = str(message.model or model)
        except (AttributeError, TypeError, ValueError) as exc:
            raise MalformedResponse(f"unreadable Messages API reply: {exc}") from exc

        whole = "".join(texts).strip()
        if stop_reason == "refusal":
            return no_answer(
                self.name,
                model=replied_model,
                usage=usage,
                notes=["The AI model declined to answer this question."],
            )
        if not whole or whole.startswith(NO_ANSWER):
            return no_answer(self.name, model=replied_model, usage=usage)

        passages = [s.passage for s in sent]
        numbers: dict[tuple[str, str], int] = {}
        citations: list[Citation] = []
        rejected = 0
        parts: list[str] = []
        cited_chars = total_chars = 0
        cited_chunks: set[str] = set()
        for block, text in zip(blocks, texts, strict=True):
            markers: list[int] = []
            for raw in getattr(block, "citations", None) or []:
                claim = _claim(raw, sent)
                kept = verify_citations([claim], passages)[0] if claim else []
                if not kept:
                    rejected += 1
                    continue
                citation = kept[0]
                key = (citation.chunk_id or citation.doc_id, normalize_quote(citation.quote))
                if key not in numbers:
                    citations.append(citation)
                    numbers[key] = len(citations)
                if numbers[key] not in markers:
                    markers.append(numbers[key])
                cited_chunks.add(citation.chunk_id or citation.doc_id)
            body = text.rstrip()
            tail = text[len(body) :]
            parts.append(body + "".join(f" [{n}]" for n in markers) + tail)
            if any(ch.isalnum() for ch in text):
                size = len(text.strip())
                total_chars += size
                if markers:
                    cited_chars += size

        notes: list[str] = []
        if rejected:
            notes.append(
                f"{rejected} citation(s) from the AI model did not match the sources and were removed."
            )
        support = cited_chars / total_chars if total_chars else 0.0
        confidence = support * (0.6 + 0.4 * _grounding(question, sent, cited_chunks))
        if stop_reason == "max_tokens":
            confidence *= 0.8
            notes.append("The answer was cut off at the length limit.")
        return ModelAnswer(
            text="".join(parts).strip(),
            citations=tuple(citations),
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            backend=self.name,
            model=replied_model,
            usage=usage,
            notes=tuple(notes),
        )


def _usage(message: Message) -> Usage:
    usage = message.usage
    return Usage(
        input_tokens=int(usage.input_tokens),
        output_tokens=int(usage.output_tokens),
        cache_read_tokens=int(usage.cache_read_input_tokens or 0),
        cache_write_tokens=int(usage.cache_creation_input_tokens or 0),
    )


def _claim(raw: Any, sent: Sequence[SentResult]) -> Citation | None:
    """What a `search_result_location` citation claims, in passage terms; None if unmappable.

    The quote is the exact passage text of the cited block range when `cited_text` is
    those blocks (the API concatenates them); otherwise `cited_text` as given, which
    `verify_citations` then has to find in the passage.
    """
    if getattr(raw, "type", None) != "search_result_location":
        return None
    index = getattr(raw, "search_result_index", None)
    source = getattr(raw, "source", None)
    if isinstance(index, int) and 0 <= index < len(sent) and sent[index].source == source:
        result = sent[index]
    else:
        # The index and the source disagree: trust neither blindly, follow the source.
        matching = [r for r in sent if r.source == source]
        if not matching:
            return None
        result = matching[0]
    cited_text = str(getattr(raw, "cited_text", "") or "")
    start = getattr(raw, "start_block_index", None)
    end = getattr(raw, "end_block_index", None)
    quote = cited_text
    if isinstance(start, int) and isinstance(end, int):
        exact = result.quote(start, end)
        blocks = "".join(s.text for s in result.sentences[start:end])
        if exact is not None and _squeezed(blocks) == _squeezed(cited_text):
            quote = exact
    return Citation(
        doc_id=result.passage.doc_id,
        title=result.passage.title,
        quote=quote,
        url=result.passage.url,
        chunk_id=result.passage.chunk_id,
    )


def _squeezed(text: str) -> str:
    return "".join(normalize_quote(text).split())


def _grounding(question: str, sent: Sequence[SentResult], cited: set[str]) -> float:
    asked = question_terms(question)
    if not asked:
        return 0.0
    documents = [content_terms(f"{describe_source(s.passage)}\n{s.passage.text}") for s in sent]
    weights = TermWeights.for_question(asked, documents)
    found: set[str] = set()
    for result, terms in zip(sent, documents, strict=True):
        if (result.passage.chunk_id or result.passage.doc_id) in cited:
            found |= terms
    return weights.coverage(found)
