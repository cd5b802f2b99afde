"""Structured logs: readable, colored lines on a terminal and JSON lines everywhere else
(or always, with TRELLIS_LOG_FORMAT=json), with secrets and personal data redacted before
anything is written, in either form.

`configure_logging(settings)` sets up structlog and routes the standard library's
`logging` (slack_bolt, httpx, anthropic, Trellis modules that use it) through the same
processors, so every line goes through `redact`:

- text under keys that name a secret (token, secret, password, api_key, authorization,
  cookie, signature …) becomes "[redacted]";
- Slack tokens (xoxb-, xoxp-, xapp- …), Anthropic keys (sk-ant-…), bearer tokens and the
  password in a URL (postgresql://user:PASSWORD@host) are cut out of any text;
- email addresses become a stable hash that keeps the domain, e.g.
  "user-4f1c2a9b@northwind.example", so one person's lines still group together.

Libraries' bookkeeping below WARNING (alembic's migration context, aiohttp's access log,
APScheduler's job list, Slack's session notices, HTTP clients' request lines) is hidden
unless TRELLIS_LOG_LEVEL is DEBUG; their warnings and errors always show.

Logs go to stderr, so `--json` output on stdout stays clean.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from pydantic import SecretStr
from structlog.typing import EventDict, Processor

from app.config.settings import Settings

REDACTED = "[redacted]"
SECRET_KEY = re.compile(
    r"(token|secret|passw(or)?d|api[_-]?key|authori[sz]ation|cookie|signature|credential|"
    r"private[_-]?key|dsn)",
    re.IGNORECASE,
)
SECRET_TEXT = [
    re.compile(r"\bxox[abposre]-[A-Za-z0-9-]+"),
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
    re.compile(r"\bsk-ant-[A-Za-z0-9_-]+"),
    re.compile(r"\bsk-[A-Za-z0-9]{20,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
]
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+(?=@)", re.IGNORECASE)
EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
MAX_DEPTH = 6
LIBRARY_LOGGERS = (
    "alembic",
    "aiohttp.access",
    "apscheduler",
    "slack_bolt",
    "slack_sdk",
    "httpx",
    "httpx2",
    "httpcore",
    "anthropic",
)
"""Loggers whose lines below WARNING are bookkeeping to an operator."""
TRACING_LOGGERS = ("markdown_it", "celpy", "lark", "pypdf", "pdfminer", "aiosqlite")
"""Libraries that trace every step below WARNING (markdown-it thousands of lines a
document, cel-python each rule it evaluates, aiosqlite each call it hands its thread): never
an operator's concern, so quiet at DEBUG too."""


def mask_email(match: re.Match[str]) -> str:
    local, domain = match.group(1), match.group(2)
    digest = hashlib.sha256(f"{local.lower()}@{domain.lower()}".encode()).hexdigest()[:8]
    return f"user-{digest}@{domain.lower()}"


def redact_text(text: str) -> str:
    for pattern in SECRET_TEXT:
        text = pattern.sub(REDACTED, text)
    text = URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    return EMAIL.sub(mask_email, text)


def redact_value(value: Any, *, depth: int = 0) -> Any:
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {
            k: (
                REDACTED
                if _secret_key(k) and isinstance(v, str | bytes) and v
                else redact_value(v, depth=depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, depth=depth + 1) for v in value]
    return value


def _secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(SECRET_KEY.search(key))


def redact(_logger: Any, _method: str, event_dict: EventDict) -> dict[str, Any]:
    """A structlog processor: the event with secrets removed and emails masked."""
    redacted: dict[str, Any] = redact_value(event_dict)
    return redacted


def processors(*, json_lines: bool, colors: bool = False) -> tuple[list[Processor], Processor]:
    """(processors shared by structlog and stdlib records, the final renderer)."""
    stamp = (
        structlog.processors.TimeStamper(fmt="iso", utc=True)
        if json_lines
        else structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False)
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        stamp,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        redact,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(sort_keys=True)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=colors)
    )
    return shared, renderer


def _isatty(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def wants_json(settings: Settings, stream: Any = None) -> bool:
    """JSON when asked for, or (format `auto`) when the logs do not go to a terminal."""
    if settings.log_json or settings.log_format == "json":
        return True
    return settings.log_format == "auto" and not _isatty(stream or sys.stderr)


def quiet_libraries(level: int) -> None:
    """Hide libraries' bookkeeping below WARNING, unless the process logs at DEBUG."""
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(
            logging.NOTSET if level <= logging.DEBUG else logging.WARNING
        )
    for name in TRACING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _from_a_library(record: logging.LogRecord) -> bool:
    return any(record.name == n or record.name.startswith(f"{n}.") for n in LIBRARY_LOGGERS)


NOT_FOR_OPERATORS = frozenset({"As you gave `client` as well, `token` will be unused."})
"""Library warnings about how Trellis itself is built, not about anything an operator sets
or could change: Bolt reads SLACK_BOT_TOKEN too, and at every start warns that the client
Trellis gives it (holding that same token) is used instead (tests/config/test_logging.py
checks the words against Bolt's own)."""


class _QuietLibraries(logging.Filter):
    """For loggers a library gives its own level (slack_bolt copies the root's onto each)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _from_a_library(record):
            return True
        return record.levelno >= logging.WARNING and record.getMessage() not in NOT_FOR_OPERATORS


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time of writing."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(
    settings: Settings, *, stream: Any = None, json_lines: bool | None = None
) -> None:
    """Set up structlog and the standard library's logging for this process."""
    if json_lines is None:
        json_lines = wants_json(settings, stream)
    colors = not json_lines and _isatty(stream or sys.stderr)
    shared, renderer = processors(json_lines=json_lines, colors=colors)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_trellis", False)]:
        root.removeHandler(old)
    handler._trellis = True  # type: ignore[attr-defined]
    if settings.log_level_number > logging.DEBUG:
        handler.addFilter(_QuietLibraries())
    root.addHandler(handler)
    root.setLevel(settings.log_level_number)
    quiet_libraries(settings.log_level_number)
