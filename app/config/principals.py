"""Principals named in workspace files (trellis.yml, rules.yml, the `_access.yml` files)
that the directory does not know: a misspelt group would otherwise silently grant nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config.directory import Directory
from app.config.yamlfile import Loc, YamlDocument, load_yaml
from app.errors import WorkspaceError

if TYPE_CHECKING:
    from app.knowledge.loaders import LoadedDocument
from app.knowledge.access_rules import ACCESS_FILE, display_name, normalize_principal


def access_principals(
    knowledge_dir: Path, root: Path
) -> Iterator[tuple[YamlDocument, Iterator[tuple[Loc, str]]]]:
    """Every principal named in the `_access.yml` files, with where it is written. Files
    that do not parse are left to ingest, which reports them and keeps what they governed."""
    for path in sorted(knowledge_dir.rglob(ACCESS_FILE)):
        if any(part.startswith(".") for part in path.relative_to(knowledge_dir).parts):
            continue
        try:
            doc = load_yaml(path, display_name=display_name(path, root))
        except WorkspaceError:
            continue
        data = doc.data if isinstance(doc.data, dict) else {}

        def refs(data: dict[Any, Any] = data) -> Iterator[tuple[Loc, str]]:
            default = data.get("default")
            if isinstance(default, str):
                yield ("default",), _as_principal(default)
            elif isinstance(default, list):
                for i, principal in enumerate(default):
                    yield ("default", i), _as_principal(principal)
            files = data.get("files")
            for pattern, principals in files.items() if isinstance(files, dict) else ():
                items = [principals] if isinstance(principals, str) else principals
                for i, principal in enumerate(items if isinstance(items, list) else ()):
                    loc = (
                        ("files", pattern) if isinstance(principals, str) else ("files", pattern, i)
                    )
                    yield loc, _as_principal(principal)

        yield doc, refs()


def _as_principal(value: object) -> str:
    try:
        return normalize_principal(value)
    except ValueError:
        return str(value)


def unknown_principals(
    doc: YamlDocument, refs: Iterator[tuple[Loc, str]], directory: Directory, directory_name: str
) -> list[WorkspaceError]:
    """One error for each principal in `refs` that the directory does not know."""
    found: list[WorkspaceError] = []
    for loc, principal in refs:
        if loc not in doc.lines or directory.knows_principal(principal):
            continue
        problem = unknown_principal(principal, directory, directory_name)
        found.append(doc.error(loc, f"{dotted(loc)}: {problem}"))
    return found


def unknown_principal(principal: str, directory: Directory, directory_name: str) -> str:
    """What is wrong with a principal the directory does not know, with the closest group
    when one is close enough to be what was meant."""
    if "@" in principal:
        return f"{principal} is not in {directory_name}"
    problem = (
        f"{principal!r} is not a group in {directory_name}, an email of someone "
        f"in it, 'everyone' or 'public'"
    )
    close = difflib.get_close_matches(principal, sorted(directory.groups), n=1)
    if close:
        problem += f" (did you mean {close[0]!r}?)"
    return problem


def unknown_access(
    name: str, document: LoadedDocument, directory: Directory, directory_name: str
) -> list[WorkspaceError]:
    """A warning for each principal a document's front-matter `access` names that the
    directory does not know, at its line: a misspelt group leaves out everyone in the group
    meant. Groups exist by having members, so a group nobody is in yet is no mistake."""
    unknown = [p for p in document.access or () if not directory.knows_principal(p)]
    if not unknown:
        return []
    known = len(document.access or ()) - len(unknown)
    outcome = "only the others it lists see the document" if known else "nobody sees the document"
    return [
        WorkspaceError(
            name,
            f"access: {unknown_principal(p, directory, directory_name)}; {outcome}",
            line=document.access_lines.get(p, document.lines.get("access")),
        )
        for p in unknown
    ]


def dotted(loc: Loc) -> str:
    return ".".join(str(p) for p in loc)
