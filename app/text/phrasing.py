"""Small pieces of English for the messages Trellis writes: a count with its noun in the
right number ("1 record", "2 records"), and a list of names ("Ana, Bo and Cy")."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun plural unless the count is one: "1 record", "0 records",
    "3 people" (with `plural="people"`)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def listed(names: list[str] | tuple[str, ...], conjunction: str = "and") -> str:
    """Names as a sentence lists them: "Ana", "Ana and Bo", "Ana, Bo and Cy"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
