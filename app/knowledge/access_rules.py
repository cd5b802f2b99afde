"""Who may see a document: front matter first, then the nearest `_access.yml`.

An `_access.yml` applies to its folder and every folder below it:

    default: [everyone]                 # any file without a more specific rule
    files:
      "salary-bands-*": [people-ops]    # fnmatch globs on the path relative to this folder
    allow_unmatched: ["board-*"]        # `files` patterns written for documents to come
    owner: people-ops                   # who answers for the folder's documents

For a document, the folders from its own up to `knowledge/` are tried nearest first; the
first `_access.yml` with a matching `files` glob (in file order), else a `default`, decides.
A document's own front-matter `access` wins over every folder rule. With no rule anywhere
the access list is empty: the document is visible to nobody. A document's owner (who hears
of flags and unanswered questions on it) is its front matter's `owner`, else the `owner` of
the nearest `_access.yml` that names one: the only way to give a PDF, a Word document, a
spreadsheet or an HTML page an owner.

A `files` pattern that decides for no file is a mistake, and a dangerous one: a misspelt
name (`travel-crad.md`) leaves the document it meant under the folder's `default`. So a
pattern that matches no file below its folder (unless listed in `allow_unmatched`), or
whose every file an earlier pattern or a nearer `_access.yml` decides, breaks its
`_access.yml` like a syntax error does: the documents it governs keep their last indexed
access until it is fixed. A misspelt pattern was written to restrict a document, so the file
it names most closely (the did-you-mean of the message) is withheld from everyone meanwhile:
a restriction that fails to apply fails closed, never open.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from app.config.yamlfile import YamlDocument, load_yaml, validate
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
    allow_unmatched: list[str] = []
    """`files` patterns that may match no file yet (documents still to come)."""
    owner: Annotated[str, BeforeValidator(normalize_principal)] | None = None
    """The owner of the documents below, unless their front matter names one."""


@dataclass(frozen=True)
class ResolvedAccess:
    principals: tuple[str, ...]
    source: str
    """Where the rule came from: `front matter`, an `_access.yml` (with the glob), `none`,
    or `withheld` (see `WITHHELD`)."""

    @property
    def withheld(self) -> bool:
        return self.source == WITHHELD


WITHHELD = "withheld"
"""The source of a document's access while a misspelt `files` pattern of an `_access.yml`
names it most closely: nobody sees it until the pattern is fixed."""


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
        self._withheld: set[PurePosixPath] = set()
        """Documents a misspelt `files` pattern was most likely written for."""

    def named_by_pattern(self, path: str) -> bool:
        """Whether an `_access.yml` above `path` names files by pattern: what such a rule
        decides depends on which other files exist, not on this file and its rules alone."""
        folders = PurePosixPath(path).parents
        return any(rule.files for folder, rule in self._rules.items() if folder in folders)
        self._owner_lines: dict[PurePosixPath, int | None] = {}
        """The line of each `owner` an `_access.yml` names, by its folder."""

    @classmethod
    def load(cls, knowledge_dir: Path, *, display_root: Path | None = None) -> AccessRules:
        """Read every `_access.yml`; broken ones are remembered, not raised (see `errors`)."""
        rules: dict[PurePosixPath, AccessFile] = {}
        docs: dict[PurePosixPath, YamlDocument] = {}
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
                docs[folder] = doc = _read(path, display_name=name)
                rules[folder] = validate(doc, AccessFile)
            except WorkspaceError as exc:
                broken[folder] = exc
        loaded = cls(rules, broken, display)
        loaded._owner_lines = {
            folder: docs[folder].line_of(("owner",))
            for folder, rule in rules.items()
            if rule.owner is not None
        }
        if any(rule.files for rule in rules.values()):
            loaded._check_patterns(_files_below(knowledge_dir), docs)
        return loaded

    @property
    def errors(self) -> list[WorkspaceError]:
        """Every mistake in the broken `_access.yml` files, one by one."""
        return [e for error in self._broken.values() for e in (error, *error.also)]

    def resolve(self, doc_path: str, front_matter: tuple[str, ...] | None = None) -> ResolvedAccess:
        """Access for the document at `doc_path` (posix, relative to `knowledge/`).

        Raises BrokenAccessRule when a broken `_access.yml` is reached before any rule
        decides: the document's access cannot be known.
        """
        if front_matter is not None:
            return ResolvedAccess(tuple(front_matter), "front matter")
        if PurePosixPath(doc_path) in self._withheld:
            return ResolvedAccess((), WITHHELD)
        decided = self._decision(PurePosixPath(doc_path))
        if decided is None:
            return ResolvedAccess((), "none")
        folder, pattern = decided
        rule = self._rules[folder]
        if pattern is None:
            return ResolvedAccess(tuple(rule.default or ()), self._display[folder])
        return ResolvedAccess(tuple(rule.files[pattern]), f"{self._display[folder]} {pattern}")

    def folder_owners(self) -> list[tuple[str, str, int | None]]:
        """(the `_access.yml`'s display name, the owner it names, its line) for each that
        names one."""
        return [
            (self._display[folder], rule.owner, self._owner_lines.get(folder))
            for folder, rule in self._rules.items()
            if rule.owner is not None
        ]

    def owner_of(self, doc_path: str) -> str | None:
        """The owner the nearest `_access.yml` naming one gives the document at `doc_path`."""
        for folder in _folders_nearest_first(PurePosixPath(doc_path)):
            rule = self._rules.get(folder)
            if rule is not None and rule.owner is not None:
                return rule.owner
        return None

    def _decision(self, path: PurePosixPath) -> tuple[PurePosixPath, str | None] | None:
        """The folder whose `_access.yml` decides for `path`, with the pattern that does
        (None for its `default`); None when no rule does."""
        for folder in _folders_nearest_first(path):
            if folder in self._broken:
                raise BrokenAccessRule(self._broken[folder])
            rule = self._rules.get(folder)
            if rule is None:
                continue
            relative = path.relative_to(folder).as_posix()
            for pattern in rule.files:
                if fnmatchcase(relative, pattern):
                    return folder, pattern
            if rule.default is not None:
                return folder, None
        return None

    def _check_patterns(
        self, files: list[PurePosixPath], docs: dict[PurePosixPath, YamlDocument]
    ) -> None:
        """Mark broken every `_access.yml` with a `files` pattern that decides for no file."""
        found: dict[PurePosixPath, list[WorkspaceError]] = {}
        for folder, rule in self._rules.items():
            doc = docs[folder]
            below = [f.relative_to(folder) for f in files if folder in f.parents]
            for i, name in enumerate(rule.allow_unmatched):
                if name not in rule.files:
                    found.setdefault(folder, []).append(
                        doc.error(
                            ("allow_unmatched", i),
                            f"allow_unmatched: {name!r} is not one of the `files` patterns",
                        )
                    )
            for pattern in rule.files:
                problem = self._pattern_problem(folder, pattern, below, doc)
                if problem is not None:
                    error = doc.error(("files", pattern), f"files: {problem}")
                    found.setdefault(folder, []).append(error)
        for folder, errors in found.items():
            first, *rest = errors
            self._broken[folder] = WorkspaceError(
                first.file, first.problem, line=first.line, also=tuple(rest)
            )
            del self._rules[folder]

    def _pattern_problem(
        self, folder: PurePosixPath, pattern: str, below: list[PurePosixPath], doc: YamlDocument
    ) -> str | None:
        """Why `pattern` of `folder`'s `_access.yml` decides for no file, or None."""
        rule = self._rules[folder]
        where = self._display[folder].removesuffix(ACCESS_FILE)
        matched = [f for f in below if fnmatchcase(f.as_posix(), pattern)]
        if not matched:
            if pattern in rule.allow_unmatched:
                return None
            names = [f.as_posix() for f in below]
            problem = f"{pattern!r} matches no file in {where}"
            if any(n.startswith(pattern.rstrip("/") + "/") for n in names):
                problem += f"; it names a folder, and patterns match files: write '{pattern.rstrip('/')}/*'"
            elif close := difflib.get_close_matches(pattern, names, n=1):
                self._withheld.add(folder / close[0])
                return (
                    f"{problem}; did you mean {close[0]!r}? (until it is fixed, nobody sees "
                    f"{close[0]!r}, the document it was likely meant to restrict, and the "
                    "others this file governs stay as last indexed)"
                )
            else:
                problem += "; a pattern for documents still to come goes under allow_unmatched"
            return problem + _UNTIL_FIXED
        deciders = []
        for f in matched:
            try:
                deciders.append(self._decision(folder / f))
            except BrokenAccessRule:
                return None  # a broken rule nearer to it is reported on its own
        if (folder, pattern) in deciders:
            return None
        other, earlier = deciders[0] or (folder, None)
        if other == folder:
            line = doc.line_of(("files", str(earlier)))
            by = f"the earlier pattern {earlier!r} (line {line})"
        else:
            by = f"the nearer {self._display[other]}"
        shown = ", ".join(f.as_posix() for f in matched[:3])
        return f"{pattern!r} decides for no file: {by} decides for {shown}" + _UNTIL_FIXED


_UNTIL_FIXED = " (until it is fixed, ingest leaves the documents this file governs as last indexed)"


def parse_access_file(path: Path, *, display_name: str) -> AccessFile:
    return validate(_read(path, display_name=display_name), AccessFile)


def _read(path: Path, *, display_name: str) -> YamlDocument:
    doc = load_yaml(path, display_name=display_name)
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a mapping with `default` and/or `files`")
    return doc


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


def _files_below(knowledge_dir: Path) -> list[PurePosixPath]:
    """Every file under `knowledge/` a pattern may govern (posix, relative to it)."""
    found = []
    for path in knowledge_dir.rglob("*"):
        relative = PurePosixPath(path.relative_to(knowledge_dir).as_posix())
        if any(part.startswith(".") for part in relative.parts) or path.name == ACCESS_FILE:
            continue
        if path.is_file():
            found.append(relative)
    return sorted(found)
