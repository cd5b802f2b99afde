"""One `trellis run` per SQLite database.

SQLite serves one process: a second `trellis run` on the same file would take over the
first one's pending work (its approval cards, its outbox). So `run` holds an exclusive
lock on a file beside the database (`<database>.run.lock`, holding the owner's pid) for as
long as it runs, and a second `run` is refused at start, naming the database and the
process to stop. A run that stops removes the file; the operating system releases the
lock when its process ends, however it ends, so a crashed run never blocks the next start.
PostgreSQL serves several replicas and takes no such lock; neither does an in-memory
database.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from app.errors import DatabaseInUse

LOCK_SUFFIX = ".run.lock"
LOCK_ATTEMPTS = 5
"""Times a lock file removed between opening and locking it is opened again."""


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
        descriptor = _locked(lock, database)
    except OSError:  # a folder this process may not write to: the database will say so
        yield
        return
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        # Removed while still held (and only if it is still this run's file), so a clean
        # stop leaves nothing beside the database; a run starting meanwhile finds its lock
        # file gone and makes a new one (`_locked`).
        with contextlib.suppress(OSError):
            if _same_file(lock, descriptor):
                lock.unlink()
        os.close(descriptor)  # closing releases the lock


def _locked(lock: Path, database: Path) -> int:
    """An open descriptor of `lock`, exclusively locked by this process (DatabaseInUse when
    another process holds it). A lock file removed by the run that held it, between this
    process opening it and locking it, is opened again: the lock must be on the file that
    is there."""
    attempts = 0
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(descriptor)
            os.close(descriptor)
            raise DatabaseInUse(str(database), holder) from None
        attempts += 1
        # The last attempt holds whatever it locked (a file system whose ids never agree).
        if _same_file(lock, descriptor) or attempts == LOCK_ATTEMPTS:
            return descriptor
        os.close(descriptor)


def _same_file(path: Path, descriptor: int) -> bool:
    """Whether `path` is the file open as `descriptor`."""
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (there.st_dev, there.st_ino) == (held.st_dev, held.st_ino)


def _holder(descriptor: int) -> int | None:
    """The pid the running process wrote into the lock file (None while it is writing it)."""
    written = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
    return int(written) if written.isdigit() else None
