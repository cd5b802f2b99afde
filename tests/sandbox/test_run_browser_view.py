"""`trellis run` without Slack tokens serves the browser view on the sandbox's port and says
where to open it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from app.sandbox.company import MESSAGE_SHORTCUTS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_prints_the_page_to_open_and_serves_it(tmp_path):
    sandbox_port, http_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        "TRELLIS_SANDBOX_PORT": str(sandbox_port),
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
            if "in your browser" in line:
                break
        opened = re.search(r"Open (http://\S+) in your browser", "".join(output))
        assert opened, "".join(output)
        url = opened.group(1)
        assert url == f"http://127.0.0.1:{sandbox_port}/"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b'<script type="module" src="/static/app.js">' in response.read()
        with urllib.request.urlopen(f"{url}ui/state", timeout=10) as response:
            state = json.loads(response.read())
        assert state["team"]["name"] == "Northwind Outfitters"
        assert state["shortcuts"] == [
            {"callback_id": "trellis_start_workflow", "name": "Start Trellis workflow"}
        ]
        assert any(line.startswith("Knowledge:") for line in output)  # it indexed the documents
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(output) + rest


def test_the_page_offers_the_message_shortcuts_of_the_manifest():
    manifest = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())
    declared = [
        {"callback_id": s["callback_id"], "name": s["name"]}
        for s in manifest["features"]["shortcuts"]
        if s["type"] == "message"
    ]
    assert declared == MESSAGE_SHORTCUTS
