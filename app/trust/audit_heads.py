"""Recorded heads of the audit chain: `SEQ:HASH`, kept outside the database.

A head recorded earlier lets `trellis audit verify` notice a cut tail, which the chain
alone cannot show (the records that remain still link up). Run
`trellis audit verify --head-file PATH` on a schedule: it checks against the head in the
file and, when the chain is intact, records the new head there. A malformed head is a
ValueError saying what was expected; the command line names the option that gave it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

HEAD = re.compile(r"^\s*(\d+):([0-9a-f]{64})\s*$")


def parse_head(text: str) -> tuple[int, str]:
    match = HEAD.match(text or "")
    if not match:
        raise ValueError(
            f"{text.strip()[:80]!r} is not an audit head; expected SEQ:HASH as "
            "printed by `trellis audit head`"
        )
    return int(match.group(1)), match.group(2)


def read_head(path: Path) -> tuple[int, str] | None:
    """The head recorded in `path`, or None when nothing was recorded yet."""
    if not path.exists():
        return None
    return parse_head(path.read_text(encoding="utf-8"))


def write_head(path: Path, seq: int, digest: str) -> None:
    """Replace the recorded head in one step, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"{seq}:{digest}\n", encoding="utf-8")
    os.replace(partial, path)
