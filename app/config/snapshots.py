"""A configuration version's files: which they are, their hash, and writing them back.

A version is the content of the workspace's configuration files (trellis.yml, rules.yml,
the directory, prompts/, evals/), named by their hash; `files_version` of a `snapshot` is
the same hash `Workspace.version` gives the folder. The eval gate
(`app/trust/versions.py`) stores snapshots and restores them for a rollback.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from app.config.workspace import (
    DIRECTORY_FILES,
    PROMPT_SUFFIXES,
    RULES_FILE,
    TRELLIS_FILE,
    Workspace,
    load_workspace,
)
from app.errors import WorkspaceError


def versioned_paths(root: Path) -> list[Path]:
    """The files a version is made of, as `workspace_version` hashes them."""
    paths = [root / TRELLIS_FILE, root / RULES_FILE, *(root / name for name in DIRECTORY_FILES)]
    for folder, suffixes in (("prompts", PROMPT_SUFFIXES), ("evals", (".yml",))):
        if (root / folder).is_dir():
            paths += [
                p
                for p in (root / folder).iterdir()
                if p.is_file() and not p.name.startswith(".") and p.suffix in suffixes
            ]
    return sorted((p for p in paths if p.is_file()), key=lambda p: p.relative_to(root).as_posix())


def snapshot(root: Path) -> dict[str, str]:
    """{relative path: text} of every versioned file."""
    files = {}
    for path in versioned_paths(root):
        name = path.relative_to(root).as_posix()
        try:
            files[name] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(name, f"is not UTF-8 text ({exc.reason})") from exc
    return files


def files_version(files: dict[str, str]) -> str:
    """The version of a snapshot: the same hash `workspace_version` gives the folder."""
    digest = hashlib.sha256()
    for name in sorted(files):
        content = files[name].encode("utf-8").replace(b"\r\n", b"\n")
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:12]


def signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Cheap change detection for the watcher: names, sizes and modification times."""
    marks: list[tuple[str, int, int]] = []
    for path in versioned_paths(root):
        stat = path.stat()
        marks.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(marks)


def restore(root: Path, files: dict[str, str]) -> None:
    """Write a snapshot back into the folder; versioned files it does not have are removed."""
    for path in versioned_paths(root):
        if path.relative_to(root).as_posix() not in files:
            path.unlink()
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))


def materialize(files: dict[str, str], *, like: Path, into: Path) -> Workspace:
    """Load a snapshot as a Workspace that answers from the knowledge of the folder `like`."""
    restore(into, files)
    (into / "knowledge").mkdir(exist_ok=True)
    loaded = load_workspace(into)
    real = like.resolve()
    return dataclasses.replace(loaded, root=real, knowledge_dir=real / "knowledge")
