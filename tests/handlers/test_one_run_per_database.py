"""One `trellis run` per SQLite database: a second one is refused at start with one line
naming the database and the process to stop; a crashed run does not block the next."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from app.db.one_process import sqlite_file
from tests.handlers.test_http_run import env_for


def started(tmp_path: Path) -> subprocess.Popen[str]:
    """`trellis run` on the sandbox, once it says it is running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run"],
        env=env_for(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if "Trellis is running" in line:
            return process
    process.kill()
    raise AssertionError("".join(output) + process.communicate()[0])


def second_run(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "run"],
        env=env_for(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_a_second_run_on_the_same_sqlite_database_is_refused_naming_the_first(tmp_path):
    first = started(tmp_path)
    try:
        refused = second_run(tmp_path)
        lines = [line for line in (refused.stdout + refused.stderr).splitlines() if line.strip()]
        assert refused.returncode == 2 and len(lines) == 1, lines
        assert str((tmp_path / "trellis.db").resolve()) in lines[0]
        assert f"kill {first.pid}" in lines[0] and "already served" in lines[0]
        assert first.poll() is None  # the first run goes on serving
    finally:
        first.send_signal(signal.SIGKILL)  # as a crash would stop it
        first.communicate(timeout=30)
    after_crash = started(tmp_path)
    after_crash.send_signal(signal.SIGTERM)
    after_crash.communicate(timeout=60)
    assert after_crash.returncode == 0


def test_only_a_sqlite_file_is_held_replicas_on_postgresql_are_not():
    assert sqlite_file("postgresql+asyncpg://trellis@db/trellis") is None
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite:////srv/trellis/trellis.db") == Path("/srv/trellis/trellis.db")
