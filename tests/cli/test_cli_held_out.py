"""`trellis ingest` and `trellis ask --json` on a corpus Trellis was not built around.

The Harbor workspace (tests/data/workspaces/harbor) has folder rules, a files glob, front
matter that overrides its folder, a superseded policy, a document with no rule at all, and
HTML and CSV files. Each question runs the real command in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HARBOR = Path(__file__).parent.parent / "data" / "workspaces" / "harbor"

TOM = "tom@harbor.example"  # ops
INES = "ines@harbor.example"  # ops, managers
WEI = "wei@harbor.example"  # finance, hr
LARA = "lara@harbor.example"  # security


def _trellis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("harbor") / "trellis.db"
    env = {
        **os.environ,
        "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "TRELLIS_WORKSPACE": str(HARBOR),
    }
    env.pop("ANTHROPIC_API_KEY", None)
    result = _trellis(env, "ingest")
    assert result.returncode == 0, result.stderr
    return env


def ask(env: dict[str, str], email: str, question: str) -> dict:
    result = _trellis(env, "ask", "--as", email, "--json", question)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


ANSWERED = [
    (TOM, "How far ahead must a vessel request a berth?", "ops-berth-booking", "72 hours"),
    (TOM, "When is crane 4 out of service for its overhaul?", "ops-crane-maintenance", "August"),
    (LARA, "When is crane 4 out of service for its overhaul?", "ops-crane-maintenance", "August"),
    (WEI, "On which day of the month are salaries paid?", "hr-payroll-calendar", "25th"),
    (TOM, "What is the overtime rate for hours beyond 40 in a week?", "hr-overtime", "150"),
    (LARA, "How quickly must a lost access badge be reported?", "sec-badge-policy", "one hour"),
    (INES, "What is the 2026 budget for Operations?", "finance/budget", "4200000"),
    (WEI, "Which gate do visitors sign in at?", "public/visitor-rules", "Gate 2"),
]


@pytest.mark.parametrize(("email", "question", "doc_id", "fact"), ANSWERED)
def test_allowed_questions_are_answered_from_the_right_source(
    cli_env, email, question, doc_id, fact
):
    result = ask(cli_env, email, question)
    assert result["status"] == "answered", result
    cited = [c["doc_id"] for c in result["citations"]]
    assert cited[0] == doc_id
    assert fact in result["answer"]
    assert result["audit_id"]
    for citation in result["citations"]:
        assert citation["quote"] and citation["title"]


DENIED = [
    (WEI, "How far ahead must a vessel request a berth?", "72 hours"),
    (TOM, "On which day of the month are salaries paid?", "25th"),
    (TOM, "What is the 2026 budget for Operations?", "4200000"),
    (WEI, "How quickly must a lost access badge be reported?", "one hour"),
    (INES, "What is the code name of the merger with the northern port authority?", "Lighthouse"),
]


@pytest.mark.parametrize(("email", "question", "secret"), DENIED)
def test_restricted_text_never_leaks(cli_env, email, question, secret):
    result = ask(cli_env, email, question)
    assert result["status"] == "no_answer", result
    assert result["citations"] == []
    assert secret not in json.dumps(result)


def test_superseded_policy_is_not_cited(cli_env):
    result = ask(cli_env, LARA, "How much does a replacement access badge cost?")
    assert result["status"] == "answered"
    assert [c["doc_id"] for c in result["citations"]] == ["sec-badge-policy"]
    assert "40 euros" in result["answer"]


def test_unanswerable_question_is_no_answer(cli_env):
    result = ask(cli_env, INES, "What is on the cafeteria menu on Friday?")
    assert result["status"] == "no_answer"
    assert result["citations"] == []


def test_unknown_person_is_refused_with_exit_status_1(cli_env):
    done = _trellis(
        cli_env,
        "ask",
        "--as",
        "stranger@elsewhere.example",
        "--json",
        "How far ahead must a vessel request a berth?",
    )
    assert done.returncode == 1, done.stderr  # a refusal, as for every command
    result = json.loads(done.stdout)
    assert result["status"] == "refused"
    assert "can't verify who you are" in result["answer"]
    assert "72 hours" not in result["answer"]


def test_ingest_reports_counts_and_is_incremental(cli_env):
    result = _trellis(cli_env, "ingest")
    assert result.returncode == 0
    assert "unchanged" in result.stdout
