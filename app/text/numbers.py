"""Figures: the numbers a text states, and what each counts.

`numbers` reads the figures of a sentence ("25 days", "1,500", "2.08"), leaving years out;
`quantities` groups them by the word they count, so two sentences conflict only when
they give different values for the same thing.
"""

from __future__ import annotations

import re

from app.text.words import STOPWORDS, stem, tokenize

_NUMBER = re.compile(r"(?<![\w.,:])\d+(?:[.,]\d+)*(?![\w:])")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")


def numbers(text: str) -> frozenset[float]:
    """The figures `text` states, years (1900-2100) left out.

    "25 days", "2.08", "1,500" -> {25.0, 2.08, 1500.0}.
    """
    found = set()
    for raw in _NUMBER.findall(text):
        raw = raw.rstrip(".,")
        if _THOUSANDS.fullmatch(raw):
            raw = raw.replace(",", "")
        elif "," in raw:
            raw = raw.replace(",", ".", 1) if raw.count(",") == 1 else raw.replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        if len(raw) == 4 and raw.isdigit() and 1900 <= value <= 2100:
            continue
        found.add(value)
    return frozenset(found)


def quantities(text: str) -> dict[str, frozenset[float]]:
    """The figures of `text` by what they count: "25 days of PTO" -> {"day": {25}, "pto": {25}}.

    A figure counts the (at most two) content words right after it, so two sentences
    disagree only when they give different values for the same thing.
    """
    found: dict[str, set[float]] = {}
    for match in _NUMBER.finditer(text):
        value = numbers(match.group())
        if not value:
            continue
        following = [
            w for w in tokenize(text[match.end() : match.end() + 60]) if w not in STOPWORDS
        ]
        for word in following[:2]:
            if word.isalpha():
                found.setdefault(stem(word), set()).update(value)
    return {unit: frozenset(values) for unit, values in found.items()}
