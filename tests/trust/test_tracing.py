"""Traces: spans collected with the SDK's in-memory exporter while the real Bolt app answers
through the sandbox (the extractive answerer, and Claude on the fake Messages API), an
approval carried out by the outbox, and the OTEL_* set-up in a process of its own."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import anthropic
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import INVALID_SPAN, SpanKind, StatusCode

from app.answering.backends.anthropic import AnthropicAnswerer
from app.answering.backends.resilient import ResilientAnswerer
from app.approvals.drafts import DraftState
from app.config.settings import Settings
from app.config.workspace import Workspace
from app.domain import Passage
from app.errors import SetupError
from app.services import anthropic_client, build_answerer
from app.trust import tracing
from tests.fakes import FakeAnthropic
from tests.harness import RunningTrellis, running_trellis
from tests.workflow_helpers import FAST, card_in, demo_peers, draft_of, until_state

ROOT = Path(__file__).resolve().parents[2]
SAM = "sam.ortiz@northwind.example"  # support agent
ROSA = "rosa.delgado@northwind.example"  # support lead
QUESTION = "What apology code can I add to a delayed shipment reply?"
CLAUDE_QUESTION = "When is Trail Day in 2026?"


@contextmanager
def _collecting(*, content: bool) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider, content=content)
    try:
        yield exporter
    finally:
        tracing.use(None)
        provider.shutdown()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with _collecting(content=False) as exporter:
        yield exporter


@pytest.fixture
def spans_with_content() -> Iterator[InMemorySpanExporter]:
    with _collecting(content=True) as exporter:
        yield exporter


async def _finished(exporter: InMemorySpanExporter, name: str, *, count: int = 1) -> None:
    """Spans end after the reply is shown (a root ends when its listener returns)."""
    async with asyncio.timeout(10):
        while sum(s.name == name for s in exporter.get_finished_spans()) < count:  # noqa: ASYNC110 - the exporter has no event to await
            await asyncio.sleep(0.02)


def _trace(exporter: InMemorySpanExporter, root_name: str) -> list[ReadableSpan]:
    [root] = [s for s in exporter.get_finished_spans() if s.name == root_name]
    assert root.context is not None
    return [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and s.context.trace_id == root.context.trace_id
    ]


def _one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def _is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    return (
        child.parent is not None
        and parent.context is not None
        and child.parent.span_id == parent.context.span_id
    )


def _everything_recorded(exporter: InMemorySpanExporter) -> str:
    """Every span name, attribute value and event attribute value, as one text."""
    parts: list[str] = []
    for s in exporter.get_finished_spans():
        parts.append(s.name)
        for attributes in [s.attributes or {}, *[e.attributes or {} for e in s.events]]:
            parts.extend(
                json.dumps(v) if not isinstance(v, str) else v for v in attributes.values()
            )
        parts.append(s.status.description or "")
    return "\n".join(parts)


async def _ask(trellis: RunningTrellis, email: str, question: str) -> None:
    ts = await trellis.ask(email, "support", question)
    await trellis.answer_in_thread("support", ts)


# --- a question ----------------------------------------------------------------------------------


async def test_a_question_is_one_trace_from_the_slack_event_to_the_post(tmp_path, spans):
    async with running_trellis(tmp_path) as trellis:
        await _ask(trellis, SAM, QUESTION)
        await _finished(spans, "slack app_mention")
        sam, support = trellis.user(SAM), trellis.channel("support")

    traced = _trace(spans, "slack app_mention")
    root = _one(traced, "slack app_mention")
    assert root.parent is None and root.kind == SpanKind.SERVER
    question = _one(traced, "trellis.question")
    assert _is_child(question, root)
    for stage in ("trellis.identity", "trellis.audience", "trellis.retrieval", "trellis.review"):
        assert _is_child(_one(traced, stage), question), stage
    assert _is_child(_one(traced, "trellis.audit"), question)
    answer = _one(traced, "trellis.answer")
    assert _is_child(answer, question)
    for step in ("trellis.gate", "extract", "trellis.citations"):
        assert _is_child(_one(traced, step), answer), step
    model = _one(traced, "extract")
    assert model.attributes is not None
    assert model.attributes["gen_ai.operation.name"] == "extract"
    assert "gen_ai.provider.name" not in model.attributes
    assert "gen_ai.system" not in model.attributes
    # Posted: the thinking indicator, then the answer in its place, both in the same trace.
    assert _is_child(_one(traced, "slack chat.postMessage"), root)
    assert _is_child(_one(traced, "slack chat.update"), root)
    assert question.attributes is not None
    assert question.attributes["trellis.answer.status"] == "answered"
    assert question.attributes["trellis.answer.citations"] >= 1
    # Everything the question did is in this one trace.
    question_traces = {
        s.context.trace_id
        for s in spans.get_finished_spans()
        if s.context is not None and s.name.startswith("trellis.")
    }
    assert len(question_traces) == 1

    # No question text, person, Slack id or document id in any attribute by default.
    recorded = _everything_recorded(spans)
    for secret in (QUESTION, "apology code", SAM, "Sam Ortiz", sam, support, "support-macros"):
        assert secret not in recorded, secret


async def test_question_text_and_ids_are_recorded_when_the_operator_enables_it(
    tmp_path, spans_with_content
):
    async with running_trellis(tmp_path) as trellis:
        await _ask(trellis, SAM, QUESTION)
        await _finished(spans_with_content, "slack app_mention")
        sam, support = trellis.user(SAM), trellis.channel("support")

    traced = _trace(spans_with_content, "slack app_mention")
    question = _one(traced, "trellis.question")
    assert question.attributes is not None
    assert question.attributes["trellis.question.text"] == QUESTION
    assert question.attributes["trellis.person.email"] == SAM
    assert "[1]" in str(question.attributes["trellis.answer.text"])
    root = _one(traced, "slack app_mention")
    assert root.attributes is not None
    assert root.attributes["slack.user.id"] == sam
    assert root.attributes["slack.channel.id"] == support
    retrieval = _one(traced, "trellis.retrieval")
    assert retrieval.attributes is not None
    assert "support-macros" in retrieval.attributes["trellis.retrieval.doc_ids"]


# --- the model span with Claude ------------------------------------------------------------------


@pytest.fixture
async def claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(min_cache_tokens=0) as fake:
        yield fake


async def test_the_model_span_carries_the_genai_attributes(tmp_path, claude, spans):
    clients: list[anthropic.AsyncAnthropic] = []

    def answerer_for(workspace: Workspace) -> ResilientAnswerer:
        settings = Settings(anthropic_api_key=claude.api_key, anthropic_base_url=claude.base_url)
        client = anthropic_client(settings)
        assert client is not None
        clients.append(client)
        answerer = build_answerer(settings, workspace, client)
        assert isinstance(answerer, ResilientAnswerer)
        return answerer

    try:
        async with running_trellis(tmp_path, answerer_for=answerer_for) as trellis:
            await _ask(trellis, SAM, CLAUDE_QUESTION)
            await _finished(spans, "slack app_mention")
    finally:
        for client in clients:
            await client.close()

    traced = _trace(spans, "slack app_mention")
    model = _one(traced, "chat claude-sonnet-4-6")
    answer = _one(traced, "trellis.answer")
    assert _is_child(model, answer)
    assert _is_child(answer, _one(traced, "trellis.question"))
    attributes = model.attributes
    assert attributes is not None
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.system"] == "anthropic"
    assert attributes["gen_ai.request.model"] == "claude-sonnet-4-6"
    assert attributes["gen_ai.response.model"] == "claude-sonnet-4-6"
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    [request] = claude.message_requests
    usage = _reported_usage(claude, request.body)
    assert attributes["gen_ai.usage.output_tokens"] == usage["output_tokens"] > 0
    assert (
        attributes["gen_ai.usage.cache_creation.input_tokens"]
        == (usage["cache_creation_input_tokens"])
    )
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] > 0  # the first call writes
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 0
    assert attributes["gen_ai.usage.input_tokens"] == (
        usage["input_tokens"]
        + usage["cache_creation_input_tokens"]
        + usage["cache_read_input_tokens"]
    )
    # The request to the Messages API carried this trace's context.
    assert model.context is not None
    assert f"{model.context.trace_id:032x}" in request.headers.get("traceparent", "")
    assert CLAUDE_QUESTION not in _everything_recorded(spans)


def _reported_usage(fake: FakeAnthropic, body: dict) -> dict[str, int]:
    """The usage the fake server reported for its first request: the same reply, computed
    again on an empty prompt cache."""
    again = FakeAnthropic(min_cache_tokens=fake.min_cache_tokens)
    return again._reply(body)["usage"]


@pytest.mark.parametrize("content", [False, True])
async def test_a_failed_model_call_names_the_error_and_tells_its_message_only_with_content(
    claude, content
):
    passage = Passage(
        chunk_id="hr-pto#allowance",
        doc_id="hr-pto",
        title="Paid Time Off Policy",
        text="Full-time employees receive 25 days of paid time off per year.",
    )
    with _collecting(content=content) as collected:
        async with anthropic.AsyncAnthropic(
            api_key=claude.api_key, base_url=claude.base_url, max_retries=0
        ) as client:
            answerer = AnthropicAnswerer(client, model="claude-sonnet-4-6")
            claude.fail_next(529)
            with pytest.raises(anthropic.APIStatusError):
                await answerer.answer(question="How many PTO days?", passages=[passage])
    [model] = collected.get_finished_spans()
    assert model.name == "chat claude-sonnet-4-6"
    assert model.status.status_code == StatusCode.ERROR
    assert model.attributes is not None and model.attributes["error.type"]
    assert bool(model.events) is content  # the exception's message and traceback
    assert ("overloaded_error" in _everything_recorded(collected)) is content


# --- a workflow: approval -> outbox -> connector --------------------------------------------------


async def test_an_approval_is_one_trace_through_the_outbox_to_each_connector(tmp_path, spans):
    async with (
        demo_peers(tmp_path) as peers,
        running_trellis(
            tmp_path, workspace=peers.workspace, environ=peers.environ, background=FAST
        ) as trellis,
    ):
        issue = peers.jira.add_issue("SUP", "Missing pole bags on Ridgeline 4P")
        await trellis.sandbox.slash_command(
            trellis.user(SAM),
            trellis.channel("support"),
            "/trellis",
            'customer_reply customer="Alpine Co." contact=purchasing@alpine-co.example '
            f'ticket={issue.key} question="Two tents arrived without pole bags."',
        )
        card = await card_in(trellis, "support-approvals")
        draft = await draft_of(trellis, card)
        await trellis.sandbox.click_button(
            trellis.user(ROSA), card.channel, card.ts, "trellis_approve"
        )
        await until_state(trellis, draft.id, DraftState.DONE)
        await _finished(spans, "trellis.outbox", count=2)

    request = _trace(spans, "slack /trellis customer_reply")
    workflow = _one(request, "trellis.workflow")
    assert _is_child(workflow, _one(request, "slack /trellis customer_reply"))
    for stage in ("trellis.admission", "trellis.retrieval", "trellis.draft"):
        assert _is_child(_one(request, stage), workflow), stage

    approval_trace = _trace(spans, "slack block_actions approve")
    root = _one(approval_trace, "slack block_actions approve")
    approval = _one(approval_trace, "trellis.approval")
    assert _is_child(approval, root)
    deliveries = [s for s in approval_trace if s.name == "trellis.outbox"]
    assert len(deliveries) == 2 and all(_is_child(d, approval) for d in deliveries)
    for connector in ("email", "ticketing"):
        call = _one(approval_trace, f"connector {connector}")
        assert call.kind == SpanKind.CLIENT
        assert any(_is_child(call, d) for d in deliveries), connector
    assert {d.attributes["trellis.outbox.outcome"] for d in deliveries if d.attributes} == {"done"}
    recorded = _everything_recorded(spans)
    assert "Alpine" not in recorded and "purchasing@alpine-co.example" not in recorded


# --- set-up from the OTEL_* variables ------------------------------------------------------------


def test_with_tracing_off_a_span_is_one_shared_no_op():
    assert not tracing.enabled()
    first = tracing.span("trellis.question", {"trellis.question.private": False})
    assert first is tracing.span("trellis.answer")
    with first as span:
        assert span is INVALID_SPAN
        assert not span.is_recording()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, []),
        ({"OTEL_SERVICE_NAME": "trellis"}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console, otlp"}, ["console", "otlp"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
    ],
)
def test_the_standard_variables_choose_the_exporters(environ, expected):
    assert tracing.exporter_names(environ) == expected


def test_an_exporter_trellis_does_not_have_is_a_setup_error():
    with pytest.raises(SetupError, match="OTEL_TRACES_EXPORTER"):
        tracing.exporter_names({"OTEL_TRACES_EXPORTER": "jaeger"})


def test_otlp_over_grpc_is_refused_before_anything_is_installed(monkeypatch):
    for variable in (
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(SetupError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        tracing.setup()
    assert not tracing.enabled()


SETUP_SCRIPT = """
import sys
from app.trust import tracing
provider = tracing.setup()
with tracing.span("trellis.question", {"trellis.question.private": False}):
    pass
print(provider is not None, tracing.enabled(),
      "opentelemetry.sdk" in sys.modules,
      any(name.startswith("opentelemetry.exporter") for name in sys.modules))
if provider is not None:
    tracing.shutdown(provider)
"""


async def _run_setup(environ: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SETUP_SCRIPT,
        cwd=ROOT,
        env={**clean, **environ},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def test_with_no_otel_variables_no_sdk_or_exporter_is_installed():
    assert await _run_setup({}) == "False False False False"


async def test_spans_go_over_otlp_where_the_standard_variables_say():
    received: list[tuple[str, str, bytes]] = []

    async def collect(request: web.Request) -> web.Response:
        received.append((request.path, request.content_type, await request.read()))
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        printed = await _run_setup(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                "OTEL_SERVICE_NAME": "trellis-test",
            }
        )
    finally:
        await runner.cleanup()
    assert printed == "True True True True"
    [(path, content_type, body)] = received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    export = ExportTraceServiceRequest()
    export.ParseFromString(body)
    [resource_spans] = export.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "trellis-test"
    names = [s.name for scope in resource_spans.scope_spans for s in scope.spans]
    assert names == ["trellis.question"]
