"""Tables of numeric ranges: the row whose range holds a number.

A policy often states its tiers as a table ("Up to 10%", "More than 10% and up to 25%",
"More than 25%"). Words alone cannot tell which row an 18% request falls in, so when a
quote lands in such a table, `range_row` finds the one row whose first cell's range meets
what was asked, and returns it as an exact quote of the passage. What is asked is read as
ranges too (`asked_ranges`): "more than 25%" is the row "More than 25%", not the row
"up to 25%" that holds the number 25; a number alone is itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.domain import Citation, Passage
from app.text.numbers import numbers
from app.text.sentences import Sentence, split_sentences

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_LOWER = re.compile(
    rf"\b(more than|over|above|from|at least|min(?:imum)?)\s+\D{{0,4}}{_NUMBER}", re.I
)
_UPPER = re.compile(
    rf"\b(up to|at most|below|under|less than|max(?:imum)?)\s+\D{{0,4}}{_NUMBER}", re.I
)
_SPAN = re.compile(rf"{_NUMBER}\s*%?\s*(?:-|–|to)\s*\D{{0,4}}{_NUMBER}")
_BOUNDED = re.compile(
    rf"\b(?:more than|over|above|from|at least)\s+\D{{0,4}}{_NUMBER}\s*%?\s*(?:,|and|but)?\s*"
    rf"(?:up to|at most|below|under|less than)\s+\D{{0,4}}{_NUMBER}",
    re.I,
)
"""A lower and an upper bound said together: one range."""
_BETWEEN = re.compile(rf"\bbetween\s+\D{{0,4}}{_NUMBER}\s*%?\s*and\s+\D{{0,4}}{_NUMBER}", re.I)

Range = tuple[float, bool, float, bool]
"""(low, low inclusive, high, high inclusive)."""


def asked_ranges(question: str) -> list[Range]:
    """What a question asks about, as ranges: "between 10 and 20%", "more than 25%",
    "under 500"; every other figure as itself (years left out, `numbers`)."""
    ranges: list[Range] = []
    taken: list[tuple[int, int]] = []

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= start or span[0] >= end for start, end in taken)

    for match in _BETWEEN.finditer(question):
        low, high = (_value(match.group(i)) for i in (1, 2))
        ranges.append((min(low, high), True, max(low, high), True))
        taken.append(match.span())
    for match in _BOUNDED.finditer(question):  # "more than 10% and up to 25%": one range
        if free(match.span()) and not _is_year(match) and (bounds := _bounds(match.group(0))):
            ranges.append(bounds)
            taken.append(match.span())
    for pattern in (_LOWER, _UPPER):
        for match in pattern.finditer(question):
            if free(match.span()) and not _is_year(match) and (bounds := _bounds(match.group(0))):
                ranges.append(bounds)
                taken.append(match.span())
    rest = question
    for start, end in taken:
        rest = rest[:start] + " " * (end - start) + rest[end:]
    return ranges + points(sorted(numbers(rest)))


def _is_year(match: re.Match[str]) -> bool:
    """A bound that is a year ("from 2026"): a date, not an amount."""
    return any(
        len(raw) == 4 and raw.isdigit() and 1900 <= int(raw) <= 2100
        for raw in re.findall(r"\d+(?:[.,]\d+)?", match.group(0))
    )


def points(numbers: Sequence[float]) -> list[Range]:
    """Numbers asked about, each as itself (a request's fields)."""
    return [(n, True, n, True) for n in numbers]


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def _bounds(cell: str) -> Range | None:
    """(low, low inclusive, high, high inclusive) of a range written in words."""
    span = _SPAN.search(cell)
    if span:
        start, stop = (float(span.group(i).replace(",", "")) for i in (1, 2))
        return start, True, stop, True
    low, high = _LOWER.search(cell), _UPPER.search(cell)
    if not low and not high:
        return None
    low_value = float(low.group(2).replace(",", "")) if low else float("-inf")
    high_value = float(high.group(2).replace(",", "")) if high else float("inf")
    low_inclusive = low is not None and low.group(1).lower() in (
        "from",
        "at least",
        "min",
        "minimum",
    )
    high_inclusive = not high or high.group(1).lower() in ("up to", "at most", "max", "maximum")
    return low_value, low_inclusive or not low, high_value, high_inclusive


def _meet(a: Range, b: Range) -> bool:
    """Whether two ranges share a number."""
    low, low_in = max((a[0], a[1]), (b[0], b[1]), key=lambda end: (end[0], not end[1]))
    high, high_in = min((a[2], a[3]), (b[2], b[3]), key=lambda end: (end[0], end[1]))
    return low < high or (low == high and low_in and high_in)


def range_row(
    citations: Sequence[Citation], passages: Sequence[Passage], asked: Sequence[Range]
) -> tuple[Citation, str] | None:
    """When a quote falls in a table of ranges, the one row whose range meets what was
    asked (`asked_ranges`, `points`)."""
    if not asked:
        return None
    for citation in citations:
        for passage in passages:
            if passage.chunk_id != citation.chunk_id:
                continue
            start = passage.text.find(citation.quote)
            if start < 0:
                continue
            end = start + len(citation.quote)
            for header, rows in _tables(passage.text):
                if rows[0].start >= end or rows[-1].end <= start:
                    continue
                ranged = [(r, b) for r in rows if (b := _bounds(_subject(r)))]
                hits = [r for r, b in ranged if any(_meet(b, a) for a in asked)]
                if len(ranged) >= 2 and len(hits) == 1:
                    quote = Citation(
                        doc_id=passage.doc_id,
                        title=passage.title,
                        quote=hits[0].text,
                        url=passage.url,
                        chunk_id=passage.chunk_id,
                    )
                    return quote, _spell(hits[0], header)
    return None


def _tables(text: str) -> list[tuple[Sentence | None, list[Sentence]]]:
    """Runs of table rows (markdown rows, or rows as ingest writes them: "A: x; B: y.")."""
    tables: list[tuple[Sentence | None, list[Sentence]]] = []
    header: Sentence | None = None
    rows: list[Sentence] = []
    for sentence in split_sentences(text):
        if sentence.kind == "row":
            rows.append(sentence)
            continue
        if rows:
            tables.append((header, rows))
            rows = []
        header = sentence if sentence.kind == "header" else None
    if rows:
        tables.append((header, rows))
    return tables


def _subject(row: Sentence) -> str:
    """The row's first cell, which says what the row is about ("Discount: Up to 10%")."""
    return row.cells[0] if row.cells else row.text.split(";")[0]


def _spell(row: Sentence, header: Sentence | None) -> str:
    cells, names = row.cells, header.cells if header else []
    if not cells:
        text = row.text
    elif len(names) == len(cells):
        text = "; ".join(f"{n}: {c}" for n, c in zip(names, cells, strict=True) if c)
    else:
        text = " | ".join(c for c in cells if c)
    return " ".join(text.replace("**", "").split()).rstrip(".;") + "."
