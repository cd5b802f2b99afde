"""Tables of numeric ranges: the row whose range holds a number.

A policy often states its tiers as a table ("Up to 10%", "More than 10% and up to 25%",
"More than 25%"). Words alone cannot tell which row an 18% request falls in, so when a
quote lands in such a table, `range_row` finds the one row whose first cell's range holds
one of the request's numbers, and returns it as an exact quote of the passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.domain import Citation, Passage
from app.text.sentences import Sentence, split_sentences

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_LOWER = re.compile(
    rf"\b(more than|over|above|from|at least|min(?:imum)?)\s+\D{{0,4}}{_NUMBER}", re.I
)
_UPPER = re.compile(
    rf"\b(up to|at most|below|under|less than|max(?:imum)?)\s+\D{{0,4}}{_NUMBER}", re.I
)
_SPAN = re.compile(rf"{_NUMBER}\s*%?\s*(?:-|–|to)\s*\D{{0,4}}{_NUMBER}")


def _bounds(cell: str) -> tuple[float, bool, float, bool] | None:
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


def _holds(bounds: tuple[float, bool, float, bool], number: float) -> bool:
    low, low_in, high, high_in = bounds
    above = number >= low if low_in else number > low
    below = number <= high if high_in else number < high
    return above and below


def range_row(
    citations: Sequence[Citation], passages: Sequence[Passage], numbers: Sequence[float]
) -> tuple[Citation, str] | None:
    """When a quote falls in a table of ranges, the row whose range holds a request number."""
    if not numbers:
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
                hits = [r for r, b in ranged if any(_holds(b, n) for n in numbers)]
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
