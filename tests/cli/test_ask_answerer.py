"""`trellis ask` answers with what the settings say, like every other entry point: with
ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL set, the question goes to that Messages API and
`--json` says which backend and model wrote the answer."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from app.cli.workspaces import STARTER
from tests.fakes.anthropic_server import FakeAnthropic

QUESTION = "When is the office open?"


@pytest.fixture
def workspace(tmp_path) -> Path:
    shutil.copytree(STARTER, tmp_path / "acme")
    return tmp_path / "acme"


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "ANTHROPIC_"))}
    env.update(TRELLIS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}", **extra)
    return env


async def ask(env: dict[str, str], workspace: Path, question: str = QUESTION) -> dict:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "ask",
        "--workspace",
        str(workspace),
        "--as",
        "sam@example.com",
        "--json",
        question,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return json.loads(out)


async def test_ask_sends_the_question_to_the_configured_messages_api(tmp_path, workspace):
    async with FakeAnthropic() as anthropic:
        env = env_for(
            tmp_path, ANTHROPIC_API_KEY=anthropic.api_key, ANTHROPIC_BASE_URL=anthropic.base_url
        )
        answer = await ask(env, workspace)
    # A new workspace goes through the eval gate first, answered the same way; the
    # question itself is the last request.
    *gate, request = anthropic.message_requests
    assert gate and all(r.body["model"] == request.body["model"] for r in gate)
    assert QUESTION in json.dumps(request.body)
    assert answer["status"] == "answered", answer
    assert (answer["backend"], answer["model"]) == ("anthropic", request.body["model"])
    assert answer["answerer"] == "anthropic"
    assert [c["doc_id"] for c in answer["citations"]] == ["handbook/office-hours"]


async def test_without_a_key_ask_says_it_answered_offline(tmp_path, workspace):
    answer = await ask(env_for(tmp_path), workspace)
    assert answer["status"] == "answered"
    assert (answer["backend"], answer["model"], answer["answerer"]) == (
        "extractive",
        None,
        "extractive",
    )


async def test_ask_does_not_promise_to_pass_an_unanswered_question_on(tmp_path, workspace):
    # The command line has no owners' notice and no button: its no-answer reply says so.
    answer = await ask(env_for(tmp_path), workspace, "Who won the regional chess final in 1987?")
    assert answer["status"] == "no_answer"
    assert "not passed on" in answer["answer"]
    assert "Don't forward" not in answer["answer"] and "pass your question" not in answer["answer"]
