"""Traces: one OpenTelemetry trace per question and per workflow, off unless asked for.

What is traced
    A question: the Slack delivery (`handlers/traces.py`) ─► `trellis.question` ─► identity,
    audience, retrieval, `trellis.answer` (the gate, the model call, the citation check),
    review, audit; and every Slack Web API call (`slack chat.update` …) where it is made.
    A workflow: the request ─► `trellis.workflow` ─► admission, retrieval, draft (its model
    calls), the card's Slack post; an approval ─► `trellis.approval` ─► `trellis.outbox` ─►
    `connector <slug>`.

    The outbox delivers in its own task, after the approval's transaction has committed:
    the approval leaves its span context here under the draft's id (`hand_off`), and the
    worker continues the trace from it (`handed_off`). Only the last 1,000 are kept, in
    memory, so an action delivered by another process or after a restart starts a trace
    of its own.

The model span
    GenAI semantic conventions: `gen_ai.operation.name`, `gen_ai.provider.name` and the
    older `gen_ai.system`, `gen_ai.request.model`, `gen_ai.response.model`,
    `gen_ai.response.finish_reasons`, and the token counts. `gen_ai.usage.input_tokens`
    counts every input token, cached ones included (Anthropic's `input_tokens` leaves them
    out); `gen_ai.usage.cache_read.input_tokens` and `…cache_creation.input_tokens` say how
    many of them were read from or written to the prompt cache. The span is INTERNAL: the
    Anthropic SDK opens its own CLIENT span for the HTTP call beneath it when the global
    tracer provider is set (`setup` sets it). The offline answerer's span has the operation
    `extract` and no provider.

What attributes carry
    By default only counts, statuses, scores, model names and the audit id (which leads to
    the audit record, for whoever may read that). Never by default: question or answer text,
    names, emails, Slack user, channel or team ids, document ids or titles (a title can
    itself be restricted), exception messages (`error.type` names the exception's class).
    `TRELLIS_TRACE_CONTENT=true` adds them: the `private=` attributes and exception events.

Turning it on
    The standard OpenTelemetry variables. `OTEL_EXPORTER_OTLP_ENDPOINT` (or
    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) exports over OTLP; `OTEL_TRACES_EXPORTER` picks
    `otlp`, `console` or `none` explicitly (comma-separated); `OTEL_SDK_DISABLED=true` turns
    it off. The SDK itself reads `OTEL_SERVICE_NAME` (default here: trellis),
    `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]` and `OTEL_EXPORTER_OTLP_*`
    (headers, timeout, compression, certificates). OTLP goes over HTTP/protobuf; asking for
    grpc stops the start with a SetupError. Without any of them the SDK and the exporter are
    never imported and every span is one shared no-op.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    TracerProvider,
)
from opentelemetry.util.types import AttributeValue

from app.domain import Usage
from app.errors import SetupError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

Attributes = Mapping[str, AttributeValue | None]
"""Span attributes; a None value is left out."""

SCOPE = "trellis"
DEFAULT_SERVICE_NAME = "trellis"
HANDOFFS_KEPT = 1000
EXPORTERS = ("otlp", "console")

GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_PROVIDER = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_CACHE_CREATION_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
ERROR_TYPE = "error.type"


@dataclass
class _Tracing:
    tracer: Tracer | None = None
    """None: tracing is off."""
    content: bool = False
    handoffs: OrderedDict[str, SpanContext] = field(default_factory=OrderedDict)


_state = _Tracing()
_OFF: AbstractContextManager[Span] = nullcontext(INVALID_SPAN)


# --- set-up ------------------------------------------------------------------------------------


def setup(*, content: bool = False) -> SdkTracerProvider | None:
    """Export spans as the OTEL_* variables say (see the module docstring); None when they
    ask for nothing, and nothing is installed. The provider returned must be `shutdown`."""
    names = exporter_names(os.environ)
    if not names:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporters = [_exporter(name, os.environ) for name in names]
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = SdkTracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    # Global as well, so the Anthropic SDK's spans join the same traces.
    trace.set_tracer_provider(provider)
    use(provider, content=content)
    return provider


def shutdown(provider: SdkTracerProvider) -> None:
    """Send what is still buffered, then stop tracing."""
    use(None)
    provider.shutdown()


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """The exporters the OTEL_* variables ask for: [], or some of `EXPORTERS`."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    named = [n for n in named if n]
    if not named:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        return ["otlp"] if endpoint and endpoint.strip() else []
    if "none" in named:
        return []
    unknown = sorted(set(named) - set(EXPORTERS))
    if unknown:
        raise SetupError(
            "OTEL_TRACES_EXPORTER",
            f"{', '.join(unknown)} is not an exporter Trellis has; use otlp, console or none",
        )
    return list(dict.fromkeys(named))


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = environ.get(variable, "").strip().lower()
        if protocol and protocol != "http/protobuf":
            raise SetupError(
                variable,
                f"{protocol} is not supported: Trellis sends OTLP over http/protobuf "
                "(the collector's HTTP port, usually 4318)",
            )
        if protocol:
            break
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def use(provider: TracerProvider | None, *, content: bool = False) -> None:
    """Spans go to `provider` from now on; None turns tracing off. `content`: record the
    private attributes too (TRELLIS_TRACE_CONTENT)."""
    _state.tracer = None if provider is None else provider.get_tracer(SCOPE, _version())
    _state.content = content and provider is not None
    _state.handoffs.clear()


