"""What the binary formats share when a file cannot be read: the error names the file.

The readers of Word, PowerPoint, Excel and PDF files hand arbitrary bytes to third-party
parsers; whatever those raise is the file's problem, reported as a `WorkspaceError` that
names it (`unreadable`). Office files are zip packages: one that starts as an OLE compound
file instead is either locked with a password or in the binary format from before 2007,
and is refused with what to do about it (`refuse_locked`).

A parser may also log what it finds wrong and repairs as it reads ("EOF marker not found"),
in lines that name no file. `parser_log_kept` keeps those lines out of the log while one
file is read, and logs them once, at debug level, with the file's name.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from app.errors import WorkspaceError

log = structlog.get_logger(__name__)

OLE_MAGIC = b"\xd0\xcf\x11\xe0"
"""The start of an OLE compound file: an old binary .doc/.xls/.ppt, or a locked package."""


def refuse_locked(raw: bytes, name: str, *, kind: str, old: str, new: str) -> None:
    """Raise when `raw` is a locked Office file or one in the old binary format `old`."""
    if raw.startswith(OLE_MAGIC):
        raise WorkspaceError(
            name,
            f"is an encrypted {kind} or an old binary {old}; save it as {new} without a password",
        )


@contextmanager
def unreadable(name: str, kind: str) -> Iterator[None]:
    """Any failure inside is the file's: "is not a readable <kind> (<what the parser said>)"."""
    try:
        yield
    except WorkspaceError:
        raise
    except Exception as exc:  # a third-party parser on an arbitrary file: any failure is the file's
        raise WorkspaceError(name, f"is not a readable {kind} ({exc})") from exc


class _Held(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_ONE_AT_A_TIME = threading.Lock()
"""A logger's handlers and propagation are the process's: one file's read holds them at a
time (the parsers are pure Python, so reads in turn cost no time)."""


@contextmanager
def parser_log_kept(library: str, name: str) -> Iterator[None]:
    """Read one file with the `library` logger's lines held back, then logged once at
    debug level with the file's name `name`; a file that cannot be read at all is an error
    that names it anyway."""
    logger = logging.getLogger(library)
    held = _Held()
    try:
        with _ONE_AT_A_TIME:
            propagate = logger.propagate
            logger.addHandler(held)
            logger.propagate = False
            try:
                yield
            finally:
                logger.removeHandler(held)
                logger.propagate = propagate
    finally:
        if held.messages:
            log.debug("parser_notes", file=name, library=library, notes=held.messages[:20])
