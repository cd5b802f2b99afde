"""`python3 -m app run` as a person starts it: a real process with no Slack tokens, read
until it says a given line, stopped with SIGTERM (or Ctrl-C's SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers import free_port

UNSET = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "ANTHROPIC_API_KEY",
    "TRELLIS_WORKSPACE",
    "CRM_DATABASE_URL",
    "TRELLIS_WEBHOOK_SECRET",
    "TRELLIS_TICKETING_TOKEN",
)


@dataclass
class Run:
    sandbox_port: int
    http_port: int
    output: list[str] = field(default_factory=list)
    rest: str = ""
    returncode: int | None = None
    pid: int = 0

    @property
    def printed(self) -> str:
        return "".join(self.output)


def run_environment(tmp_path: Path, run: Run | None = None) -> dict[str, str]:
    """The environment of `trellis run` in `tmp_path`: no Slack tokens or keys, its database
    in `tmp_path`, and free ports (`run`'s when given)."""
    run = run or Run(sandbox_port=free_port(), http_port=free_port())
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(
        TRELLIS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}",
        TRELLIS_SANDBOX_PORT=str(run.sandbox_port),
        TRELLIS_HTTP_PORT=str(run.http_port),
        COLUMNS="300",
    )
    return env


@contextmanager
def trellis_run(
    tmp_path: Path,
    *,
    until: str,
    wait: float = 90.0,
    args: Sequence[str] = (),
    stop_with: signal.Signals = signal.SIGTERM,
) -> Iterator[Run]:
    """Start `trellis run ARGS` in `tmp_path` on free ports and read what it prints until a
    line contains `until` (asserted); on leaving, stop it with `stop_with` and keep the rest
    and its exit code."""
    run = Run(sandbox_port=free_port(), http_port=free_port())
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run", *args],
        env=run_environment(tmp_path, run),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    run.pid = process.pid
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            run.output.append(line)
            if until in line:
                break
        assert until in run.printed, run.printed
        yield run
    finally:
        process.send_signal(stop_with)
        run.rest, _ = process.communicate(timeout=30)
        run.returncode = process.returncode
