"""Paths inside the knowledge folder: the part of it that `trellis ingest PATH` names, and
whether an indexed document lies within that part."""

from __future__ import annotations

from pathlib import Path

from app.errors import WorkspaceError
from app.knowledge.access_rules import display_name


def scope_of(only: Path | None, knowledge_dir: Path, root: Path) -> str | None:
    """`only` as a posix path relative to `knowledge/`, or None for everything.

    A relative `only` is taken relative to `knowledge/`, then to the workspace, then to
    the current folder (where a shell completes it); it must exist and lie inside
    `knowledge/`, or nothing would be indexed and every count would read zero."""
    if only is None:
        return None
    if only.is_absolute():
        candidates = [only]
    else:
        candidates = [knowledge_dir / only, root / only, Path.cwd() / only]
    inside = []
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_relative_to(knowledge_dir):
            if resolved.exists():
                scope = resolved.relative_to(knowledge_dir).as_posix()
                return None if scope == "." else scope
            inside.append(resolved)
    knowledge = display_name(knowledge_dir, root)
    if inside:
        raise WorkspaceError(
            display_name(inside[-1], root),
            f"does not exist; name a file or folder of {knowledge}/, relative to it",
        )
    raise WorkspaceError(
        str(only), f"is not inside {knowledge}/; name a file or folder of it, relative to it"
    )


def within(relative: str, scope: str | None) -> bool:
    return scope is None or relative == scope or relative.startswith(scope + "/")
