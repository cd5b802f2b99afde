"""A test's child process (a Trellis process to kill -9): read until it announces a step,
and kill it."""

from __future__ import annotations

import asyncio
import signal


async def said(child: asyncio.subprocess.Process, word: str, *, within: float = 60) -> None:
    """Until the child prints the line `word`."""
    assert child.stdout is not None
    async with asyncio.timeout(within):
        while (line := (await child.stdout.readline()).strip()) != word.encode():
            assert line, f"the child stopped before saying {word!r}"


async def kill(child: asyncio.subprocess.Process) -> None:
    """SIGKILL, as a crash would stop it."""
    if child.returncode is None:
        child.send_signal(signal.SIGKILL)
    await child.wait()
