"""The allocator's settings (`app/memory.py`), read back from glibc's own report of its
heaps in a fresh process, where no thread has taken a heap yet."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading

    if sys.argv[1] == "command":
        import app.cli.main  # loading the command: the heaps it leaves before `main` runs
    else:
        from app.memory import limit_heaps

        if sys.argv[1] == "limited":
            limit_heaps()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    start, kept = threading.Barrier(8), []

    def allocate():
        start.wait()  # all at once, as a burst's threads would
        kept.extend(libc.malloc(4096) for _ in range(64))

    if sys.argv[1] != "command":
        threads = [threading.Thread(target=allocate) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with tempfile.NamedTemporaryFile(suffix=".xml") as report:
        stream = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        print(open(report.name).read().count("<heap nr="))
    """
)


GLIBC = platform.libc_ver()[0] == "glibc"


def _heaps(mode: str) -> int:
    """The heaps of a fresh process: eight threads allocating at once, with the limit
    (`limited`) or without (`default`); or none, after loading the command (`command`)."""
    # The operator's own settings would decide instead of the code under test.
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES", "LD_PRELOAD")
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True, env=env
    )
    return int(done.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator")
def test_threads_share_at_most_two_heaps_once_limited():
    assert _heaps("limited") <= 2


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator")
def test_without_the_limit_threads_take_heaps_of_their_own():
    # The measurement the limit is for: otherwise the check above could not fail.
    assert _heaps("default") > 2


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator")
def test_the_command_starts_with_one_heap_and_limits_it(monkeypatch):
    # Loading the command starts no thread that would take a heap before the limit.
    assert _heaps("command") == 1

    import app.cli.main as command

    calls: list[str] = []
    monkeypatch.setattr(command, "limit_heaps", lambda: calls.append("heaps"))
    monkeypatch.setattr(command, "cli", lambda: calls.append("command"))
    command.main()
    assert calls == ["heaps", "command"]


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator")
def test_an_operators_own_setting_is_kept(monkeypatch):
    import app.memory

    calls: list[tuple[int, int]] = []

    class Libc:
        def mallopt(self, option: int, value: int) -> None:
            calls.append((option, value))

    monkeypatch.setattr(app.memory, "_glibc", lambda: Libc())
    monkeypatch.setenv("MALLOC_ARENA_MAX", "6")
    app.memory.limit_heaps()
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=3")
    app.memory.limit_heaps()
    assert calls == []
    monkeypatch.delenv("GLIBC_TUNABLES")
    app.memory.limit_heaps()
    assert calls == [(app.memory._M_ARENA_MAX, app.memory.HEAPS)]
