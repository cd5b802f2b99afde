"""Each mistake an operator can make in setting Trellis up is one line on the terminal
(never a traceback) naming what to change, and exit status 2. Every test runs the real
command in a subprocess, against real sockets and local stand-ins for Slack and Anthropic.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.anthropic_server import FakeAnthropic

UNSET = ("SLACK_", "ANTHROPIC_", "TRELLIS_")


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(UNSET)}
    env.update(
        TRELLIS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}",
        TRELLIS_HTTP_PORT="0",
        TRELLIS_SANDBOX_PORT="0",
        COLUMNS="60",  # narrower than every message: one line must stay one line
    )
    env.update(extra)
    return env


def trellis(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )


async def trellis_async(env: dict[str, str], *args: str, cwd: Path) -> tuple[int, str]:
    """The command in a subprocess while this event loop serves the local stand-ins."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, output.decode()


def the_one_line(returncode: int, output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert returncode == 2, output
    assert "Traceback" not in output, output
    assert len(lines) == 1, output
    return lines[0]


@pytest.fixture
def listening() -> AsyncIterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


@pytest.mark.parametrize("setting", ["TRELLIS_HTTP_PORT", "TRELLIS_SANDBOX_PORT"])
def test_a_busy_port_names_the_setting_that_moves_it(tmp_path, listening, setting):
    done = trellis(base_env(tmp_path, **{setting: str(listening)}), "run", cwd=tmp_path)
    line = the_one_line(done.returncode, done.stdout + done.stderr)
    assert setting in line and str(listening) in line and "in use" in line
    assert not (tmp_path / "trellis.db").exists()  # stopped before anything started


@pytest.mark.parametrize(
    "command",
    [["run"], ["report"], ["db", "upgrade"], ["ask", "--as", "sam@example.com", "Hi?"]],
    ids=lambda c: c[0],
)
def test_an_unreachable_database_names_trellis_database_url(tmp_path, command):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql+asyncpg://trellis:hunter2@127.0.0.1:{port}/trellis"
    done = trellis(base_env(tmp_path, TRELLIS_DATABASE_URL=url), *command, cwd=tmp_path)
    line = the_one_line(done.returncode, done.stdout + done.stderr)
    assert "TRELLIS_DATABASE_URL" in line and f"127.0.0.1:{port}" in line
    assert "hunter2" not in done.stdout + done.stderr


def test_a_database_folder_that_does_not_exist_is_named_too(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'trellis.db'}"
    done = trellis(base_env(tmp_path), "report", "--database-url", url, cwd=tmp_path)
    line = the_one_line(done.returncode, done.stdout + done.stderr)
    assert "TRELLIS_DATABASE_URL" in line and "no-such-folder" in line and "does not exist" in line


def test_a_workspace_folder_that_does_not_exist_names_the_option_or_the_variable(tmp_path):
    nowhere = tmp_path / "nowhere"
    done = trellis(
        base_env(tmp_path),
        "ask",
        "--workspace",
        str(nowhere),
        "--as",
        "a@b.example",
        "Hi?",
        cwd=tmp_path,
    )
    line = the_one_line(done.returncode, done.stdout + done.stderr)
    assert "--workspace" in line and str(nowhere) in line and "does not exist" in line

    done = trellis(base_env(tmp_path, TRELLIS_WORKSPACE=str(nowhere)), "run", cwd=tmp_path)
    line = the_one_line(done.returncode, done.stdout + done.stderr)
    assert "TRELLIS_WORKSPACE" in line and "does not exist" in line


@pytest.mark.parametrize(
    ("bot", "app", "named", "says"),
    [
        (
            "xapp-1-A0TRELLIS-1-abc",
            "xoxb-11-22-abc",
            "SLACK_BOT_TOKEN and SLACK_APP_TOKEN",
            "swapped",
        ),
        ("xoxp-11-22-33-abc", "xapp-1-A0TRELLIS-1-abc", "SLACK_BOT_TOKEN", "user token (xoxp-)"),
        ("xoxb-11-22-abc", "xoxb-11-22-abc", "SLACK_APP_TOKEN", "app-level token (xapp-)"),
    ],
    ids=["swapped", "user-token", "bot-token-as-app-token"],
)
def test_a_slack_token_of_the_wrong_kind_is_named(tmp_path, bot, app, named, says):
    env = base_env(tmp_path, SLACK_BOT_TOKEN=bot, SLACK_APP_TOKEN=app)
    done = trellis(env, "run", cwd=tmp_path)
    line = the_one_line(done.returncode, done.stdout + done.stderr)
    assert line.split("Setup error ", 1)[1].startswith(f"{named}:"), line
    assert says in line
    assert "abc" not in line  # the tokens themselves are not printed


class FakeSlack:
    """Slack's Web API as far as `trellis run` starts: `auth.test` and the methods it tries."""

    def __init__(self, answers: dict[str, dict[str, object]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        return web.json_response(self.answers.get(method, {"ok": False, "error": "unknown_method"}))

    async def __aenter__(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/api/"

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


AUTH_OK = {"ok": True, "user_id": "U0BOT", "team_id": "T0ACME", "bot_id": "B0BOT"}


@pytest.mark.parametrize(
    ("answers", "says"),
    [
        (
            {
                "auth.test": AUTH_OK,
                "users.info": {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": "users:read",
                    "provided": "chat:write,commands",
                },
            },
            "lacks the scope users:read (it has chat:write,commands)",
        ),
        ({"auth.test": {"ok": False, "error": "invalid_auth"}}, "refused the token (invalid_auth)"),
    ],
    ids=["missing_scope", "invalid_auth"],
)
async def test_what_slack_refuses_at_start_names_the_token_to_change(tmp_path, answers, says):
    slack = FakeSlack(answers)
    async with slack as api_url:
        env = base_env(
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-11-22-abc",
            SLACK_APP_TOKEN="xapp-1-A0TRELLIS-1-abc",
            TRELLIS_SLACK_API_URL=api_url,
        )
        returncode, output = await trellis_async(env, "run", cwd=tmp_path)
    line = the_one_line(returncode, output)
    assert "SLACK_BOT_TOKEN:" in line and says in line
    assert "apps.connections.open" not in slack.calls  # nothing was started


async def test_a_key_anthropic_refuses_names_anthropic_api_key(tmp_path):
    async with FakeAnthropic(api_key="sk-ant-the-right-key") as anthropic:
        env = base_env(
            tmp_path, ANTHROPIC_API_KEY="sk-ant-a-wrong-key", ANTHROPIC_BASE_URL=anthropic.base_url
        )
        returncode, output = await trellis_async(
            env, "ask", "--as", "sam.ortiz@northwind.example", "How many PTO days?", cwd=tmp_path
        )
    line = the_one_line(returncode, output)
    assert "ANTHROPIC_API_KEY:" in line and "refused the key (HTTP 401)" in line
    assert "wrong-key" not in output
    assert [r.path for r in anthropic.requests] == ["/v1/models"]
    assert not anthropic.message_requests
