"""`trellis run` with no Slack tokens starts the sandbox and connects to it over Socket Mode."""

from __future__ import annotations

import json
import urllib.request

from tests.run_helpers import trellis_run


def test_run_without_tokens_serves_the_sandbox_and_stops_cleanly(tmp_path):
    with trellis_run(tmp_path, until="Trellis is running") as run:
        output, http_port = run.output, run.http_port
        assert any("local sandbox" in line for line in output)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{http_port}/healthz", timeout=10
        ) as response:
            assert response.status == 200
            assert json.loads(response.read())["status"] == "ok"
        with urllib.request.urlopen(
            f"http://127.0.0.1:{http_port}/metrics", timeout=10
        ) as response:
            assert b"trellis_questions" in response.read()
    assert run.returncode == 0, run.printed + run.rest
