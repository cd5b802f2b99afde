"""Keeping a test's SQLite database busy, as a burst of writes from elsewhere would."""

from __future__ import annotations

import sqlite3
import threading


class SqliteLock:
    """Another connection holding SQLite's write lock (BEGIN IMMEDIATE) until released."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._release = threading.Event()
        self._held = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> None:
        self._release.clear()
        self._held.clear()
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self._thread.start()
        self._held.wait(10)

    def release(self) -> None:
        self._release.set()
        if self._thread is not None:
            self._thread.join(10)

    def _hold(self) -> None:
        connection = sqlite3.connect(self.path, timeout=10)
        try:
            connection.execute("BEGIN IMMEDIATE")
            self._held.set()
            self._release.wait(60)
            connection.rollback()
        finally:
            connection.close()
