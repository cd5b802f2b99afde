"""`trellis run` with no Slack tokens starts the sandbox and connects to it over Socket Mode."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_without_tokens_serves_the_sandbox_and_stops_cleanly(tmp_path):
    http_port = _free_port()
    env = {
        **os.environ,
        "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        "TRELLIS_SANDBOX_PORT": "0",
        "TRELLIS_HTTP_PORT": str(http_port),
        "COLUMNS": "200",
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "ANTHROPIC_API_KEY", "TRELLIS_WORKSPACE"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Trellis is running" in line:
                break
        assert any("Trellis is running" in line for line in output), "".join(output)
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
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(output) + rest
