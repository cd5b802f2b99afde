"""One `trellis run` per SQLite database.

SQLite serves one process: a second `trellis run` on the same file would take over the
first one's pending work (its approval cards, its outbox). So `run` holds an exclusive
lock on a file beside the database (`<database>.run.lock`, holding the owner's pid) for as
long as it runs, and a second `run` is refused at start, naming the database and the
process to stop. The operating system releases the lock when its process ends, however it
ends, so a crashed run never blocks the next start. PostgreSQL serves several replicas and
takes no such lock; neither does an in-memory database.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from app.errors import DatabaseInUse

LOCK_SUFFIX = ".run.lock"


def sqlite_file(database_url: str) -> Path | None:
    """The SQLite database file a URL names; None for PostgreSQL or an in-memory one."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("mode") == "memory":
        return None
    return Path(url.database).resolve()


@contextmanager
def the_only_run(database_url: str) -> Iterator[None]:
    """Hold the database for this process until the block ends (DatabaseInUse when another
    `trellis run` holds it)."""
    database = sqlite_file(database_url)
    if database is None or not database.parent.is_dir():
        yield  # nothing to hold, or a folder that is not there (connecting will say so)
        return
    lock = database.with_name(database.name + LOCK_SUFFIX)
    try:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a folder this process may not write to: the database will say so
        yield
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(str(database), _holder(descriptor)) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _holder(descriptor: int) -> int | None:
    """The pid the running process wrote into the lock file (None while it is writing it)."""
    written = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
    return int(written) if written.isdigit() else None
