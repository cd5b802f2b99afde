"""Log lines: readable on a terminal, JSON elsewhere, secrets out of both, and libraries'
bookkeeping kept quiet unless the operator asks for DEBUG."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator

import pytest
import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from app.config.logging import LIBRARY_LOGGERS, TRACING_LOGGERS, configure_logging
from app.config.settings import Settings
from tests.logging_state import restore_logging  # noqa: F401  (a fixture)

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SECRET = "xoxb-1234-5678-abcdefSECRET"
BOLT = "slack_bolt.AsyncApp"


@pytest.fixture(autouse=True)
def clean(restore_logging) -> Iterator[None]:  # noqa: F811
    levels = {
        name: logging.getLogger(name).level for name in (*LIBRARY_LOGGERS, *TRACING_LOGGERS, BOLT)
    }
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


class Terminal:
    """A real pseudo-terminal: what is written to `stream` is read back from the other end."""

    def __init__(self) -> None:
        self.reader, writer = os.openpty()
        self.stream = os.fdopen(writer, "w", buffering=1)

    def read(self) -> str:
        self.stream.flush()
        chunks = []
        while True:
            os.set_blocking(self.reader, False)
            try:
                chunk = os.read(self.reader, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode().replace("\r\n", "\n")

    def close(self) -> None:
        self.stream.close()
        os.close(self.reader)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    tty = Terminal()
    yield tty
    tty.close()


def log_something() -> None:
    structlog.get_logger("trellis.test").info("answer_posted", bot_token=SECRET, channel="C1")
    logging.getLogger("slack_bolt.App").warning("reconnecting with %s", SECRET)


def test_a_terminal_gets_readable_colored_lines_with_secrets_redacted(terminal):
    assert terminal.stream.isatty()
    configure_logging(Settings(log_level="INFO"), stream=terminal.stream)
    log_something()
    raw = terminal.read()
    assert "\x1b[" in raw  # colored
    lines = ANSI.sub("", raw).strip().splitlines()
    assert len(lines) == 2
    assert not any(line.lstrip().startswith("{") for line in lines)
    assert "answer_posted" in lines[0] and "channel=C1" in lines[0]
    assert re.match(r"^\d\d:\d\d:\d\d ", lines[0])  # a short time, not an ISO stamp
    assert "reconnecting with [redacted]" in lines[1]
    assert SECRET not in raw


def test_json_lines_when_not_a_terminal_or_when_asked_for(terminal):
    piped = io.StringIO()
    configure_logging(Settings(log_level="INFO"), stream=piped)
    log_something()
    first, second = (json.loads(line) for line in piped.getvalue().splitlines())
    assert first["event"] == "answer_posted" and first["bot_token"] == "[redacted]"
    assert "[redacted]" in second["event"]
    assert SECRET not in piped.getvalue()

    configure_logging(Settings(log_level="INFO", log_format="json"), stream=terminal.stream)
    log_something()
    lines = terminal.read().strip().splitlines()
    assert [json.loads(line)["level"] for line in lines] == ["info", "warning"]
    assert SECRET not in "".join(lines)


def test_the_format_comes_from_trellis_log_format(monkeypatch):
    monkeypatch.setenv("TRELLIS_LOG_FORMAT", "JSON")
    assert Settings().log_format == "json"
    monkeypatch.setenv("TRELLIS_LOG_FORMAT", "pretty")
    with pytest.raises(ValueError, match="log_format"):
        Settings()


def test_library_bookkeeping_is_hidden_unless_debug_but_their_warnings_show():
    def chatter() -> str:
        stream = io.StringIO()
        configure_logging(Settings(log_level=level), stream=stream)
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
        logging.getLogger("alembic.runtime.migration").info("Will assume non-transactional DDL.")
        logging.getLogger("aiohttp.access").info('127.0.0.1 "POST /api/auth.test HTTP/1.1" 200')
        logging.getLogger("apscheduler.scheduler").info("Adding job tentatively")
        bolt = logging.getLogger(BOLT)
        bolt.setLevel(logging.INFO)  # as slack_bolt does, copying the root logger's level
        bolt.info("A new session has been established")
        logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
        structlog.get_logger("app.trust.reload").info("version_live")
        return stream.getvalue()

    level = "INFO"
    shown = chatter()
    assert "Context impl" not in shown and "non-transactional" not in shown
    assert "auth.test" not in shown and "tentatively" not in shown
    assert "new session" not in shown
    assert "was missed" in shown and "version_live" in shown

    level = "DEBUG"
    shown = chatter()
    for line in ("Context impl", "non-transactional", "auth.test", "tentatively", "new session"):
        assert line in shown


def test_bolts_warning_about_the_client_trellis_gives_it_is_not_shown(monkeypatch):
    stream = io.StringIO()
    configure_logging(Settings(log_level="INFO"), stream=stream)
    # Bolt reads the token from the environment too, and warns that the client's is used.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-the-same")
    AsyncApp(client=AsyncWebClient(token="xoxb-the-same"), signing_secret="")
    logging.getLogger(BOLT).warning("Failed to establish a connection")
    shown = stream.getvalue()
    assert "`token` will be unused" not in shown
    assert "Failed to establish a connection" in shown  # its other warnings still show


def test_parsers_tracing_their_steps_stay_quiet_even_at_debug_but_warn(tmp_path):
    stream = io.StringIO()
    configure_logging(Settings(log_level="DEBUG"), stream=stream)
    # The real libraries, doing their real work: a Markdown page read, a rule evaluated.
    from app.knowledge.formats.markdown import markdown_blocks
    from app.rules.conditions import Condition

    markdown_blocks("# Leave\n\n- Annual leave: 25 days\n- Sick leave: 10 days\n")
    assert Condition.compile("input.percent > 15").holds({"input": {"percent": 20}})
    logging.getLogger("markdown_it.rules_block").warning("a real problem")
    structlog.get_logger("app.answering.compose").debug("gate_decided")
    shown = stream.getvalue()
    assert not [
        line
        for line in shown.splitlines()
        if ("markdown_it" in line or "celpy" in line) and "a real problem" not in line
    ], shown[:2000]
    assert "a real problem" in shown and "gate_decided" in shown
