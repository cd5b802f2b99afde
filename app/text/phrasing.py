"""Small pieces of English for the messages Trellis writes: a count with its noun in the
right number ("1 record", "2 records"), a list of names ("Ana, Bo and Cy"), and who may
do something ("Ana or members of sales")."""

from __future__ import annotations

from collections.abc import Callable


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun plural unless the count is one: "1 record", "0 records",
    "3 people" (with `plural="people"`)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def listed(names: list[str] | tuple[str, ...], conjunction: str = "and") -> str:
    """Names as a sentence lists them: "Ana", "Ana and Bo", "Ana, Bo and Cy"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def who_may(principals: list[str] | tuple[str, ...], name_of: Callable[[str], str] = str) -> str:
    """Who a list of principals lets do something, in people's words: "Maria Lopez or
    members of engineering or client-team" (a person by name, groups by their members)."""
    if any(p in ("everyone", "public") for p in principals):
        return "everyone"
    people = [name_of(p) for p in principals if "@" in p]
    groups = [p for p in principals if "@" not in p]
    if groups:
        people.append(f"members of {listed(groups, 'or')}")
    return listed(people, "or") or "nobody"