def enabled() -> bool:
    return _state.tracer is not None


def records_content() -> bool:
    return _state.content


def _version() -> str | None:
    try:
        return metadata.version("trellis-slack")
    except metadata.PackageNotFoundError:
        return None


# --- spans -------------------------------------------------------------------------------------


def span(
    name: str,
    attributes: Attributes | None = None,
    *,
    private: Attributes | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: Context | None = None,
) -> AbstractContextManager[Span]:
    """A span around the block, current within it; `private` attributes only when content is
    recorded. An exception leaving the block marks the span as failed (`failed`). With
    tracing off: a shared no-op."""
    tracer = _state.tracer
    if tracer is None:
        return _OFF
    return _span(tracer, name, _clean(attributes, private), kind, parent)


@contextmanager
def _span(
    tracer: Tracer,
    name: str,
    attributes: dict[str, AttributeValue],
    kind: SpanKind,
    parent: Context | None,
) -> Iterator[Span]:
    with tracer.start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except Exception as exc:
            failed(current, exc)
            raise


def attributes(span: Span, values: Attributes, *, private: Attributes | None = None) -> None:
    """Set on `span`; `private` only when content is recorded."""
    if span.is_recording():
        span.set_attributes(_clean(values, private))


def failed(span: Span, error: BaseException) -> None:
    """ERROR, with the exception's class; its message and traceback only with content on."""
    if not span.is_recording():
        return
    span.set_status(Status(StatusCode.ERROR))
    span.set_attribute(ERROR_TYPE, type(error).__qualname__)
    if _state.content:
        span.record_exception(error)


def current() -> Span:
    return trace.get_current_span()


def _clean(values: Attributes | None, private: Attributes | None) -> dict[str, AttributeValue]:
    merged = dict(values or {})
    if private and _state.content:
        merged.update(private)
    return {key: value for key, value in merged.items() if value is not None}


# --- the model span ----------------------------------------------------------------------------


def model_call(
    *,
    operation: str,
    model: str | None = None,
    provider: str | None = None,
    max_tokens: int | None = None,
) -> AbstractContextManager[Span]:
    """The span of one model call, named as the GenAI conventions say: "chat claude-…"."""
    return span(
        f"{operation} {model}" if model else operation,
        {
            GEN_AI_OPERATION: operation,
            GEN_AI_PROVIDER: provider,
            GEN_AI_SYSTEM: provider,
            GEN_AI_REQUEST_MODEL: model,
            GEN_AI_REQUEST_MAX_TOKENS: max_tokens,
        },
    )


def model_replied(
    span: Span,
    *,
    model: str | None,
    usage: Usage,
    finish_reasons: Sequence[str | None] = (),
    response_id: str | None = None,
) -> None:
    """What the model said about its reply: model, tokens, why it stopped."""
    attributes(
        span,
        {
            GEN_AI_RESPONSE_MODEL: model,
            GEN_AI_RESPONSE_ID: response_id,
            GEN_AI_INPUT_TOKENS: usage.input_tokens
            + usage.cache_read_tokens
            + usage.cache_write_tokens,
            GEN_AI_OUTPUT_TOKENS: usage.output_tokens,
            GEN_AI_CACHE_READ_TOKENS: usage.cache_read_tokens,
            GEN_AI_CACHE_CREATION_TOKENS: usage.cache_write_tokens,
            GEN_AI_FINISH_REASONS: [reason for reason in finish_reasons if reason] or None,
        },
    )


# --- Slack and downstream systems --------------------------------------------------------------


def slack_call(method: str) -> AbstractContextManager[Span]:
    """One Web API call; `method` as slack_sdk names it (chat_update -> "slack chat.update")."""
    api = method.replace("_", ".")
    return span(f"slack {api}", {"slack.method": api}, kind=SpanKind.CLIENT)


def connector_call(connector: str) -> AbstractContextManager[Span]:
    """One call into a downstream system through its connector."""
    return span(f"connector {connector}", {"trellis.connector": connector}, kind=SpanKind.CLIENT)


# --- hand-offs between tasks -------------------------------------------------------------------


def hand_off(key: str) -> None:
    """Work queued under `key` (a draft's actions) continues the current trace when it is
    picked up in another task (`handed_off`)."""
    if _state.tracer is None:
        return
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return
    _state.handoffs[key] = context
    _state.handoffs.move_to_end(key)
    while len(_state.handoffs) > HANDOFFS_KEPT:
        _state.handoffs.popitem(last=False)


def handed_off(key: str) -> Context:
    """The parent for work picked up under `key`: where it was handed off, or a new trace."""
    found = _state.handoffs.get(key)
    if found is None:
        return Context()
    return trace.set_span_in_context(NonRecordingSpan(found), Context())
