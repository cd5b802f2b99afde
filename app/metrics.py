"""Prometheus metrics: usage, latency per stage, tokens, errors.

Each `Metrics` owns its own registry, so two instances (tests, several apps in one
process) never share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.domain import Usage

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter("trellis_questions", "Questions answered, by status.",
                                 ["status"], registry=self.registry)
        self.stage_seconds = Histogram("trellis_stage_seconds", "Time spent per pipeline stage.",
                                       ["stage"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.tokens = Counter("trellis_model_tokens", "Model tokens, by kind.",
                              ["kind", "model"], registry=self.registry)
        self.errors = Counter("trellis_errors", "Failures shown to people, by kind.",
                              ["kind"], registry=self.registry)
        self.confidence = Histogram("trellis_answer_confidence", "Confidence of answers given.",
                                    buckets=(0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 1.0),
                                    registry=self.registry)

    def observe_question(self, *, status: str, stages_ms: dict[str, float], confidence: float,
                         usage: Usage, model: str | None) -> None:
        self.questions.labels(status=status).inc()
        for stage, ms in stages_ms.items():
            self.stage_seconds.labels(stage=stage).observe(ms / 1000)
        if status == "answered":
            self.confidence.observe(confidence)
        name = model or "none"
        for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens),
                            ("cache_read", usage.cache_read_tokens),
                            ("cache_write", usage.cache_write_tokens)):
            if count:
                self.tokens.labels(kind=kind, model=name).inc(count)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
