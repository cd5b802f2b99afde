"""Small pieces of English for the messages Trellis writes: a count with its noun in the
right number ("1 record", "2 records")."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun plural unless the count is one: "1 record", "0 records",
    "3 people" (with `plural="people"`)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
