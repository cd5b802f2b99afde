"""A database serves one workspace. Two workspaces pointed at one database (the default is
./trellis.db, so two workspaces run from one folder share it) no longer rebuild each other's
index and write into one audit trail: the second is refused with one line naming the
workspace the database serves and how to choose another database, unless it is told to
take the database over."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli.main import cli
from app.cli.workspaces import STARTER
from tests.logging_state import restore_logging  # noqa: F401
from tests.run_helpers import run_environment

pytestmark = pytest.mark.usefixtures("restore_logging")

PARKING = "---\naccess: [everyone]\n---\n# Parking\n\nPark behind the building, bay 4.\n"


def starter(tmp_path: Path, name: str) -> Path:
    shutil.copytree(STARTER, tmp_path / name)
    return tmp_path / name


def trellis(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line(result: Result, status: int) -> str:
    assert result.exit_code == status, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def two_workspaces(tmp_path, monkeypatch) -> tuple[Path, Path]:
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'shared.db'}")
    acme, cobalt = starter(tmp_path, "acme"), starter(tmp_path, "cobalt")
    (cobalt / "knowledge" / "parking.md").write_text(PARKING, encoding="utf-8")
    first = trellis("ingest", "--workspace", acme)
    assert first.exit_code == 0, first.output
    return acme, cobalt


def test_another_workspace_is_refused_and_told_which_workspace_the_database_serves(
    two_workspaces, tmp_path
):
    acme, cobalt = two_workspaces
    for command in (
        ["ingest", "--workspace", cobalt],
        ["ask", "--workspace", cobalt, "--as", "sam@example.com", "Where do I park?"],
        ["about", "--workspace", cobalt],
        ["reload", "--workspace", cobalt],
        ["versions", "--workspace", cobalt],
        ["rollback", "--workspace", cobalt, "abcd1234"],
        ["eval", "--workspace", cobalt],
    ):
        line = one_line(trellis(*command), 2)
        assert line.startswith("Setup error TRELLIS_DATABASE_URL:"), line
        assert f"serves the workspace 'Example Co' ({acme})" in line, line
        assert f"not {cobalt}" in line and "--database-url" in line, line
        assert "trellis ingest --take-over" in line, line

    again = trellis("ingest", "--workspace", acme)
    assert again.exit_code == 0, again.output
    assert "The index holds 5 documents" in again.output  # nothing of cobalt's came in
    chain = trellis("audit", "verify")
    assert "Audit chain intact: 0 records" in " ".join(chain.output.split())
    with sqlite3.connect(tmp_path / "shared.db") as db:  # no version of cobalt's was gated
        assert db.execute("SELECT count(*) FROM config_versions").fetchone() == (0,)


def test_take_over_makes_the_database_serve_the_other_workspace_and_says_so(
    two_workspaces, tmp_path
):
    acme, cobalt = two_workspaces
    taken = trellis("ingest", "--workspace", cobalt, "--take-over")
    assert taken.exit_code == 0, taken.output
    assert f"The database served 'Example Co' ({acme}); it serves this workspace now." in (
        " ".join(taken.output.split())
    )
    assert "The index holds 6 documents" in taken.output

    asked = trellis("ask", "--workspace", cobalt, "--as", "sam@example.com", "Where do I park?")
    assert asked.exit_code == 0, asked.output
    assert "bay 4" in asked.output
    line = one_line(trellis("ingest", "--workspace", acme), 2)
    assert f"serves the workspace 'Example Co' ({cobalt}), not {acme}" in line

    with sqlite3.connect(tmp_path / "shared.db") as db:
        first_kind, payload = db.execute(
            "SELECT kind, payload FROM audit_events ORDER BY seq LIMIT 1"
        ).fetchone()
    assert first_kind == "workspace.taken_over"
    assert json.loads(payload)["before"] == {"folder": str(acme), "name": "Example Co"}


def test_the_same_folder_by_another_path_is_the_same_workspace(two_workspaces, tmp_path):
    acme, _ = two_workspaces
    (tmp_path / "link").symlink_to(acme, target_is_directory=True)
    again = trellis("ingest", "--workspace", tmp_path / "link")
    assert again.exit_code == 0, again.output
    assert "The index holds 5 documents" in again.output


def test_run_refuses_another_workspaces_database_before_its_eval_gate_records_anything(tmp_path):
    acme, cobalt = starter(tmp_path, "acme"), starter(tmp_path, "cobalt")
    first = trellis(
        "ingest", "--workspace", acme, "--database-url", f"sqlite:///{tmp_path / 'trellis.db'}"
    )
    assert first.exit_code == 0, first.output
    run = subprocess.run(
        [sys.executable, "-m", "app", "run", "-w", str(cobalt)],
        env=run_environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"serves the workspace 'Example Co' ({acme}), not {cobalt}" in run.stderr
    with sqlite3.connect(tmp_path / "trellis.db") as db:
        assert db.execute("SELECT count(*) FROM config_versions").fetchone() == (0,)
