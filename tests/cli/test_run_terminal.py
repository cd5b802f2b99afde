"""`trellis run` on a terminal: the lines a person reads, not JSON and library bookkeeping."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
OPEN_LINE = re.compile(r"open http://127\.0\.0\.1:\d+/", re.IGNORECASE)
CHATTER = (
    "Context impl",
    "non-transactional DDL",
    "Running upgrade",
    "aiohttp.access",
    "Adding job tentatively",
    "Added job",
    "apps.connections.open",
    "A new session",
)


def test_run_on_a_terminal_prints_readable_lines_up_to_the_address_to_open(tmp_path):
    env = {
        **os.environ,
        "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        "TRELLIS_SANDBOX_PORT": "0",
        "TRELLIS_HTTP_PORT": "0",
        "COLUMNS": "200",
        "TERM": "xterm-256color",
    }
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "ANTHROPIC_API_KEY",
        "TRELLIS_WORKSPACE",
        "TRELLIS_LOG_FORMAT",
        "TRELLIS_LOG_JSON",
        "TRELLIS_LOG_LEVEL",
        "NO_COLOR",
    ):
        env.pop(name, None)
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run"],
        env=env,
        cwd=tmp_path,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    seen = ""
    try:
        deadline = time.monotonic() + 100
        while time.monotonic() < deadline and not OPEN_LINE.search(ANSI.sub("", seen)):
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk.decode(errors="replace")
            elif process.poll() is not None:
                break
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        os.close(controller)
    text = ANSI.sub("", seen).replace("\r", "\n")
    found = OPEN_LINE.search(text)
    assert found, text
    before = [line.strip() for line in text[: found.start()].splitlines() if line.strip()]
    assert any(line.startswith("Trellis is running") for line in before), text
    assert not [line for line in before if line.startswith("{")], text
    assert not [line for line in before if any(noise in line for noise in CHATTER)], text
    assert process.returncode == 0
