"""What a knowledge file's reading depends on, found without reading it: its stamp.

A file whose stamp is the one recorded when it was last read (app/knowledge/ingest.py) is
not read again to learn that nothing changed. The stamp holds the file's bytes (hashed),
its path, the `_access.yml` files above it, the reader's and the model's versions (and
the libraries that read documents, by version), the allowed links and the size limit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path, PurePosixPath

from app.knowledge.access_rules import ACCESS_FILE


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


READERS = sorted(
    f"{name} {_installed(name)}"
    for name in (
        "docutils",
        "markdown-it-py",
        "mdit-py-plugins",
        "selectolax",
        "pypdf",
        "pypdfium2",
        "python-docx",
    )
)
"""The libraries that read documents, by version: part of every stamp, so an upgrade of one
reads every file again."""


def read_stamps(
    files: list[Path],
    knowledge_dir: Path,
    model: str | None,
    prefixes: Sequence[str] | None,
    max_document_chars: int,
    chunker: int,
) -> dict[Path, str]:
    """Each file's stamp: what its reading depends on, found without reading it."""
    rules = {
        PurePosixPath(path.relative_to(knowledge_dir).parent.as_posix()): hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
        for path in knowledge_dir.rglob(ACCESS_FILE)
    }
    settings = [chunker, READERS, model, sorted(prefixes or ()), max_document_chars]
    stamps = {}
    for path in files:
        relative = PurePosixPath(path.relative_to(knowledge_dir).as_posix())
        above = sorted((str(f), h) for f, h in rules.items() if f in relative.parents)
        try:
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            content = ""  # read (and reported) as the file it is
        facts = [*settings, str(relative), content, above]
        stamps[path] = hashlib.sha256(json.dumps(facts).encode()).hexdigest()
    return stamps
