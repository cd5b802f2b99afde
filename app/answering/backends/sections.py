"""The sections a workflow prompt asks its draft for, read from the prompt's own list.

A workflow prompt (`prompts/<workflow>.md`) lists what the draft must contain as numbered
or bulleted items, "Title: instructions" ("2. Customer facts: annual volume, contract and
renewal date, payment terms ..."). `parse_sections` turns them into `Section`s, each of a
kind (`SectionKind`) that says how the drafter fills it, and a section's `facts` are the
things its instructions list, one question each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from app.text.words import content_terms


class SectionKind(StrEnum):
    REQUEST = "request"
    FACTS = "facts"
    RISKS = "risks"


_REQUEST_TITLE = re.compile(r"^(summary|request|overview|the request|the ask)\b", re.I)
_RISKS_TITLE = re.compile(r"\b(risks?|missing|open questions?|questions for)\b", re.I)
_POLICY = re.compile(r"\b(polic(y|ies)|guidelines?|rules?|compliance)\b", re.I)
_ITEM = re.compile(r"^(\s*)(?:\d{1,2}[.)]|[-*•])\s+(\S.*)$")
_TITLE_HEAD = re.compile(r"^([^:,;.\"“”()]{1,80}?):\s*(.*)$", re.S)
_SOURCE_HINT = re.compile(r"^(from|using|if|as|when|in|based on|according to)\b", re.I)


@dataclass(frozen=True)
class Section:
    title: str
    instructions: str = ""
    kind: SectionKind = SectionKind.FACTS

    @property
    def is_policy(self) -> bool:
        return bool(_POLICY.search(self.title))

    @property
    def facts(self) -> tuple[str, ...]:
        """The facts the instructions list, one question each ("annual volume", ...)."""
        items = []
        for piece in _top_level_split(self.instructions):
            piece = re.sub(r"^(and|or|also|plus)\s+", "", piece.strip(" .:"), flags=re.I)
            if piece and content_terms(piece) and not _SOURCE_HINT.match(piece):
                items.append(piece)
        return tuple(items) or (self.title,)


def parse_sections(template: str) -> tuple[Section, ...]:
    """The draft's sections as the prompt lists them, or () when it lists none.

    A list counts as sections when most of its items read "Title: instructions" with a
    short title (at most 8 words); items without one take their first clause as title.
    Lists of rules ("1. Use only the provided documents. Do not ...") are not sections.
    """
    best: tuple[Section, ...] = ()
    for items in _lists(template):
        heads = [_head(item) for item in items]
        titled = sum(1 for _, _, explicit in heads if explicit)
        if titled * 2 > len(items) and titled > len(best):
            best = tuple(Section(t, i, _kind(t)) for t, i, _ in heads)
    return best


def _lists(template: str) -> list[list[str]]:
    """Runs of list items; an item goes on over its indented lines."""
    lists: list[list[str]] = []
    current: list[str] | None = None
    for line in template.splitlines():
        match = _ITEM.match(line)
        if match and len(match.group(1)) <= 1:
            if current is None:
                current = []
                lists.append(current)
            current.append(match.group(2).strip())
        elif current is not None and line.strip():
            if line[:1].isspace():
                current[-1] += " " + line.strip()
            else:
                current = None
    return lists


def _head(item: str) -> tuple[str, str, bool]:
    match = _TITLE_HEAD.match(item)
    if match and len(match.group(1).split()) <= 8:
        return match.group(1).strip(), match.group(2).strip(), True
    clause = re.split(r"[,.;:]\s", item + " ", maxsplit=1)
    title = clause[0].strip(" .")
    rest = clause[1].strip() if len(clause) > 1 else ""
    return title, rest, False


def _kind(title: str) -> SectionKind:
    if _REQUEST_TITLE.match(title):
        return SectionKind.REQUEST
    if _RISKS_TITLE.search(title):
        return SectionKind.RISKS
    return SectionKind.FACTS


def _top_level_split(text: str) -> list[str]:
    """Split at commas, semicolons and sentence ends outside parentheses."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        end_of_sentence = ch == "." and (i + 1 == len(text) or text[i + 1].isspace())
        if depth == 0 and (ch in ",;" or end_of_sentence):
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def details(fact: str) -> list[str]:
    """The details a fact lists in parentheses: "limits (the 35% floor, 30-day validity)"."""
    return [d for group in re.findall(r"\(([^()]*)\)", fact) for d in _top_level_split(group)]
