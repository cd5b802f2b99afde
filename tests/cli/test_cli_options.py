"""Every command that reads the workspace or the database takes --workspace and
--database-url, in place of TRELLIS_WORKSPACE and TRELLIS_DATABASE_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.config.workspace import default_workspace_path
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")

READING_BOTH = [
    ["ingest"],
    ["ask", "--as", "sam.ortiz@northwind.example", "How many PTO days?"],
    ["eval"],
    ["reload"],
    ["versions"],
    ["rollback", "0123abcd"],
    ["report"],
    ["audit", "verify"],
    ["audit", "head"],
    ["audit", "show", "an-audit-id"],
    ["db", "upgrade"],
]


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("TRELLIS_", "ANTHROPIC_", "SLACK_")):
            monkeypatch.delenv(name)
    # What the options must win over: a database that works, the demo workspace.
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'env.db'}")
    monkeypatch.chdir(tmp_path)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("command", READING_BOTH, ids=" ".join)
def test_the_database_url_option_is_the_database_the_command_opens(tmp_path, command):
    missing = tmp_path / "not-here" / "trellis.db"
    result = invoke(*command, "--database-url", f"sqlite+aiosqlite:///{missing}")
    assert result.exit_code == 2, result.output
    assert "TRELLIS_DATABASE_URL" in result.output and "not-here" in result.output
    assert not (tmp_path / "env.db").exists()


@pytest.mark.parametrize("command", [*READING_BOTH, ["check"]], ids=" ".join)
def test_the_workspace_option_is_the_folder_the_command_reads(tmp_path, command):
    result = invoke(*command, "--workspace", str(tmp_path / "nowhere"))
    assert result.exit_code == 2, result.output
    assert "--workspace" in result.output and "nowhere" in result.output
    assert "does not exist" in result.output


def test_db_upgrade_takes_the_workspace_and_the_database_it_is_given(tmp_path):
    database = tmp_path / "given.db"
    result = invoke(
        "db",
        "upgrade",
        "--workspace",
        str(default_workspace_path()),
        "--database-url",
        f"sqlite+aiosqlite:///{database}",
    )
    assert result.exit_code == 0, result.output
    assert "Database is up to date." in result.output
    assert database.is_file() and not (tmp_path / "env.db").exists()


def test_run_takes_both_options_too(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "SLACK_"))}
    env.update(TRELLIS_HTTP_PORT="0", TRELLIS_SANDBOX_PORT="0", COLUMNS="200")
    missing = tmp_path / "not-here" / "trellis.db"
    args = [sys.executable, "-m", "app", "run", "--database-url", f"sqlite+aiosqlite:///{missing}"]
    done = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert done.returncode == 2 and "not-here" in done.stderr, done.stdout + done.stderr
    done = subprocess.run(
        [*args[:4], "--workspace", str(tmp_path / "nowhere")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 2 and "--workspace" in done.stderr, done.stdout + done.stderr


def test_the_command_line_loads_no_database_model_or_slack_code_before_a_command_runs():
    """`trellis --help`, a mistyped command and every command's own start pay only for the
    command line: the database layer, the models' runtime, the rules engine and the Slack
    and HTTP clients load inside the command that needs them (bench/startup.py)."""
    heavy = ["sqlalchemy", "numpy", "onnxruntime", "celpy", "aiohttp", "slack_bolt", "anthropic"]
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, app.cli.main; print(' '.join(sorted(m for m in sys.modules)))",
        ],
        cwd=Path(__file__).resolve().parents[2],  # this checkout's code
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(shown.stdout.split())
    assert "app.cli.main" in loaded
    assert [name for name in heavy if name in loaded] == []
