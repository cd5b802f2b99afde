"""`trellis run` with no Slack tokens starts the sandbox and connects to it over Socket Mode."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.run_helpers import run_environment, trellis_run


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


def test_ctrl_c_stops_run_in_order_with_one_line(tmp_path):
    with trellis_run(tmp_path, until="in your browser", stop_with=signal.SIGINT) as run:
        pass
    assert run.returncode == 0, run.printed + run.rest
    assert "Traceback" not in run.rest and "error" not in run.rest.lower(), run.rest
    assert run.rest.strip().splitlines() == ["Trellis stopped."], run.rest


def test_ctrl_c_while_run_is_still_loading_ends_with_one_line(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "run"],
        env=run_environment(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    loading(process)  # Python is loading Trellis's modules: nothing handles Ctrl-C yet
    process.send_signal(signal.SIGINT)
    printed, said = process.communicate(timeout=60)
    assert process.returncode == 130, printed + said
    assert said.strip() == "Stopped." and not printed.strip(), printed + said


def loading(process: subprocess.Popen, library: str = "_pydantic_core") -> None:
    """Wait until `process` is loading Trellis's command line: the settings' compiled
    library is mapped, which happens only once `main` has started importing it."""
    deadline = time.monotonic() + 60
    maps = Path(f"/proc/{process.pid}/maps")
    while library not in maps.read_text():
        assert time.monotonic() < deadline, "the command never started loading"
        assert process.poll() is None, process.communicate()
        time.sleep(0.005)
