"""A document's own table of contents, left out: its entries name the sections that follow
and say nothing themselves, yet read as headings or paragraphs they win searches for the
sections' words and get quoted ("6.1. Building Embedded Programs; 6.2. …").

An entry is a heading or a paragraph whose words are those of a heading further on (its
page number after a dot leader, and a "Chapter" or "Section" in front, aside), or of a numbered line further
on ("2.3. Module Path", which plain text reads as a paragraph), with nothing under it but
other entries; a table of contents is a run of at least `MIN_ENTRIES` of them. A single line that repeats a later heading is kept: one
empty heading over its subsections ("Requirements", then "Hardware") is no contents.
Formats that mark their contents (a PDF's dot leaders) lose them as they are read, too.
A section headed "Contents" (or "Table of contents") goes too, with every entry-like block
after it (a section's number in front, or a page number at the end, or the running
header "CONTENTS"), when at least `MIN_ENTRIES` of them end with a page number: a typeset
document's long entries wrap, and a wrapped entry no longer repeats its heading's words.
A numbered list under a heading "Contents" (what is in a box) names no pages, and stays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.knowledge.formats.blocks import Block

MIN_ENTRIES = 3
"""Consecutive entries that make a table of contents."""
_PAGE = re.compile(r"\s*[.\u00b7\u2026]{2,}\s*(?:\d+|[ivxlc]+)$")
"""A contents line's page number, after its dot leader (a number alone may be the name's:
"Phase 2", "Region 1")."""
_KIND = re.compile(r"^(?:chapter|section|part|appendix)\s+", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.|[IVXLC]+\.)\s+\S")
"""A section's number in front of its name: "2.3. Module Path", "A. Glossary"."""
MAX_ENTRY_CHARS = 120
CONTENTS_HEADINGS = frozenset({"contents", "table of contents"})
_PAGE_NUMBER = re.compile(r"(?:\s|\.)(?:\d{1,4}|[ivxlc]{1,6})$")
_TIGHT_NUMBER = re.compile(r"^\d+(?:\.\d+)+[^\W\d_]")
"""A section's number run into its name, as typesetting leaves a wide one: "11.10How"."""


def without_contents(blocks: Sequence[Block]) -> list[Block]:
    """`blocks` less every run of table-of-contents entries (see the module docstring)."""
    entry = [False] * len(blocks)
    headings: set[str] = set()  # the headings after the block looked at
    numbered: set[str] = set()  # and the numbered lines
    for i in range(len(blocks) - 1, -1, -1):
        block = blocks[i]
        if block.kind == "row" or len(block.text) > MAX_ENTRY_CHARS:
            continue
        key = _key(block.text)
        bare = i + 1 == len(blocks) or entry[i + 1] or blocks[i + 1].kind == "heading"
        named = key in headings or (key in numbered and bool(_NUMBERED.match(key)))
        entry[i] = named and (block.kind == "text" or bare)
        if entry[i]:
            continue
        if block.kind == "heading":
            headings.add(key)
        if _NUMBERED.match(key):
            numbered.add(key)
    dropped: set[int] = set()
    start = 0
    while start < len(blocks):
        end = start
        while end < len(blocks) and entry[end]:
            end += 1
        if end - start >= MIN_ENTRIES:
            dropped.update(range(start, end))
        start = end + 1
    dropped.update(_contents_section(blocks))
    return [block for i, block in enumerate(blocks) if i not in dropped]


def _contents_section(blocks: Sequence[Block]) -> set[int]:
    """The blocks of a section headed "Contents": the heading and the entries after it."""
    for i, block in enumerate(blocks):
        if block.kind == "heading" and _key(block.text) in CONTENTS_HEADINGS:
            end = i + 1
            while end < len(blocks) and _entry_like(blocks[end]):
                end += 1
            paged = sum(bool(_PAGE_NUMBER.search(b.text.strip())) for b in blocks[i + 1 : end])
            if paged >= MIN_ENTRIES:  # pages named: no list that only happens to be numbered
                return set(range(i, end))
    return set()


def _entry_like(block: Block) -> bool:
    text = block.text.strip()
    return block.kind != "row" and (
        bool(_NUMBERED.match(text) or _TIGHT_NUMBER.match(text))
        or bool(_PAGE.search(text))
        or _key(text) in CONTENTS_HEADINGS
        or (len(text) <= MAX_ENTRY_CHARS and bool(_PAGE_NUMBER.search(text)))
    )


def _key(text: str) -> str:
    return " ".join(_KIND.sub("", _PAGE.sub("", text)).split()).casefold().rstrip(". ")
