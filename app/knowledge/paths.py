"""Paths inside the knowledge folder: the part of it that `trellis ingest PATH` names,
whether an indexed document lies within that part, and the documents to read there."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from app.errors import WorkspaceError
from app.knowledge.access_rules import ACCESS_FILE, display_name
from app.knowledge.loaders import is_document, not_read
from app.knowledge.report import IngestReport


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


def document_files(knowledge_dir: Path, scope: str | None, report: IngestReport) -> list[Path]:
    """The documents to read in `knowledge_dir` (or its part `scope`): hidden files and
    `_access.yml` aside; a file linking outside the folder is an error, and one of a kind
    Trellis does not read is counted as skipped (with a warning when it should be saved
    as another kind)."""
    start = knowledge_dir / scope if scope else knowledge_dir
    if start.is_file():
        candidates = [start]
    elif start.is_dir():
        candidates = sorted(p for p in start.rglob("*") if p.is_file())
    else:
        return []
    files = []
    for path in candidates:
        relative = PurePosixPath(path.relative_to(knowledge_dir).as_posix())
        if any(part.startswith(".") for part in relative.parts) or path.name == ACCESS_FILE:
            continue
        name = f"{knowledge_dir.name}/{relative}"
        if not path.resolve().is_relative_to(knowledge_dir):
            # A link to a file elsewhere on the host would publish it under the folder's
            # access rule: knowledge files are read only inside the knowledge folder.
            problem = "links to a file outside the knowledge folder; it was not read"
            report.errors.append(WorkspaceError(name, problem))
            continue
        if is_document(path):
            files.append(path)
        else:
            report.skipped += 1
            if (warning := not_read(name, path)) is not None:
                report.warnings.append(warning)
    return files
