"""What the binary formats share when a file cannot be read: the error names the file.

The readers of Word, PowerPoint, Excel and PDF files hand arbitrary bytes to third-party
parsers; whatever those raise is the file's problem, reported as a `WorkspaceError` that
names it (`unreadable`). Office files are zip packages: one that starts as an OLE compound
file instead is either locked with a password or in the binary format from before 2007,
and is refused with what to do about it (`refuse_locked`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import WorkspaceError

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
