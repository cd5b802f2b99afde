"""A person as the directory lists them, and the mistakes a list of people can hold.

Values are checked one by one (`PersonEntry`: an email that is an address, group names
that are slugs and not built in); `check_people` then looks at the list as a whole:
people and Slack or employee ids listed twice, managers outside the list (a warning), and
chains of managers that loop. Every mistake is reported with the file and line.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from app.domain import EVERYONE, PUBLIC, Person
from app.errors import WorkspaceError

EMAIL_RE = re.compile(
    r"^[^@\s<>,;\"']+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
GROUP_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
RESERVED_GROUPS = frozenset({EVERYONE, PUBLIC})


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


def check_people(
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
    seen_ids: dict[str, dict[str, int]] = {"slack_id": {}, "employee_id": {}}
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
        for key, where in (("slack_id", slack_lines), ("employee_id", lines)):
            value, taken = getattr(person, key), seen_ids[key]
            if not value:
                continue
            if value in taken:
                other = people[taken[value]].email
                problems.append(
                    WorkspaceError(
                        file,
                        f"{key} {value} is already used by {other}{_also(lines, taken[value])}",
                        line=where[i],
                    )
                )
            else:
                taken[value] = i
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


def raise_first(problems: list[WorkspaceError]) -> None:
    """The first mistake as the error raised, the others in its `also`."""
    if problems:
        head, *rest = problems
        raise WorkspaceError(head.file, head.problem, line=head.line, also=tuple(rest))


def _also(lines: list[int | None], index: int) -> str:
    return f" (first on line {lines[index]})" if lines[index] else ""
