"""Prometheus metrics: usage, latency per stage, tokens, cost, errors, flags, feedback,
approval turnaround, downstream outcomes, the live configuration version, the questions
waiting for their turn, at the model and waiting for it, and their waits, questions
declined by a quota.

Each `Metrics` owns its own registry, so two instances (tests, several apps in one
process) never share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.answering.pricing import cost_of
from app.domain import Usage

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
TURNAROUND_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter(
            "trellis_questions",
            "Questions answered, by status.",
            ["status"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "trellis_stage_seconds",
            "Time spent per pipeline stage.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "trellis_model_tokens",
            "Model tokens, by kind.",
            ["kind", "model"],
            registry=self.registry,
        )
        self.errors = Counter(
            "trellis_errors", "Failures shown to people, by kind.", ["kind"], registry=self.registry
        )
        self.confidence = Histogram(
            "trellis_answer_confidence",
            "Confidence of answers given.",
            buckets=(0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 1.0),
            registry=self.registry,
        )
        self.cost = Counter(
            "trellis_model_cost_usd",
            "Model spend in US dollars, by kind of token.",
            ["kind", "model"],
            registry=self.registry,
        )
        self.budget_fallbacks = Counter(
            "trellis_budget_fallbacks",
            "Tasks answered without the model because a budget was used up.",
            ["task"],
            registry=self.registry,
        )
        self.flags = Counter(
            "trellis_flags",
            "Flags raised on answers, and what became of them.",
            ["event"],
            registry=self.registry,
        )
        self.feedback = Counter(
            "trellis_feedback",
            "Helpful / not helpful votes on answers.",
            ["rating"],
            registry=self.registry,
        )
        self.approval_turnaround = Histogram(
            "trellis_approval_turnaround_seconds",
            "Time from a draft's request to its decision.",
            ["workflow", "verdict"],
            buckets=TURNAROUND_BUCKETS,
            registry=self.registry,
        )
        self.downstream = Counter(
            "trellis_downstream_outcomes",
            "Approved actions carried out downstream, by outcome.",
            ["connector", "outcome"],
            registry=self.registry,
        )
        self.config_version = Gauge(
            "trellis_config_version",
            "1 for the live workspace version.",
            ["version"],
            registry=self.registry,
        )
        self.eval_score = Gauge(
            "trellis_eval_score",
            "The live version's eval scores.",
            ["score"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "trellis_config_reloads",
            "Workspace changes seen, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.questions_waiting = Gauge(
            "trellis_questions_waiting",
            "Questions waiting for their turn to be answered.",
            registry=self.registry,
        )
        self.questions_running = Gauge(
            "trellis_questions_running",
            "Questions being answered right now.",
            registry=self.registry,
        )
        self.questions_at_model = Gauge(
            "trellis_questions_at_model",
            "Questions waiting for the model's reply, their places given to others.",
            registry=self.registry,
        )
        self.questions_waiting_for_model = Gauge(
            "trellis_questions_waiting_for_model",
            "Questions waiting for one of the TRELLIS_MODEL_CONCURRENCY slots at the model.",
            registry=self.registry,
        )
        self.question_wait_seconds = Histogram(
            "trellis_question_wait_seconds",
            "Time a question waited for its turn to be answered.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.questions_declined = Counter(
            "trellis_questions_declined",
            "Questions declined by a quota, by the limit met (app/trust/quotas.py).",
            ["limit"],
            registry=self.registry,
        )

    def observe_question(
        self,
        *,
        status: str,
        stages_ms: dict[str, float],
        confidence: float,
        usage: Usage,
        model: str | None,
    ) -> None:
        self.questions.labels(status=status).inc()
        for stage, ms in stages_ms.items():
            self.stage_seconds.labels(stage=stage).observe(ms / 1000)
        if status == "answered":
            self.confidence.observe(confidence)
        name = model or "none"
        for kind, count in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cache_read", usage.cache_read_tokens),
            ("cache_write", usage.cache_write_tokens),
        ):
            if count:
                self.tokens.labels(kind=kind, model=name).inc(count)
        cost = cost_of(usage, model)
        for kind, amount in (
            ("input", cost.input),
            ("output", cost.output),
            ("cache_read", cost.cache_read),
            ("cache_write", cost.cache_write),
        ):
            if amount:
                self.cost.labels(kind=kind, model=name).inc(amount)

    def observe_flag(self, *, event: str) -> None:
        """event: raised, accepted, dismissed, source_update."""
        self.flags.labels(event=event).inc()

    def observe_feedback(self, *, helpful: bool) -> None:
        self.feedback.labels(rating="helpful" if helpful else "not_helpful").inc()

    def observe_approval(self, *, workflow: str, verdict: str, seconds: float) -> None:
        self.approval_turnaround.labels(workflow=workflow, verdict=verdict).observe(
            max(seconds, 0.0)
        )

    def observe_downstream(self, *, connector: str, outcome: str) -> None:
        """outcome: done, retried, dead_lettered."""
        self.downstream.labels(connector=connector, outcome=outcome).inc()

    def observe_error(self, *, kind: str) -> None:
        self.errors.labels(kind=kind).inc()

    def observe_declined(self, *, limit: str) -> None:
        """limit: length, person_per_minute, workspace_per_minute, held_per_hour."""
        self.questions_declined.labels(limit=limit).inc()

    def observe_version(self, *, version: str, scores: dict[str, float] | None) -> None:
        """Mark `version` as the live one (and only it), with its eval scores when known."""
        self.config_version.clear()
        self.config_version.labels(version=version).set(1)
        for name in ("status_accuracy", "source_precision", "source_recall"):
            if scores and scores.get(name) is not None:
                self.eval_score.labels(score=name).set(float(scores[name]))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
