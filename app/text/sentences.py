"""Sentences: the sentence, list-item, heading and table-row spans of a text.

`split_sentences` reads markdown or plain text and returns each piece as exact offsets
into it, so a quote is always a substring of the source. The answerers quote these
sentences, and the knowledge index builds its segments from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "inc",
        "ltd",
        "co",
        "corp",
        "jr",
        "sr",
        "st",
        "no",
        "nos",
        "approx",
        "incl",
        "dept",
        "est",
        "fig",
        "min",
        "max",
        "mt",
        "ft",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
_BULLET = re.compile(r"[ \t]*(?:[-*+\u2022][ \t]+|\d{1,3}[.)][ \t]+|>[ \t]?)")
_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+")
_TABLE_ROW = re.compile(r"[ \t]*\|")
_RENDERED_ROW = re.compile(
    r"[ \t]*[^\s:;][^:;]{0,60}: (?:[^;]+(?:; [^:;]{1,60}: [^;]*)+|[^:;]{1,60}: [^;]+)$"
)
"""A table row the knowledge loader already spelled out: "Region: EMEA; Allowance: EUR 60",
or a subject with one value, "Microchipping: Price (GBP): 25.00"."""
_TABLE_RULE = re.compile(r"[ \t]*\|?[ \t]*:?-{3,}")
_SENTENCE_END = re.compile(r"[.!?][\"')\]\u201d\u2019*_]*(?=\s+|$)")


@dataclass(frozen=True)
class Sentence:
    """One sentence, list item, heading or table row: `source[start:end] == text`."""

    text: str
    start: int
    end: int
    kind: str = "sentence"  # sentence | heading | row | header (a table's first row)

    @property
    def is_heading(self) -> bool:
        return self.kind == "heading"

    @property
    def cells(self) -> list[str]:
        """The cells of a table row (empty for anything else)."""
        if self.kind not in ("row", "header") or not self.text.lstrip().startswith("|"):
            return []
        return [cell.strip() for cell in self.text.strip().strip("|").split("|")]


def _lines(text: str) -> Iterable[tuple[int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        yield offset, line.rstrip("\r\n")
        offset += len(line)


def _looks_like_title(line: str, following: str | None) -> bool:
    """A short unpunctuated line followed by a capitalised one, as in plain-text files."""
    stripped = line.strip()
    if not stripped or following is None or not following.strip():
        return False
    if stripped[-1] in ".!?:;,)" or len(stripped) > 60 or len(stripped.split()) > 8:
        return False
    nxt = following.strip()
    return nxt[0].isupper() or nxt[0].isdigit()


def _units(text: str) -> list[tuple[int, int, str]]:
    """Paragraph-level units as (start, end, kind); wrapped lines are joined."""
    lines = list(_lines(text))
    units: list[tuple[int, int, str]] = []
    current: list[int] | None = None  # [start, end]
    current_kind = "sentence"

    def close() -> None:
        nonlocal current
        if current is not None:
            units.append((current[0], current[1], current_kind))
        current = None

    for index, (offset, line) in enumerate(lines):
        if not line.strip():
            close()
            continue
        following = lines[index + 1][1] if index + 1 < len(lines) else None
        if _TABLE_RULE.match(line) and set(line.strip()) <= set("|-: "):
            close()
            if units and units[-1][2] == "row":
                units[-1] = (units[-1][0], units[-1][1], "header")
            continue
        heading = _HEADING.match(line)
        if heading or _TABLE_ROW.match(line) or _RENDERED_ROW.match(line):
            close()
            start = offset + (heading.end() if heading else 0)
            units.append((start, offset + len(line), "heading" if heading else "row"))
            continue
        bullet = _BULLET.match(line)
        starts_new = bullet is not None or current is None or current_kind != "sentence"
        if starts_new:
            close()
            current = [offset + (bullet.end() if bullet else 0), offset + len(line)]
            current_kind = "sentence"
        else:
            assert current is not None
            current[1] = offset + len(line)
        if bullet is None and _looks_like_title(line, following):
            current_kind = "heading"
            close()
            current_kind = "sentence"
    close()
    return units


def _split_unit(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        before = text[cursor : match.start()].split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        last_word = last_word.lstrip("(\"'*_")
        if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
            continue
        rest = text[stop:end].lstrip()
        if rest and not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"'(*_[\u201c"):
            continue
        spans.append((cursor, stop))
        cursor = stop
    if cursor < end:
        spans.append((cursor, end))
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Sentences, list items, headings and table rows of `text`, in order.

    Each `Sentence` is an exact slice of `text` with surrounding whitespace and list or
    heading markers trimmed, so it can be quoted verbatim. The same passages are read
    question after question, so the sentences of recent texts are kept (a fresh list each
    time).
    """
    return list(_split_sentences(text))


@lru_cache(maxsize=8192)
def _split_sentences(text: str) -> tuple[Sentence, ...]:
    sentences = []
    for unit_start, unit_end, kind in _units(text):
        pieces = (
            [(unit_start, unit_end)]
            if kind != "sentence"
            else _split_unit(text, unit_start, unit_end)
        )
        for start, end in pieces:
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start < end:
                sentences.append(Sentence(text[start:end], start, end, kind))
    return tuple(sentences)
