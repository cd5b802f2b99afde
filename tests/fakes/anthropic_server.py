"""A local stand-in for the Anthropic Messages API, for tests over loopback.

    async with FakeAnthropic() as server:
        client = anthropic.AsyncAnthropic(api_key=server.api_key, base_url=server.base_url,
                                          max_retries=0)

`GET /v1/models` lists MODELS to the right key (401 otherwise). `POST /v1/messages`
behaves like the real endpoint in the ways Trellis depends on:

- Credentials (`x-api-key`, or `Authorization: Bearer`, which the Python SDK sends) must
  match, else 401 `authentication_error`; `anthropic-version` is required, else 400
  `invalid_request_error`, as the real API does.
- The body is validated (model, max_tokens, messages, content block shapes, at most 4
  `cache_control` breakpoints); mistakes get 400 `invalid_request_error`.
- The reply is computed from the request: the text block of the `search_result` blocks
  that shares the most words with the question is quoted with a `search_result_location`
  citation (and the best block of another result when it ties); when nothing overlaps the
  reply is exactly NO_ANSWER.
- Usage counts tokens (about 4 characters each) and simulates prompt caching: the prefix
  up to the last `cache_control` breakpoint is written to the cache the first time
  (`cache_creation_input_tokens`) and read on later identical prefixes
  (`cache_read_input_tokens`), when it is at least `min_cache_tokens` long (the real API's
  minimum is 1024 to 4096 tokens depending on the model).

Faults are scripted with `fail_next(kind, times=1)`:

    429        rate_limit_error with a retry-after header
    529        overloaded_error
    500        api_error (also 503, 504)
    400, 401, 403, 404, 413   the matching error type
    "billing"  the spend cap: 429 rate_limit_error, error.details.error_code
               "enforced_spend_limit_reached", no retry-after
    "billing_402"  402 billing_error
    "timeout"  the server holds the request until the client gives up
    "malformed"    200 with a truncated JSON body

`reply_next(content, stop_reason=...)` scripts the content blocks of the next successful
reply (for a model that cites badly, refuses, and so on). Every request is recorded in
`server.requests`.

A request with `"stream": true` (the SDK's `messages.stream`) gets the same reply as
server-sent events, in the order the Messages streaming documentation gives: message_start,
then per content block content_block_start (a `ping` after the first), a citations_delta
for each citation, text_delta events one word at a time and content_block_stop; then
message_delta (stop_reason, usage.output_tokens) and message_stop. `first_token_delay_s`
passes before the first text_delta and `token_delay_s` between the others; with
`hold_last_token` set, the last text_delta waits until that event is set. The time of each
reply's first text_delta (by `clock`, `time.perf_counter` unless given, once it is written
to the socket) is appended to `first_token_at`.

`FakeAnthropic(latency_s=2.0)` takes that long over every `POST /v1/messages`, as a model
writing its answer would (a stub of fixed latency for benchmarks); `most_in_flight` is the
largest number of those requests it was answering at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ERROR_MESSAGES = {
    400: "Invalid request",
    401: "invalid x-api-key",
    402: "Your credit balance is too low to access the Anthropic API.",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "This request would exceed your organization's rate limit of 50 requests per minute.",
    500: "Internal server error",
    503: "Service unavailable",
    504: "Request timed out",
    529: "Overloaded",
}
FAULT_KINDS = frozenset({*map(str, ERROR_TYPES), "billing", "billing_402", "timeout", "malformed"})
NO_ANSWER = "NO_ANSWER"
MODELS = ("claude-sonnet-4-6", "claude-haiku-4-5")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "how",
        "does",
        "did",
        "with",
        "from",
        "that",
        "this",
        "your",
        "you",
        "our",
        "have",
        "has",
        "can",
        "may",
        "per",
        "any",
        "all",
        "about",
        "into",
        "there",
        "their",
        "they",
        "them",
        "its",
    ]
)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    fault: str | None = None
    status: int = 0


@dataclass
class _Fault:
    kind: str
    times: int
    retry_after: float | None


@dataclass
class _Script:
    content: list[dict[str, Any]]
    stop_reason: str = "end_turn"


@dataclass
class _SearchResult:
    index: int
    source: str
    title: str
    texts: list[str]
    citations: bool


@dataclass
class FakeAnthropic:
    api_key: str = "test-key"
    min_cache_tokens: int = 1024
    hang_s: float = 30.0
    latency_s: float = 0.0
    first_token_delay_s: float = 0.0
    token_delay_s: float = 0.0
    hold_last_token: asyncio.Event | None = None
    first_token_at: list[float] = field(default_factory=list)
    clock: Callable[[], float] = time.perf_counter
    in_flight: int = 0
    most_in_flight: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)
    base_url: str = ""

    def __post_init__(self) -> None:
        self._faults: deque[_Fault] = deque()
        self._scripts: deque[_Script] = deque()
        self._cache: set[str] = set()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeAnthropic:
        app = web.Application()
        app.router.add_post("/v1/messages", self._slowly)
        app.router.add_get("/v1/models", self._models)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- scripting ---------------------------------------------------------------------------

    def fail_next(self, kind: int | str, times: int = 1, *, retry_after: float | None = 1) -> None:
        """The next `times` requests fail with `kind` (see the module docstring)."""
        name = str(kind)
        if name not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        self._faults.append(_Fault(name, times, retry_after))

    def reply_next(self, content: list[dict[str, Any]], *, stop_reason: str = "end_turn") -> None:
        """The next successful reply has exactly these content blocks."""
        self._scripts.append(_Script(content, stop_reason))

    @property
    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/messages"]

    # --- handlers ----------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        record = RecordedRequest(request.method, request.path, _headers(request), None)
        self.requests.append(record)
        return self._error(record, 404, f"Not found: {request.method} {request.path}")

    async def _models(self, request: web.Request) -> web.Response:
        """`GET /v1/models`: the models the key may use, or 401 for a key that is not it."""
        record = RecordedRequest(request.method, request.path, _headers(request), None)
        self.requests.append(record)
        if not self._authorised(request):
            return self._error(record, 401, ERROR_MESSAGES[401])
        record.status = 200
        models = [
            {
                "type": "model",
                "id": model,
                "display_name": model,
                "created_at": "2025-01-01T00:00:00Z",
            }
            for model in MODELS
        ]
        return web.json_response(
            {
                "data": models,
                "has_more": False,
                "first_id": models[0]["id"],
                "last_id": models[-1]["id"],
            }
        )

    async def _slowly(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/messages`, taking `latency_s` first; counts the requests in flight."""
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            return await self._messages(request)
        finally:
            self.in_flight -= 1

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        record = RecordedRequest(request.method, request.path, _headers(request), body)
        self.requests.append(record)

        if not self._authorised(request):
            return self._error(record, 401, ERROR_MESSAGES[401])
        if not request.headers.get("anthropic-version"):
            return self._error(record, 400, "anthropic-version: header is required")

        fault = self._take_fault()
        if fault is not None:
            record.fault = fault.kind
            return await self._fail(record, fault)

        if body is None:
            return self._error(
                record, 400, "There was an issue with the format of your request: invalid JSON"
            )
        problem = _validate(body)
        if problem:
            return self._error(record, 400, problem)
        reply = self._reply(body)
        record.status = 200
        if body.get("stream") is True:
            return await self._stream(request, reply)
        return web.json_response(reply, headers={"request-id": _request_id()})

    async def _stream(self, request: web.Request, reply: dict[str, Any]) -> web.StreamResponse:
        """`reply` as the Messages API streams it (see the module docstring)."""
        response = web.StreamResponse(
            headers={
                "content-type": "text/event-stream",
                "cache-control": "no-cache",
                "request-id": _request_id(),
            }
        )
        await response.prepare(request)

        async def send(event: str, data: dict[str, Any]) -> None:
            await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())

        usage = reply["usage"]
        start = {**reply, "content": [], "stop_reason": None, "stop_sequence": None}
        start["usage"] = {**usage, "output_tokens": 1}
        await send("message_start", {"type": "message_start", "message": start})
        tokens = sum(len(_tokens_of(b.get("text", ""))) for b in reply["content"])
        sent = 0
        for index, block in enumerate(reply["content"]):
            opened: dict[str, Any] = {"type": "text", "text": ""}
            if block.get("citations"):
                opened["citations"] = []
            await send(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opened},
            )
            if index == 0:
                await send("ping", {"type": "ping"})
            for citation in block.get("citations") or []:
                delta = {"type": "citations_delta", "citation": citation}
                await send(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            for token in _tokens_of(block.get("text", "")):
                await self._before_token(sent, tokens)
                delta = {"type": "text_delta", "text": token}
                await send(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
                if sent == 0:
                    self.first_token_at.append(self.clock())
                sent += 1
            await send("content_block_stop", {"type": "content_block_stop", "index": index})
        await send(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
        await send("message_stop", {"type": "message_stop"})
        await response.write_eof()
        return response

    async def _before_token(self, sent: int, tokens: int) -> None:
        if sent == 0:
            await asyncio.sleep(self.first_token_delay_s)
        elif self.token_delay_s:
            await asyncio.sleep(self.token_delay_s)
        if sent == tokens - 1 and self.hold_last_token is not None:
            await self.hold_last_token.wait()

    # --- faults ------------------------------------------------------------------------------

    def _take_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self._faults.popleft()
        return fault

    async def _fail(self, record: RecordedRequest, fault: _Fault) -> web.StreamResponse:
        if fault.kind == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.hang_s)
            return self._error(record, 504, ERROR_MESSAGES[504])
        if fault.kind == "malformed":
            record.status = 200
            truncated = (
                '{"id": "msg_01", "type": "message", "role": "assistant", "content": [{"type": "te'
            )
            return web.Response(
                text=truncated,
                content_type="application/json",
                headers={"request-id": _request_id()},
            )
        if fault.kind == "billing":
            return self._error(
                record,
                429,
                "You have reached your API usage limits: your organization has crossed its monthly "
                "API usage threshold. You will regain access on the first of next month at 00:00 UTC.",
                details={"error_code": "enforced_spend_limit_reached"},
            )
        if fault.kind == "billing_402":
            return self._error(record, 402, ERROR_MESSAGES[402])
        status = int(fault.kind)
        headers = {}
        if status == 429 and fault.retry_after is not None:
            headers["retry-after"] = _seconds(fault.retry_after)
        return self._error(record, status, ERROR_MESSAGES[status], headers=headers)

    def _error(
        self,
        record: RecordedRequest,
        status: int,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        record.status = status
        error: dict[str, Any] = {"type": ERROR_TYPES[status], "message": message}
        if details:
            error["details"] = details
        request_id = _request_id()
        return web.json_response(
            {"type": "error", "error": error, "request_id": request_id},
            status=status,
            headers={"request-id": request_id, **(headers or {})},
        )

    def _authorised(self, request: web.Request) -> bool:
        if request.headers.get("x-api-key") == self.api_key:
            return True
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    # --- replies -----------------------------------------------------------------------------

    def _reply(self, body: dict[str, Any]) -> dict[str, Any]:
        results = _search_results(body["messages"])
        question = _question(body["messages"])
        if self._scripts:
            script = self._scripts.popleft()
            content, stop_reason = script.content, script.stop_reason
        else:
            content, stop_reason = _answer(question, results), "end_turn"
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body, content),
        }

    def _usage(self, body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
        segments = _segments(body)
        total = sum(_tokens(s) for s in segments)
        marks = [
            i for i, s in enumerate(segments) if isinstance(s, dict) and s.get("cache_control")
        ]
        created = read = 0
        ttl = "5m"
        if marks:
            prefix = [_without_cache_control(s) for s in segments[: marks[-1] + 1]]
            ttl = segments[marks[-1]]["cache_control"].get("ttl", "5m")
            size = sum(_tokens(s) for s in prefix)
            if size >= self.min_cache_tokens:
                key = hashlib.sha256(
                    json.dumps([body["model"], prefix], sort_keys=True).encode()
                ).hexdigest()
                if key in self._cache:
                    read = size
                else:
                    self._cache.add(key)
                    created = size
        output = "".join(b.get("text", "") for b in content if isinstance(b, dict))
        return {
            "input_tokens": max(total - created - read, 1),
            "output_tokens": max(len(output) // 4, 1),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": created if ttl == "5m" else 0,
                "ephemeral_1h_input_tokens": created if ttl == "1h" else 0,
            },
            "service_tier": "standard",
        }


# --- request reading ---------------------------------------------------------------------------


def _headers(request: web.Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _tokens_of(text: str) -> list[str]:
    """Text as the model writes it, about a word at a time."""
    return re.findall(r"\s*\S+\s*|\s+", text)


def _blocks(content: Any) -> list[Any]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _search_results(messages: list[dict[str, Any]]) -> list[_SearchResult]:
    """Every search_result block in request order, tool results included."""
    found: list[_SearchResult] = []

    def visit(blocks: list[Any]) -> None:
        for block in blocks:
            if block.get("type") == "search_result":
                found.append(
                    _SearchResult(
                        index=len(found),
                        source=block["source"],
                        title=block["title"],
                        texts=[b["text"] for b in block["content"]],
                        citations=bool((block.get("citations") or {}).get("enabled")),
                    )
                )
            elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                visit(block["content"])

    for message in messages:
        visit(_blocks(message["content"]))
    return found


def _question(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return " ".join(
                b["text"] for b in _blocks(message["content"]) if b.get("type") == "text"
            )
    return ""


def _segments(body: dict[str, Any]) -> list[Any]:
    """The request in cache order (tools, system, messages), one entry per block."""
    segments: list[Any] = []
    if body.get("tools"):
        segments.extend(body["tools"])
    system = body.get("system")
    if isinstance(system, str):
        segments.append({"type": "text", "text": system})
    elif isinstance(system, list):
        segments.extend(system)
    for message in body["messages"]:
        for block in _blocks(message["content"]):
            segments.append({"role": message["role"], **block})
    return segments


def _without_cache_control(segment: Any) -> Any:
    if isinstance(segment, dict):
        return {k: v for k, v in segment.items() if k != "cache_control"}
    return segment


def _tokens(value: Any) -> int:
    return max(len(json.dumps(value)) // 4, 1)


_TEXT_BLOCK_TYPES = {
    "text",
    "image",
    "document",
    "search_result",
    "tool_use",
    "tool_result",
    "thinking",
}


def _validate(body: Any) -> str | None:
    """The first problem with a Messages request body, as the API words it, or None."""
    if not isinstance(body, dict):
        return "There was an issue with the format of your request: expected an object"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["model"], str) or not body["model"]:
        return "model: Input should be a valid string"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if messages[0].get("role") != "user":
        return 'messages: first message must use the "user" role'
    breakpoints = 0
    system = body.get("system")
    if system is not None:
        if isinstance(system, list):
            for i, block in enumerate(system):
                if block.get("type") != "text" or not str(block.get("text", "")).strip():
                    return f"system.{i}: text content blocks must be non-empty"
                breakpoints += bool(block.get("cache_control"))
        elif not isinstance(system, str):
            return "system: Input should be a valid string or list"
    for m, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{m}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if isinstance(content, str):
            if not content.strip():
                return f"messages.{m}: text content blocks must be non-empty"
            continue
        if not isinstance(content, list) or not content:
            return f"messages.{m}.content: Input should be a valid list"
        for b, block in enumerate(content):
            where = f"messages.{m}.content.{b}"
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in _TEXT_BLOCK_TYPES:
                return f"{where}.type: Input tag {kind!r} found using 'type' does not match any of the expected tags"
            breakpoints += bool(block.get("cache_control"))
            if kind == "text" and not str(block.get("text", "")).strip():
                return f"{where}: text content blocks must be non-empty"
            if kind == "search_result":
                problem = _validate_search_result(block, where)
                if problem:
                    return problem
    if breakpoints > 4:
        return f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
    return None


def _validate_search_result(block: dict[str, Any], where: str) -> str | None:
    for name in ("source", "title", "content"):
        if name not in block:
            return f"{where}.{name}: Field required"
    if not isinstance(block["content"], list) or not block["content"]:
        return f"{where}.content: Input should be a non-empty list"
    for i, inner in enumerate(block["content"]):
        if inner.get("type") != "text" or not str(inner.get("text", "")).strip():
            return f"{where}.content.{i}: text content blocks must be non-empty"
    return None


# --- the "model" -------------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    words = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(word) < 3 or word in _STOP:
            continue
        words.add(word[:-1] if word.endswith("s") and len(word) > 4 else word)
    return words


def _answer(question: str, results: list[_SearchResult]) -> list[dict[str, Any]]:
    """Quote the block sharing the most words with the question, or say NO_ANSWER."""
    asked = _words(question)
    scored = []
    for result in results:
        for block_index, text in enumerate(result.texts):
            overlap = len(asked & _words(text))
            if overlap:
                scored.append((-overlap, result.index, block_index))
    if not scored:
        return [{"type": "text", "text": NO_ANSWER}]
    scored.sort()
    best = scored[0]
    picks = [best]
    for candidate in scored[1:]:
        if candidate[0] == best[0] and candidate[1] != best[1]:
            picks.append(candidate)
            break
    content: list[dict[str, Any]] = [{"type": "text", "text": "According to the documents, "}]
    for n, (_, result_index, block_index) in enumerate(picks):
        result = results[result_index]
        text = result.texts[block_index]
        if n:
            content.append({"type": "text", "text": " Another document says: "})
        block: dict[str, Any] = {"type": "text", "text": text}
        if result.citations:
            block["citations"] = [
                {
                    "type": "search_result_location",
                    "cited_text": text,
                    "search_result_index": result.index,
                    "source": result.source,
                    "title": result.title,
                    "start_block_index": block_index,
                    "end_block_index": block_index + 1,
                }
            ]
        content.append(block)
    return content
