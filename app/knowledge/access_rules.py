"""Who may see a document: front matter first, then the nearest `_access.yml`.

An `_access.yml` applies to its folder and every folder below it:

    default: [everyone]                 # any file without a more specific rule
    files:
      "salary-bands-*": [people-ops]    # fnmatch globs on the path relative to this folder

For a document, the folders from its own up to `knowledge/` are tried nearest first; the
first `_access.yml` with a matching `files` glob (in file order), else a `default`, decides.
A document's own front-matter `access` wins over every folder rule. With no rule anywhere
the access list is empty: the document is visible to nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from app.config.yamlfile import load_yaml, validate
from app.errors import BrokenAccessRule, WorkspaceError

ACCESS_FILE = "_access.yml"


def normalize_principal(value: Any) -> str:
    """A principal as stored: trimmed, e-mail addresses lower-cased."""
    if not isinstance(value, str):
        raise ValueError("a principal must be a group name, an email, `everyone` or `public`")
    principal = value.strip()
    if not principal or any(ch.isspace() for ch in principal):
        raise ValueError(f"{value!r} is not a principal (no spaces allowed)")
    return principal.lower() if "@" in principal else principal


def _principal_list(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    seen: dict[str, None] = {}
    for item in value:
        seen[normalize_principal(item)] = None
    return list(seen)


Principals = Annotated[list[str], BeforeValidator(_principal_list)]
"""A list of principals (a single string is accepted as a one-item list)."""


class AccessFile(BaseModel):
    """The contents of one `_access.yml`."""

    model_config = ConfigDict(extra="forbid")

    default: Principals | None = None
    files: dict[str, Principals] = {}


@dataclass(frozen=True)
class ResolvedAccess:
    principals: tuple[str, ...]
    source: str
    """Where the rule came from: `front matter`, an `_access.yml` (with the glob), or `none`."""


class AccessRules:
    """Every `_access.yml` under `knowledge/`, ready to resolve a document's access."""

    def __init__(
        self,
        rules: dict[PurePosixPath, AccessFile],
        broken: dict[PurePosixPath, WorkspaceError],
        display: dict[PurePosixPath, str],
    ) -> None:
        self._rules = rules
        self._broken = broken
        self._display = display

    @classmethod
    def load(cls, knowledge_dir: Path, *, display_root: Path | None = None) -> AccessRules:
        """Read every `_access.yml`; broken ones are remembered, not raised (see `errors`)."""
        rules: dict[PurePosixPath, AccessFile] = {}
        broken: dict[PurePosixPath, WorkspaceError] = {}
        display: dict[PurePosixPath, str] = {}
        root = display_root or knowledge_dir.parent
        for path in sorted(knowledge_dir.rglob(ACCESS_FILE)):
            relative = path.relative_to(knowledge_dir)
            if any(part.startswith(".") for part in relative.parts):
                continue
            folder = PurePosixPath(relative.parent.as_posix())
            name = display_name(path, root)
            display[folder] = name
            try:
                rules[folder] = parse_access_file(path, display_name=name)
            except WorkspaceError as exc:
                broken[folder] = exc
        return cls(rules, broken, display)

    @property
    def errors(self) -> list[WorkspaceError]:
        return list(self._broken.values())

    def resolve(self, doc_path: str, front_matter: tuple[str, ...] | None = None) -> ResolvedAccess:
        """Access for the document at `doc_path` (posix, relative to `knowledge/`).

        Raises BrokenAccessRule when a broken `_access.yml` is reached before any rule
        decides: the document's access cannot be known.
        """
        if front_matter is not None:
            return ResolvedAccess(tuple(front_matter), "front matter")
        path = PurePosixPath(doc_path)
        for folder in _folders_nearest_first(path):
            if folder in self._broken:
                raise BrokenAccessRule(self._broken[folder])
            rule = self._rules.get(folder)
            if rule is None:
                continue
            relative = path.relative_to(folder).as_posix()
            for pattern, principals in rule.files.items():
                if fnmatchcase(relative, pattern):
                    return ResolvedAccess(tuple(principals), f"{self._display[folder]} {pattern}")
            if rule.default is not None:
                return ResolvedAccess(tuple(rule.default), self._display[folder])
        return ResolvedAccess((), "none")


def parse_access_file(path: Path, *, display_name: str) -> AccessFile:
    doc = load_yaml(path, display_name=display_name)
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a mapping with `default` and/or `files`")
    return validate(doc, AccessFile)


def display_name(path: Path, root: Path) -> str:
    """How a workspace file is named in messages: relative to the workspace when possible."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _folders_nearest_first(doc_path: PurePosixPath) -> list[PurePosixPath]:
    folder = doc_path.parent
    folders = [folder]
    while folder != PurePosixPath("."):
        folder = folder.parent
        folders.append(folder)
    return folders
