"""Whom a request escalates to when nobody decided in time (rules.yml `escalate_to`).

An escalation asks someone new to decide: the people who may already approve the request
were asked from the start, so they are passed over. With `escalate_to: manager` each
waiting approver's manager is asked, or, when that manager may already approve, theirs,
and so on up the directory. When nobody new is found the approvers are reminded again,
and told that the escalation found nobody else (app/delivery/scheduler.py); `trellis
check` warns about a workflow whose escalation can only reach its approvers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.config.directory import Directory
from app.domain import Person
from app.rules.schema import MANAGER


@dataclass(frozen=True)
class Escalation:
    """Who a request escalates to: `new` may decide from now on; `passed_over` were due
    to be asked but may already approve it."""

    new: tuple[Person, ...] = ()
    passed_over: tuple[Person, ...] = ()


def escalation_for(
    directory: Directory,
    escalate_to: str | Collection[str] | None,
    *,
    waiting: Collection[Person],
    approvers: Collection[str],
    requester_email: str,
) -> Escalation:
    """Whom a request escalates to. `waiting`: the approvers who have not decided yet;
    `approvers`: the emails of everyone who may already approve it."""
    if escalate_to is None:
        return Escalation()
    asked = {e.lower() for e in approvers} | {requester_email.lower()}
    new: dict[str, Person] = {}
    passed_over: dict[str, Person] = {}
    if escalate_to == MANAGER:
        for approver in waiting:
            first = directory.manager_of(approver)
            found = first_manager_not_asked(directory, approver, asked)
            if found is not None:
                new[found.email] = found
            elif first is not None and first.email.lower() != requester_email.lower():
                passed_over[first.email] = first
    else:
        for person in directory.expand(list(escalate_to)):
            if person.email.lower() == requester_email.lower():
                continue
            (passed_over if person.email.lower() in asked else new)[person.email] = person
    return Escalation(
        new=tuple(p for _, p in sorted(new.items())),
        passed_over=tuple(p for _, p in sorted(passed_over.items())),
    )


def first_manager_not_asked(
    directory: Directory, person: Person, asked: Collection[str]
) -> Person | None:
    """The nearest manager above `person` who is not among `asked` (emails, lower case),
    or None when the directory runs out (or loops) before one is found."""
    seen = {person.email.lower()}
    manager = directory.manager_of(person)
    while manager is not None and manager.email.lower() not in seen:
        if manager.email.lower() not in asked:
            return manager
        seen.add(manager.email.lower())
        manager = directory.manager_of(manager)
    return None
