"""How the process asks the C library to hold its memory: few heaps, large blocks given back.

Two settings of glibc's allocator (`mallopt`), each measured with bench/latency.py at
10,000 documents (bench/RESULTS.md); elsewhere than glibc they do nothing.

    few heaps     glibc gives every thread that allocates at once a heap of its own, up to
                  eight per core, and each keeps what its thread freed. Trellis's threads
                  (the event loop, the database's, the models') left about 18 MB spread
                  over them; two heaps hold the same work. Set when the `trellis` command
                  starts, before any thread (`limit_heaps`), unless the operator set
                  MALLOC_ARENA_MAX.
    large blocks  left to itself glibc raises its threshold for giving large blocks their
                  own mapping after the embedding model frees its activations (a few MB per
                  batch), then keeps those blocks on its heap instead of returning them: a
                  large ingest left the process hundreds of MB bigger than it needed. With
                  the threshold fixed at 128 KiB they go back to the system when freed. Set
                  when the embedding model loads (`return_large_blocks`).
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

HEAPS = 2
LARGE_BLOCK = 128 * 1024
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def limit_heaps() -> None:
    """At most `HEAPS` heaps for all threads (call before threads start), unless the
    operator chose a number (`MALLOC_ARENA_MAX`, or glibc's `arena_max` tunable)."""
    chosen = "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", "")
    if not chosen and (libc := _glibc()) is not None:
        libc.mallopt(_M_ARENA_MAX, HEAPS)


def return_large_blocks() -> None:
    """Blocks from `LARGE_BLOCK` up mapped on their own, and unmapped when freed."""
    if (libc := _glibc()) is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK)
