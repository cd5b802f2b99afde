"""The blocks every format loads into, and how a table row is written as a sentence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["heading", "text", "row"]

_SENTENCE_END = (".", "!", "?", "\u2026")
_SUBJECT_MAX_CHARS = 60
ROW_MAX_CHARS = 1000
"""A row written out longer than this (a wide table of long cells: a career ladder's levels)
is written as several sentences, each with the row's subject (`render_rows`), as long as a
chunk may be (`app.knowledge.chunking.MAX_CHARS`)."""


@dataclass(frozen=True)
class Block:
    """A heading (with its level), a paragraph of text, or one table row.

    A paragraph's `level` is how deep in lists it sits, where the format says (Markdown,
    HTML): 1 in an item of a list, 2 in an item of a list inside one, 0 outside lists."""

    kind: BlockKind
    text: str
    level: int = 0


def collapse(text: str) -> str:
    """Runs of whitespace (newlines included) as single spaces, trimmed."""
    return " ".join(text.split())


def render_row(header: Sequence[str] | None, cells: Sequence[str]) -> str:
    """A table row as one sentence that stands on its own, or "" for an empty row.

    Every row of a table has the same layout, whichever of its cells are empty. In a
    table of three or more columns the first cell is the row's subject and leads the
    sentence; every other non-empty cell follows as `Header: value`, separated by "; ",
    and the sentence ends with a full stop:

        | Clause                      | Standard position                | Fallback  |
        | 10. Limitation of liability | Capped at fees paid in 12 months | 24 months |
        -> "10. Limitation of liability: Standard position: Capped at fees paid in
            12 months; Fallback: 24 months."
        | 11. Assignment              | Not without consent              |           |
        -> "11. Assignment: Standard position: Not without consent."

    A subject leads only when it is a short name (at most 60 characters, no ":" or
    ";") and something follows it; otherwise it is labelled like the others
    ("Tier: Gold; Response: 1 hour."), as every row of a two-column table is. Either
    way the sentence has the shape the answerer's splitter keeps whole as one row
    (`_RENDERED_ROW` in `app.text.sentences`), so a row is never cut at a full stop
    inside a value nor merged with the next row. Without a header (or with more cells
    than header names) the non-empty cells are joined with "; ". Empty cells are left
    out.

    Cell values are kept exactly, only whitespace is collapsed. Header names are too (a
    header may be a proper noun or a word in another language, so its case is kept),
    except a machine-style name, which is written for people (`column_name`).
    """
    values = [collapse(cell) for cell in cells]
    if not any(values):
        return ""
    if not header or len(header) < len(values):
        return _full_stop("; ".join(value for value in values if value))
    lead, pairs = _labelled(header, values)
    return _full_stop(lead + "; ".join(pairs))


def _labelled(header: Sequence[str], values: Sequence[str]) -> tuple[str, list[str]]:
    """A row's subject as it leads the sentence ("Gold: ", or "" when it does not lead) and
    its other non-empty cells as `Header: value` (see `render_row`)."""
    labels = [column_name(name) for name in header]
    pairs = [
        f"{label}: {value}" if label else value
        for label, value in zip(labels, values, strict=False)
        if value
    ]
    subject = values[0]
    if len(header) >= 3 and _is_short_name(subject) and len(pairs) >= 2:
        return f"{subject}: ", pairs[1:]
    return "", pairs


_MACHINE_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_CURRENCIES = frozenset(
    [
        "aud",
        "brl",
        "cad",
        "chf",
        "cny",
        "czk",
        "dkk",
        "eur",
        "gbp",
        "hkd",
        "huf",
        "inr",
        "jpy",
        "mxn",
        "nok",
        "nzd",
        "pln",
        "sek",
        "sgd",
        "usd",
        "zar",
    ]
)
_UNITS = frozenset(
    [
        "g",
        "kg",
        "mg",
        "ml",
        "l",
        "cl",
        "km",
        "m",
        "cm",
        "mm",
        "min",
        "h",
        "hrs",
        "mins",
        "secs",
        "kwh",
        "pct",
    ]
)


def column_name(header: str) -> str:
    """A column's name as a reader sees it. A machine-style name (lower case, words joined
    by underscores: `price_gbp`, `weight_kg`, `notes`) reads as words with a capital, its
    trailing currency code or unit in parentheses: "Price (GBP)", "Weight (kg)", "Notes".
    Any other name is kept as written, whitespace collapsed."""
    name = collapse(header)
    if not _MACHINE_NAME.fullmatch(name):
        return name
    words = name.split("_")
    if len(words) >= 2 and words[-1] in _CURRENCIES:
        words[-1] = f"({words[-1].upper()})"
    elif len(words) >= 2 and words[-1] in _UNITS:
        words[-1] = f"({words[-1]})"
    text = " ".join(words)
    return text[0].upper() + text[1:]


def render_rows(header: Sequence[str] | None, cells: Sequence[str]) -> list[str]:
    """A row as `render_row` writes it, or, when that is longer than `ROW_MAX_CHARS`, as
    several sentences of its cells in order, each led by the row's subject and within the
    limit where its cells allow: "Ownership: Programmer (L2): …; Senior Programmer (L3): …."
    then "Ownership: Lead Programmer (L4): …." A cut between words would leave a cell
    without its row and its column, read as if it said something of another level."""
    whole = render_row(header, cells)
    if len(whole) <= ROW_MAX_CHARS or not header or len(header) < len(cells):
        return [whole] if whole else []
    lead, pairs = _labelled(header, [collapse(cell) for cell in cells])
    sentences: list[str] = []
    taken: list[str] = []
    for pair in pairs:
        if taken and len(lead) + len("; ".join([*taken, pair])) + 1 > ROW_MAX_CHARS:
            sentences.append(_full_stop(lead + "; ".join(taken)))
            taken = []
        taken.append(pair)
    sentences.append(_full_stop(lead + "; ".join(taken)))
    return sentences


def table_blocks(rows: Sequence[Sequence[str]], header: Sequence[str] | None) -> list[Block]:
    """The rows of one table; a table that is only a header row is kept as a plain row."""
    if header is not None and not rows:
        rows, header = [header], None
    return [Block("row", text) for row in rows for text in render_rows(header, row)]


def _is_short_name(text: str) -> bool:
    return 0 < len(text) <= _SUBJECT_MAX_CHARS and not any(mark in text for mark in ":;")


def _full_stop(text: str) -> str:
    return text if text.endswith(_SENTENCE_END) else f"{text}."


def term_leads(term: str, definition: str) -> str:
    """A definition list's entry as one text: "scram-sha-256: Performs SCRAM …". A term
    that ends a sentence (a list item whose next line was indented too far, which
    reStructuredText reads as a term) reads on into its definition."""
    return f"{term}{'' if term[-1:] in (':', '.', '!', '?') else ':'} {definition}"
