"""One `trellis run` per SQLite database: a second one is refused at start with one line
naming the database and the process to stop; a crashed run does not block the next."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.db.one_process import sqlite_file, the_only_run
from app.errors import DatabaseInUse
from tests.run_helpers import run_environment, trellis_run


def second_run(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "run"],
        env=run_environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_a_second_run_on_the_same_sqlite_database_is_refused_naming_the_first(tmp_path):
    # SIGKILL stops the first run as a crash would.
    with trellis_run(tmp_path, until="Trellis is running", stop_with=signal.SIGKILL) as first:
        refused = second_run(tmp_path)
        lines = [line for line in (refused.stdout + refused.stderr).splitlines() if line.strip()]
        assert refused.returncode == 2 and len(lines) == 1, lines
        assert str((tmp_path / "trellis.db").resolve()) in lines[0]
        assert f"kill {first.pid}" in lines[0] and "already served" in lines[0]
    assert first.returncode == -signal.SIGKILL  # it went on serving until it was killed
    with trellis_run(tmp_path, until="Trellis is running") as after_crash:
        pass
    assert after_crash.returncode == 0
    # A run that stops cleanly leaves no lock file beside the database.
    assert not (tmp_path / "trellis.db.run.lock").exists()


def test_the_lock_is_held_on_the_file_that_is_there(tmp_path):
    database = f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}"
    with the_only_run(database):
        assert (tmp_path / "trellis.db.run.lock").read_text().strip().isdigit()
        with pytest.raises(DatabaseInUse), the_only_run(database):
            pass
    assert not (tmp_path / "trellis.db.run.lock").exists()
    with the_only_run(database):  # taken again once released
        pass


def test_only_a_sqlite_file_is_held_replicas_on_postgresql_are_not():
    assert sqlite_file("postgresql+asyncpg://trellis@db/trellis") is None
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite:////srv/trellis/trellis.db") == Path("/srv/trellis/trellis.db")
