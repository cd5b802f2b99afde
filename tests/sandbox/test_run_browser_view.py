"""`trellis run` without Slack tokens serves the browser view on the sandbox's port and says
where to open it."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import yaml

from app.sandbox.company import MESSAGE_SHORTCUTS
from tests.run_helpers import trellis_run


def test_run_prints_the_page_to_open_and_serves_it(tmp_path):
    with trellis_run(tmp_path, until="in your browser") as run:
        output, sandbox_port = run.output, run.sandbox_port
        opened = re.search(r"Open (http://\S+) in your browser", run.printed)
        assert opened, run.printed
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
    assert run.returncode == 0, run.printed + run.rest


def test_the_page_offers_the_message_shortcuts_of_the_manifest():
    manifest = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())
    declared = [
        {"callback_id": s["callback_id"], "name": s["name"]}
        for s in manifest["features"]["shortcuts"]
        if s["type"] == "message"
    ]
    assert declared == MESSAGE_SHORTCUTS
