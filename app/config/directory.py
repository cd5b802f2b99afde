"""The directory: who works here, their groups and their managers.

It comes from the workspace's `directory.yml` (a `people:` list) or `directory.csv` (an
export of the HR system with the columns email, name, slack_id, employee_id, title,
department, groups, manager, region; groups separated by `;` or `|`). A mistake is
reported with the file and line: a bad email, a person listed twice, a chain of managers
that loops, a group name that is not a slug. A manager who is not in the directory (a
board, a parent company, a contractor) is only a warning (`Directory.warnings`):
escalations to them go to the workflow's approvals channel instead.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from app.config.yamlfile import load_yaml, validate
from app.domain import EVERYONE, PUBLIC, Person
from app.errors import WorkspaceError

EMAIL_RE = re.compile(
    r"^[^@\s<>,;\"']+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
GROUP_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
RESERVED_GROUPS = frozenset({EVERYONE, PUBLIC})
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


def invalid(problem: str) -> PydanticCustomError:
    """A validation error whose message is exactly `problem` (no "Value error," prefix)."""
    return PydanticCustomError("invalid", "{problem}", {"problem": problem})


def normalize_email(value: str) -> str:
    """The lower-cased address, or a ValueError in words a person understands."""
    email = value.strip().lower()
    if not EMAIL_RE.match(email):
        raise invalid(f"{value!r} is not a valid email address")
    return email


def check_group_name(name: str) -> str:
    if name in RESERVED_GROUPS:
        raise invalid(f"{name!r} is built in and cannot be used as a group name")
    if not GROUP_RE.match(name):
        raise invalid(
            f"{name!r} is not a valid group name: use lower-case letters, digits, '-' and '_'"
        )
    return name


class PersonEntry(BaseModel):
    """One person as written in directory.yml or one row of directory.csv."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)

    email: str
    name: str
    slack_id: str | None = None
    employee_id: str | None = None
    title: str | None = None
    department: str | None = None
    groups: list[Annotated[str, AfterValidator(check_group_name)]] = []
    manager: str | None = None
    region: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)

    @field_validator("manager")
    @classmethod
    def _manager(cls, value: str | None) -> str | None:
        return normalize_email(value) if value else None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value:
            raise invalid("a person needs a name")
        return value

    def person(self) -> Person:
        return Person(
            email=self.email,
            name=self.name,
            slack_id=self.slack_id or None,
            employee_id=self.employee_id or None,
            title=self.title or None,
            department=self.department or None,
            groups=frozenset(self.groups),
            manager=self.manager,
            region=self.region or None,
        )


class DirectoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: list[PersonEntry]


class Directory:
    """People by email and Slack id, groups and managers. Read-only once built."""

    def __init__(self, people: Iterable[Person], *, file: str = "directory") -> None:
        people = tuple(people)
        problems, warnings = _check(people, file=file, lines=[None] * len(people))
        _raise_first(problems)
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
        _raise_first(problems)
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
        parsed = validate(doc, DirectoryFile)
        lines = [doc.line_of(("people", i)) for i in range(len(parsed.people))]
        manager_lines = [doc.line_of(("people", i, "manager")) for i in range(len(parsed.people))]
        slack_lines = [doc.line_of(("people", i, "slack_id")) for i in range(len(parsed.people))]
        people = tuple(entry.person() for entry in parsed.people)
        problems, warnings = _check(
            people, file=name, lines=lines, manager_lines=manager_lines, slack_lines=slack_lines
        )
        return cls._trusted(people, warnings), problems

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
        problems, warnings = _check(
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


def _check(
    people: tuple[Person, ...] | list[Person],
    *,
    file: str,
    lines: list[int | None],
    manager_lines: list[int | None] | None = None,
    slack_lines: list[int | None] | None = None,
) -> tuple[list[WorkspaceError], list[WorkspaceError]]:
    """(mistakes, warnings): bad group names, duplicates and loops in the management chain,
    every one of them; managers outside the directory."""
    manager_lines = manager_lines or lines
    slack_lines = slack_lines or lines
    problems: list[WorkspaceError] = []
    seen_email: dict[str, int] = {}
    seen_slack: dict[str, int] = {}
    seen_employee: dict[str, int] = {}
    for i, person in enumerate(people):
        for group in person.groups:
            try:
                check_group_name(group)
            except ValueError as exc:
                problems.append(WorkspaceError(file, f"groups: {exc}", line=lines[i]))
        email = person.email.lower()
        if email in seen_email:
            problems.append(
                WorkspaceError(
                    file, f"{email} is listed twice{_also(lines, seen_email[email])}", line=lines[i]
                )
            )
            continue
        seen_email[email] = i
        if person.slack_id:
            if person.slack_id in seen_slack:
                other = people[seen_slack[person.slack_id]].email
                problems.append(
                    WorkspaceError(
                        file,
                        f"slack_id {person.slack_id} is already used by {other}"
                        f"{_also(lines, seen_slack[person.slack_id])}",
                        line=slack_lines[i],
                    )
                )
            else:
                seen_slack[person.slack_id] = i
        if person.employee_id:
            if person.employee_id in seen_employee:
                other = people[seen_employee[person.employee_id]].email
                problems.append(
                    WorkspaceError(
                        file,
                        f"employee_id {person.employee_id} is already used by {other}"
                        f"{_also(lines, seen_employee[person.employee_id])}",
                        line=lines[i],
                    )
                )
            else:
                seen_employee[person.employee_id] = i
    warnings = [
        WorkspaceError(
            file,
            f"manager {person.manager} of {person.email} is not in the directory; "
            "escalations to them go to the workflow's approvals channel",
            line=manager_lines[i],
        )
        for i, person in enumerate(people)
        if person.manager and person.manager.lower() not in seen_email
    ]
    looped: set[str] = set()
    for person in people:
        chain = [person.email.lower()]
        manager = person.manager.lower() if person.manager else None
        while manager is not None and manager in seen_email:
            if manager in chain:
                loop = chain[chain.index(manager) :]
                first = min(seen_email[email] for email in loop)
                start = loop.index(people[first].email.lower())
                shown = " -> ".join([*loop[start:], *loop[:start], loop[start]])
                if not looped & set(loop):
                    problems.append(
                        WorkspaceError(
                            file, f"managers form a loop: {shown}", line=manager_lines[first]
                        )
                    )
                looped.update(loop)
                break
            chain.append(manager)
            boss = people[seen_email[manager]]
            manager = boss.manager.lower() if boss.manager else None
    return problems, warnings


def _raise_first(problems: list[WorkspaceError]) -> None:
    """The first mistake as the error raised, the others in its `also`."""
    if problems:
        head, *rest = problems
        raise WorkspaceError(head.file, head.problem, line=head.line, also=tuple(rest))


def _also(lines: list[int | None], index: int) -> str:
    return f" (first on line {lines[index]})" if lines[index] else ""
