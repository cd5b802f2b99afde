"""Citation checks: a quote counts only if it really is text of an allowed passage.

Whatever a backend (or a model) claims, a citation is kept only when its quote, after
normalising whitespace, quotation marks, dashes and markdown emphasis, occurs in the text
of a passage of the same document (and the same chunk, when the citation names one)
among the passages the asker may see. Kept citations take their title, url and chunk id
from that passage, never from the claim.

A text cites its sources by markers, [1] for the first of its citations, [2] for the
second. When an approver edits a draft, the sources it shows are those its new text
still marks, numbered again from [1] (`cited_after_edit`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

from app.domain import Citation, Passage

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
    }
)
_EMPHASIS = re.compile(r"[*_`]")
_SPACE = re.compile(r"\s+")
_MARKER = re.compile(r"\[(\d+)\]")
_SPACED_MARKER = re.compile(r"[ \t]*\[\d+\]")

Source = TypeVar("Source")


def normalize_quote(text: str) -> str:
    """Comparable form of a quote: NFKC, plain quotes and dashes, no * _ ` marks, one space."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _EMPHASIS.sub("", text)
    return _SPACE.sub(" ", text).strip()


def quote_in(quote: str, text: str) -> bool:
    """True when `quote` is (normalised) text of `text`."""
    wanted = normalize_quote(quote)
    if not wanted or not any(ch.isalnum() for ch in wanted):
        return False
    return wanted in normalize_quote(text)


def verify_citations(
    citations: Iterable[Citation], passages: Sequence[Passage]
) -> tuple[list[Citation], list[Citation]]:
    """Split `citations` into (kept, rejected); see the module docstring for the rule.

    Duplicates of an already kept citation (same chunk, same normalised quote) are
    dropped silently.
    """
    kept: list[Citation] = []
    rejected: list[Citation] = []
    seen: set[tuple[str, str]] = set()
    for citation in citations:
        match = _matching_passage(citation, passages)
        if match is None:
            rejected.append(citation)
            continue
        key = (match.chunk_id, normalize_quote(citation.quote))
        if key in seen:
            continue
        seen.add(key)
        kept.append(replace(citation, title=match.title, url=match.url, chunk_id=match.chunk_id))
    return kept, rejected


def _matching_passage(citation: Citation, passages: Sequence[Passage]) -> Passage | None:
    for passage in passages:
        if passage.doc_id != citation.doc_id:
            continue
        if citation.chunk_id is not None and passage.chunk_id != citation.chunk_id:
            continue
        if quote_in(citation.quote, passage.text):
            return passage
    return None


def without_markers(text: str) -> str:
    """`text` without its [n] citation markers and the spaces before them."""
    return _SPACED_MARKER.sub("", text)


def marks_sources(text: str) -> bool:
    """Whether `text` has any [n] citation marker."""
    return _MARKER.search(text) is not None


def markers_in(text: str, count: int) -> set[int]:
    """The numbers, among the first `count`, that `text` cites by [n] markers."""
    return {int(n) for n in _MARKER.findall(text) if 1 <= int(n) <= count}


def still_cited(text: str, citations: Sequence[Source]) -> tuple[str, list[Source]]:
    """The citations `text` still marks, in their order, and `text` with its markers
    numbered again to match: a text marking [3] and [1] of three sources marks [2] and
    [1] of the two it keeps. A marker that names no source is left as written."""
    kept = sorted(markers_in(text, len(citations)))
    number = {old: new for new, old in enumerate(kept, start=1)}

    def renumbered(marker: re.Match[str]) -> str:
        old = int(marker.group(1))
        return f"[{number[old]}]" if old in number else marker.group(0)

    return _MARKER.sub(renumbered, text), [citations[n - 1] for n in kept]


def cited_after_edit(
    before: str, citations: Sequence[Source], after: str
) -> tuple[str, list[Source]]:
    """An edited text (`after`) and the sources it still cites. When the text before the
    edit marked its sources, only those `after` still marks remain (`still_cited`); a
    text that marked none (a curated answer rests on its sources as a whole) keeps them
    all."""
    if not markers_in(before, len(citations)):
        return after, list(citations)
    return still_cited(after, citations)


def told_apart(sources: Sequence[tuple[str, str]]) -> list[str]:
    """What each of `sources` ((doc_id, title) pairs) is called where they are listed
    together: its title, and where two documents share a title (each folder's "README",
    two teams' "Onboarding"), its document id after it, so a reader can tell them apart."""
    ids_by_title: dict[str, set[str]] = {}
    for doc_id, title in sources:
        ids_by_title.setdefault(title.casefold(), set()).add(doc_id)
    return [
        f"{title} ({doc_id})" if doc_id and len(ids_by_title[title.casefold()]) > 1 else title
        for doc_id, title in sources
    ]
