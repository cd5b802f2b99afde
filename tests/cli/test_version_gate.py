"""The eval gate from the command line, as an operator meets it: a workspace from `trellis
init`, changed by editing its files, judged by `eval` and `reload`. Every command runs in a
real subprocess on a real SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def trellis(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "ANTHROPIC_"))}
    env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    env.update(
        TRELLIS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}",
        TRELLIS_HTTP_PORT="0",
        TRELLIS_SANDBOX_PORT="0",
        COLUMNS="300",
    )
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def acme(tmp_path) -> Path:
    done = trellis(tmp_path, "init", "acme")
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / "acme"


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new))


def refuse_everything(root: Path) -> None:
    """A change that makes every answer a no-answer: the eval set fails it."""
    edit(root, "trellis.yml", "min_confidence: 0.5", "min_confidence: 0.999")


def live_version(tmp_path: Path, acme: Path) -> str:
    done = trellis(tmp_path, "reload", "-w", str(acme))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split("Version ", 1)[1].split()[0]


def test_init_writes_an_eval_set_the_starter_workspace_passes(tmp_path, acme):
    done = trellis(tmp_path, "eval", "-w", str(acme), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and not report["untested"]
    assert report["scores"]["cases"] >= 5
    assert {case["status"] for case in report["cases"]} == {"answered", "no_answer"}


def test_reload_exits_non_zero_when_the_version_does_not_go_live(tmp_path, acme):
    helped = trellis(tmp_path, "reload", "--help")
    assert "Exit status" in helped.stdout and "refused" in helped.stdout, helped.stdout
    live_version(tmp_path, acme)

    refuse_everything(acme)
    refused = trellis(tmp_path, "reload", "-w", str(acme))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "did not go live" in refused.stderr and "keeps answering" in refused.stderr
    again = trellis(tmp_path, "reload", "-w", str(acme))
    assert again.returncode == 1 and "decided earlier" in again.stderr

    (acme / "rules.yml").write_text((acme / "rules.yml").read_text() + "\n  oops: [\n")
    broken = trellis(tmp_path, "reload", "-w", str(acme))
    assert broken.returncode == 2 and "rules.yml:" in broken.stderr, broken.stderr


def test_eval_and_reload_say_when_nothing_was_tested(tmp_path, acme):
    for path in (acme / "evals").glob("*.yml"):
        path.unlink()
    done = trellis(tmp_path, "eval", "-w", str(acme))
    assert done.returncode == 0 and "nothing was tested" in done.stdout, done.stdout
    assert "passed" not in done.stdout
    assert json.loads(trellis(tmp_path, "eval", "-w", str(acme), "--json").stdout)["untested"]

    untested = trellis(tmp_path, "reload", "-w", str(acme))
    assert untested.returncode == 0, untested.stdout + untested.stderr
    assert "nothing was tested" in untested.stdout and "untested" in untested.stdout

    (acme / "evals").mkdir(exist_ok=True)
    (acme / "evals" / "starter.yml").write_text(
        "cases:\n  - id: office-hours\n    question: When is the office open?\n"
        "    asker: sam@example.com\n    expect_status: answered\n"
        "    expect_sources: [handbook/office-hours]\n"
    )
    live_version(tmp_path, acme)
    edit(acme, "trellis.yml", "name: Example Co", "name: Example Co Ltd")
    (acme / "evals" / "starter.yml").unlink()
    dropped = trellis(tmp_path, "reload", "-w", str(acme))
    assert dropped.returncode == 1, dropped.stdout + dropped.stderr
    assert "it has no eval cases" in " ".join(dropped.stderr.split())
