"""The directory: who works here, their groups and their managers.

It comes from the workspace's `directory.yml` (a `people:` list) or `directory.csv` (an
export of the HR system with the columns email, name, slack_id, employee_id, title,
department, groups, manager, region; groups separated by `;` or `|`). A mistake is
reported with the file and line: a bad email, a person listed twice, a chain of managers
that loops, a group name that is not a slug (`app.config.people`), all of them in one
pass. A manager who is not in the directory (a board, a parent company, a contractor) is
only a warning (`Directory.warnings`): escalations to them go to the workflow's approvals
channel instead.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from app.config.people import (
    RESERVED_GROUPS,
    PersonEntry,
    check_people,
    normalize_email,
    raise_first,
)
from app.config.yamlfile import load_yaml, validate
from app.domain import Person
from app.errors import WorkspaceError

CSV_COLUMNS = (
    "email",
    "name",
    "slack_id",
    "employee_id",
    "title",
    "department",
    "groups",
    "manager",
    "region",
)


class DirectoryFile(BaseModel):
    """The file's shape; each person is checked on their own (`PersonEntry`)."""

    model_config = ConfigDict(extra="forbid")

    people: list[Any]


class Directory:
    """People by email and Slack id, groups and managers. Read-only once built."""

    def __init__(self, people: Iterable[Person], *, file: str = "directory") -> None:
        people = tuple(people)
        problems, warnings = check_people(people, file=file, lines=[None] * len(people))
        raise_first(problems)
        self._index(people, warnings)

    def _index(self, people: tuple[Person, ...], warnings: list[WorkspaceError]) -> None:
        self.warnings = tuple(warnings)
        """Managers outside the directory, with the file and line that name them."""
        self._people = people
        self._by_email = {p.email.lower(): p for p in people}
        self._by_slack_id = {p.slack_id: p for p in people if p.slack_id}
        self._groups: dict[str, tuple[Person, ...]] = {}
        for group in sorted({g for p in people for g in p.groups}):
            self._groups[group] = tuple(p for p in people if group in p.groups)

    @classmethod
    def load(cls, path: Path, *, display_name: str | None = None) -> Directory:
        """Read directory.yml or directory.csv, whichever `path` names."""
        directory, problems = cls.read(path, display_name=display_name)
        raise_first(problems)
        return directory

    @classmethod
    def read(
        cls, path: Path, *, display_name: str | None = None
    ) -> tuple[Directory, list[WorkspaceError]]:
        """The directory and the mistakes in it (people listed twice, loops of managers):
        with mistakes, the people as listed, so that the rest of the workspace can still
        be checked against them. A file that cannot be read at all raises WorkspaceError."""
        name = display_name or path.name
        if path.suffix.lower() == ".csv":
            return cls._from_csv(path, name)
        return cls._from_yaml(path, name)

    @classmethod
    def _from_yaml(cls, path: Path, name: str) -> tuple[Directory, list[WorkspaceError]]:
        doc = load_yaml(path, display_name=name)
        people: dict[int, Person] = {}
        unreadable: list[WorkspaceError] = []
        for i, raw in enumerate(validate(doc, DirectoryFile).people):
            try:
                people[i] = validate(doc, PersonEntry, loc=("people", i)).person()
            except WorkspaceError as exc:
                unreadable.extend((exc, *exc.also))
                if (partial := _partial(raw)) is not None:
                    people[i] = partial
        problems, warnings = check_people(
            tuple(people.values()),
            file=name,
            lines=[doc.line_of(("people", i)) for i in people],
            manager_lines=[doc.line_of(("people", i, "manager")) for i in people],
            slack_lines=[doc.line_of(("people", i, "slack_id")) for i in people],
        )
        if unreadable:  # the file does not load; what else is wrong is said with it
            raise_first(sorted([*unreadable, *problems], key=lambda e: e.line or 0))
        return cls._trusted(tuple(people.values()), warnings), problems

    @classmethod
    def _from_csv(cls, path: Path, name: str) -> tuple[Directory, list[WorkspaceError]]:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(name, f"is not UTF-8 text ({exc.reason})") from exc
        reader = csv.reader(text.splitlines(keepends=True))
        try:
            header = next(reader)
        except StopIteration:
            raise WorkspaceError(
                name, "is empty: the first line must name the columns", line=1
            ) from None
        columns = [h.strip().lower() for h in header]
        unknown = [c for c in columns if c not in CSV_COLUMNS]
        if unknown:
            raise WorkspaceError(
                name,
                f"unknown column {unknown[0]!r}; the columns are {', '.join(CSV_COLUMNS)}",
                line=1,
            )
        missing = [c for c in ("email", "name") if c not in columns]
        if missing:
            raise WorkspaceError(name, f"the column {missing[0]!r} is required", line=1)
        people: list[Person] = []
        lines: list[int | None] = []
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                raise WorkspaceError(
                    name, f"{len(row)} cells but only {len(columns)} columns", line=line
                )
            raw: dict[str, Any] = {
                c: v.strip() for c, v in zip(columns, row, strict=False) if v.strip()
            }
            if "groups" in raw:
                raw["groups"] = [g for g in re.split(r"[;|]", raw["groups"]) if g.strip()]
            try:
                entry = PersonEntry.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                column = str(first["loc"][0]) if first["loc"] else "row"
                message = first["msg"].removeprefix("Value error, ")
                raise WorkspaceError(name, f"{column}: {message}", line=line) from exc
            people.append(entry.person())
            lines.append(line)
        problems, warnings = check_people(
            people, file=name, lines=lines, manager_lines=lines, slack_lines=lines
        )
        return cls._trusted(tuple(people), warnings), problems

    @classmethod
    def _trusted(cls, people: tuple[Person, ...], warnings: list[WorkspaceError]) -> Directory:
        directory = cls.__new__(cls)
        directory._index(people, warnings)
        return directory

    @property
    def people(self) -> tuple[Person, ...]:
        return self._people

    @property
    def groups(self) -> frozenset[str]:
        """Every group someone belongs to (not the built-in `everyone` and `public`)."""
        return frozenset(self._groups)

    def __len__(self) -> int:
        return len(self._people)

    def __contains__(self, person: object) -> bool:
        return isinstance(person, Person) and self._by_email.get(person.email.lower()) == person

    def by_email(self, email: str | None) -> Person | None:
        if not email:
            return None
        return self._by_email.get(email.strip().lower())

    def by_slack_id(self, slack_id: str | None) -> Person | None:
        if not slack_id:
            return None
        return self._by_slack_id.get(slack_id)

    def members(self, group: str) -> list[Person]:
        """The people in `group`; `everyone` and `public` are everybody in the directory."""
        if group in RESERVED_GROUPS:
            return list(self._people)
        return list(self._groups.get(group, ()))

    def manager_of(self, person: Person) -> Person | None:
        """The person's manager, or None: none listed, or one outside the directory."""
        return self.by_email(person.manager)

    def knows_principal(self, principal: str) -> bool:
        """True for `everyone`, `public`, a group someone is in, or a listed email."""
        return (
            principal in RESERVED_GROUPS
            or principal in self._groups
            or ("@" in principal and self.by_email(principal) is not None)
        )

    def name_of(self, principal: str) -> str:
        """A person's name for their email; a group, a channel or a stranger as written."""
        person = self.by_email(principal) if "@" in principal else None
        return person.name if person is not None and person.name else principal

    def people_named(self, principal: str, *, at_most: int = 5) -> str:
        """Who a principal is, by name: a person's name, a group's people ("Omar Haddad,
        Helen Park (vets)", the first `at_most` and how many more); a channel, or a group
        nobody is in, as written."""
        if "@" in principal or principal.startswith("#"):
            return self.name_of(principal)
        people = sorted(self.expand([principal]), key=lambda p: (p.name or p.email).lower())
        if not people:
            return principal
        names = [p.name or p.email for p in people[:at_most]]
        more = f" and {len(people) - at_most} more" if len(people) > at_most else ""
        return f"{', '.join(names)}{more} ({principal})"

    def names_only(self, email: str, principal: str) -> bool:
        """True when `principal` (an email or a group) is the person `email` and nobody else."""
        people = self.expand([principal])
        return bool(people) and all(p.email.lower() == email.lower() for p in people)

    def expand(self, principals: Iterable[str]) -> set[Person]:
        """The people named by emails, groups, `everyone` or `public`."""
        found: set[Person] = set()
        for principal in principals:
            if "@" in principal:
                person = self.by_email(principal)
                if person is not None:
                    found.add(person)
            else:
                found.update(self.members(principal))
        return found


def _partial(raw: Any) -> Person | None:
    """What can be read of an entry with mistakes: enough to tell whether its email, Slack
    id or employee id is listed twice, in the same pass."""
    if not isinstance(raw, dict):
        return None
    try:
        email = normalize_email(str(raw.get("email", "")))
    except ValueError:
        return None
    ids = {key: raw[key] for key in ("slack_id", "employee_id") if isinstance(raw.get(key), str)}
    return Person(email=email, name=str(raw.get("name") or email), **ids)
