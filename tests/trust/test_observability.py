"""/metrics and /healthz on the ops port, and JSON logs with secrets and emails redacted."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator

import aiohttp
import pytest
import structlog

from app.cli.operations import offline_services
from app.config.logging import configure_logging
from app.config.settings import Settings
from app.config.workspace import default_workspace_path, load_workspace
from app.knowledge.ingest import ingest
from app.pipeline import Question, answer_question
from app.slack_people import SlackChannel
from handlers.runtime import _ops_server

SAM = "sam.ortiz@northwind.example"
NAMED = {
    "trellis_questions_total": "counter",
    "trellis_stage_seconds": "histogram",
    "trellis_model_tokens_total": "counter",
    "trellis_model_cost_usd_total": "counter",
    "trellis_errors_total": "counter",
    "trellis_flags_total": "counter",
    "trellis_feedback_total": "counter",
    "trellis_approval_turnaround_seconds": "histogram",
    "trellis_downstream_outcomes_total": "counter",
    "trellis_budget_fallbacks_total": "counter",
    "trellis_answer_confidence": "histogram",
    "trellis_config_version": "gauge",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_metrics_and_healthz_are_served_on_the_ops_port(sqlite_database):
    workspace = load_workspace(default_workspace_path())
    await ingest(sqlite_database, workspace.knowledge_dir, workspace_root=workspace.root)
    services = offline_services(
        Settings(database_url=sqlite_database.url), workspace, sqlite_database
    )
    sam = workspace.directory.by_email(SAM)
    await answer_question(
        services,
        Question(
            text="When is Trail Day in 2026?",
            person=sam,
            channel=SlackChannel(id="D0METRICS", is_im=True),
        ),
    )
    services.metrics.observe_flag(event="raised")
    services.metrics.observe_feedback(helpful=False)
    services.metrics.observe_approval(workflow="discount_request", verdict="approved", seconds=420)
    services.metrics.observe_downstream(connector="webhook", outcome="done")
    services.metrics.observe_error(kind="ModelUnavailable")
    services.metrics.observe_version(version=workspace.version, scores={"status_accuracy": 0.9})
    port = free_port()
    runner = await _ops_server(services, "127.0.0.1", port)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                body = await response.text()
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                health = await response.json()
    finally:
        await runner.cleanup()
    for name, kind in NAMED.items():
        assert f"# TYPE {name} {kind}" in body, name
    assert 'trellis_questions_total{status="answered"} 1.0' in body
    assert 'trellis_stage_seconds_count{stage="retrieval"} 1.0' in body
    assert 'trellis_flags_total{event="raised"} 1.0' in body
    assert 'trellis_feedback_total{rating="not_helpful"} 1.0' in body
    assert (
        'trellis_approval_turnaround_seconds_count{verdict="approved",workflow="discount_request"} 1.0'
        in body
    )
    assert 'trellis_downstream_outcomes_total{connector="webhook",outcome="done"} 1.0' in body
    assert f'trellis_config_version{{version="{workspace.version}"}} 1.0' in body
    assert health == {"status": "ok", "version": workspace.version}


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(Settings(log_level="DEBUG"), stream=stream, json_lines=True)
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_trellis", False)]:
        root.removeHandler(handler)
    structlog.reset_defaults()


def test_logs_are_json_with_secrets_and_personal_data_redacted(json_logs):
    settings = Settings(
        anthropic_api_key="sk-ant-api03-abcdefSECRET",
        database_url="postgresql://trellis:hunter2@db.internal/trellis",
    )
    structlog.get_logger("trellis.test").info(
        "answer_posted",
        bot_token="xoxb-1234-5678-abcdef",
        asker=SAM,
        headers={"Authorization": "Bearer abc.def.ghi", "x-request": "r-1"},
        database=settings.database_url,
        key=settings.anthropic_api_key,
        notes=["contact Rosa.Delgado@northwind.example", "app token xapp-1-A0-xyz"],
        usage={"input_tokens": 1200, "output_tokens": 80},
    )
    try:
        raise RuntimeError(
            f"Anthropic said no to key {settings.anthropic_api_key.get_secret_value()}"
        )
    except RuntimeError:
        logging.getLogger("anthropic").exception("call failed for %s", SAM)
    output = json_logs.getvalue()
    for secret in (
        "xoxb-1234",
        "abcdefSECRET",
        "hunter2",
        "abc.def.ghi",
        "xapp-1-A0",
        "sam.ortiz@",
        "Rosa.Delgado@",
        "rosa.delgado@",
    ):
        assert secret not in output, secret
    first, second = (json.loads(line) for line in output.splitlines())
    assert first["event"] == "answer_posted" and first["level"] == "info"
    assert first["bot_token"] == "[redacted]"
    assert first["headers"] == {"Authorization": "[redacted]", "x-request": "r-1"}
    assert first["database"] == "postgresql://trellis:[redacted]@db.internal/trellis"
    assert first["usage"] == {"input_tokens": 1200, "output_tokens": 80}
    assert first["asker"].endswith("@northwind.example") and first["asker"].startswith("user-")
    assert second["logger"] == "anthropic" and "RuntimeError" in second["exception"]
    assert first["asker"] in second["event"]  # the same person hashes the same way
