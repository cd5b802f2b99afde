"""`trellis run --http`: the request URL on the HTTP port, said at start, answering Slack's
challenge and refusing what is not signed; its set-up mistakes are one line each."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from app.sandbox.http_delivery import signed_headers

UNSET = ("SLACK_", "ANTHROPIC_", "TRELLIS_")


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(UNSET)}
    env.update(
        TRELLIS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}",
        TRELLIS_HTTP_PORT="0",
        TRELLIS_SANDBOX_PORT="0",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_run_over_http_says_its_request_url_which_answers_only_signed_requests(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run", "--http"],
        env=env_for(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Trellis is running" in line:
                break
        found = re.search(r"Slack request URL: (http://\S+/slack/events)", "".join(output))
        assert found, "".join(output)
        url = found[1]
        body = json.dumps({"token": "", "challenge": "abc123", "type": "url_verification"})
        signed = signed_headers("sandbox-signing-secret", int(time.time()), body)
        status, answer = post(url, body, signed)
        assert status == 200 and json.loads(answer)["challenge"] == "abc123"
        assert post(url, body, {})[0] == 401
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(output) + rest


def test_over_http_on_slack_a_missing_signing_secret_is_named(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "app", "run", "--http"],
        env=env_for(tmp_path, SLACK_BOT_TOKEN="xoxb-11-22-abc"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, lines
    assert "SLACK_SIGNING_SECRET" in lines[0]
    assert not (tmp_path / "trellis.db").exists()


def test_over_http_a_busy_port_names_the_setting_that_moves_it(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "app", "run", "--http"],
            env=env_for(tmp_path, TRELLIS_HTTP_PORT=str(port)),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=90,
        )
    line = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, line
    assert "TRELLIS_HTTP_PORT" in line and str(port) in line and "in use" in line
