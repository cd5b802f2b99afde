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

Streaming
    Given `on_text`, the request goes through the SDK's streaming API (`messages.stream`,
    server-sent events) and the answer's text is handed to `on_text` as the model writes
    it, with each block's citation markers once the block ends (checked the same way as
    below), so the text handed over is, piece by piece, the text `read` makes of the final
    message. Text that could still be NO_ANSWER is held back. What was handed over is
    provisional: the final message is read and checked exactly as without streaming, and
    the caller decides from that whether what was shown stands.

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
from typing import Any

import anthropic
from anthropic.lib.streaming import ParsedMessageStreamEvent
from anthropic.types import Message, TextBlock

from app.answering.backends.search_results import Citer, SentResult, marked
from app.answering.base import TextSink, describe_source, drop_superseded, no_answer
from app.answering.prompts import ANSWER_PROTOCOL, NO_ANSWER, answer_system_prompt
from app.answering.weights import TermWeights
from app.domain import ModelAnswer, Passage, Turn, Usage
from app.errors import MalformedResponse
from app.text.sentences import split_sentences
from app.text.words import content_terms, question_terms
from app.trust import tracing

CACHE_CONTROL = {"type": "ephemeral"}


class AnthropicAnswerer:
    """Answers with Claude over the Messages API; see the module docstring."""

    name = "anthropic"
    streams_text = True
    """`answer` takes `on_text` (see the module docstring)."""

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
        on_text: TextSink | None = None,
    ) -> ModelAnswer:
        """`on_text`: stream the reply and hand its text over as it is written (see the
        module docstring)."""
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
                if on_text is None:
                    message = await self.client.messages.create(**request, **options)
                else:
                    message = await self._streamed(request, options, sent=sent, on_text=on_text)
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

    async def _streamed(
        self,
        request: dict[str, Any],
        options: dict[str, Any],
        *,
        sent: Sequence[SentResult],
        on_text: TextSink,
    ) -> Message:
        """The reply over the streaming API, its text handed to `on_text` on the way."""
        relay = _Relay(on_text, Citer(sent))
        async with self.client.messages.stream(**request, **options) as stream:
            async for event in stream:
                await relay.event(event)
            return await stream.get_final_message()

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

        citer = Citer(sent)
        parts: list[str] = []
        cited_chars = total_chars = 0
        for block, text in zip(blocks, texts, strict=True):
            markers = citer.markers(getattr(block, "citations", None) or [])
            body = text.rstrip()
            tail = text[len(body) :]
            parts.append(body + marked(markers) + tail)
            if any(ch.isalnum() for ch in text):
                size = len(text.strip())
                total_chars += size
                if markers:
                    cited_chars += size

        notes: list[str] = []
        if citer.rejected:
            notes.append(
                f"{citer.rejected} citation(s) from the AI model did not match the sources and "
                "were removed."
            )
        support = cited_chars / total_chars if total_chars else 0.0
        confidence = support * (0.6 + 0.4 * _grounding(question, sent, citer.cited_chunks))
        if stop_reason == "max_tokens":
            confidence *= 0.8
            notes.append("The answer was cut off at the length limit.")
        return ModelAnswer(
            text="".join(parts).strip(),
            citations=tuple(citer.citations),
            confidence=round(max(0.0, min(1.0, confidence)), 3),
            backend=self.name,
            model=replied_model,
            usage=usage,
            notes=tuple(notes),
        )


class _Relay:
    """Hands a streamed reply's text to the sink as `read` will write it: whitespace at
    the very start is dropped, a block's trailing whitespace waits for its markers, and
    nothing is handed over while the reply could still be NO_ANSWER."""

    def __init__(self, sink: TextSink, citer: Citer) -> None:
        self.sink = sink
        self.citer = citer
        self.written = ""
        """All the text so far, as `read` would join it."""
        self.handed = 0
        """How much of `written` the sink has had."""
        self.tail = ""
        """The current block's trailing whitespace, held for its markers."""

    async def event(self, event: ParsedMessageStreamEvent[Any]) -> None:
        if event.type == "text":  # the SDK's event for a text_delta
            text = self.tail + event.text
            body = text.rstrip()
            self.tail = text[len(body) :]
            self.written += body
        elif event.type == "content_block_stop":
            block = event.content_block
            if block.type == "text":
                self.written += marked(self.citer.markers(block.citations or [])) + self.tail
                self.tail = ""
        else:
            return
        await self._hand_over()

    async def _hand_over(self) -> None:
        shown = self.written.lstrip()
        if not shown or NO_ANSWER.startswith(shown) or shown.startswith(NO_ANSWER):
            return
        start = len(self.written) - len(shown)
        piece = self.written[max(self.handed, start) :]
        self.handed = len(self.written)
        if piece:
            await self.sink(piece)


def _usage(message: Message) -> Usage:
    usage = message.usage
    return Usage(
        input_tokens=int(usage.input_tokens),
        output_tokens=int(usage.output_tokens),
        cache_read_tokens=int(usage.cache_read_input_tokens or 0),
        cache_write_tokens=int(usage.cache_creation_input_tokens or 0),
    )


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
