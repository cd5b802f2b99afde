"""The extractive answer written out from the quotes chosen for each part of a question.

One citation per document, its best quote; the document's other quoted sentences carry its
number. Sentences of one passage close together are quoted as one span; a table row is
spelled out with its column names. Conflicting figures, deprecated sources and the parts
nothing supports are said in the answer and noted (`NOTE_CONFLICT`, `NOTE_DEPRECATED`,
`NOTE_UNANSWERED`). A question naming a number, answered by a row of a table of ranges, is
answered by the row whose range holds it (`within_range`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.answering.backends.quotes import Candidate, same
from app.answering.base import NOTE_CONFLICT, NOTE_DEPRECATED, NOTE_UNANSWERED
from app.answering.ranges import asked_ranges, range_row
from app.domain import Citation, DocumentStatus, ModelAnswer, Passage

UNANSWERED_PART_FACTOR = 0.85
"""Confidence factor for each part of a question that nothing supports."""
MERGE_GAP_CHARS = 300
"""Sentences of one passage closer than this are quoted as one span."""


@dataclass(frozen=True)
class Part:
    """One part of the question, the quotes that answer it and how well they do."""

    text: str
    chosen: tuple[Candidate, ...] = ()
    conflict: tuple[Candidate, ...] = ()
    confidence: float = 0.0


def written(parts: list[Part], unanswered: list[Part], backend: str) -> ModelAnswer:
    """The answer the chosen quotes of `parts` make, and what it says of `unanswered`."""
    chosen: list[Candidate] = []
    conflict: list[Candidate] = []
    for part in parts:
        chosen += [c for c in part.chosen if not any(same(c, o) for o in chosen)]
        conflict += [c for c in part.conflict if not any(same(c, o) for o in conflict)]
    # One citation per document: its best quote; its other sentences carry its number.
    groups: dict[str, list[Candidate]] = {}
    for candidate in chosen:
        groups.setdefault(candidate.passage.doc_id, []).append(candidate)
    citations: list[Citation] = []
    said_parts: list[str] = []
    markers: dict[str, list[int]] = {}
    for doc_id, members in groups.items():
        best = members[0]
        spans = [
            span
            for chunk in dict.fromkeys(m.passage.chunk_id for m in members)
            for span in _spans(
                sorted(
                    (m for m in members if m.passage.chunk_id == chunk),
                    key=lambda c: c.sentence.start,
                )
            )
        ]
        quoted = next(span for span in spans if best in span)
        passage = best.passage
        citations.append(
            Citation(
                doc_id=doc_id,
                title=passage.title,
                quote=passage.text[quoted[0].sentence.start : quoted[-1].sentence.end],
                url=passage.url,
                chunk_id=passage.chunk_id,
            )
        )
        number = len(citations)
        markers[doc_id] = [number]
        for span in sorted(spans, key=lambda sp: sp is not quoted):
            said = _joined(span)
            said_parts.append(f"{said} [{number}]")
    text = " ".join(said_parts)
    notes: list[str] = []
    if conflict:
        ids = list(dict.fromkeys(c.passage.doc_id for c in conflict))
        notes.append(f"{NOTE_CONFLICT}: {', '.join(ids)}")
        named = " and ".join(
            f"{c.passage.title} {''.join(f'[{n}]' for n in markers[c.passage.doc_id])}"
            for c in {c.passage.doc_id: c for c in conflict}.values()
        )
        text += (
            f"\n\nThe sources disagree here: {named} give different figures. "
            "Please check with the document owners before relying on either."
        )
    deprecated = list(
        dict.fromkeys(
            c.passage.doc_id for c in chosen if c.passage.status == DocumentStatus.DEPRECATED
        )
    )
    if deprecated:
        notes.append(f"{NOTE_DEPRECATED}: {', '.join(deprecated)}")
        numbered = ", ".join(f"[{n}]" for d in deprecated for n in markers[d])
        text += f"\n\nSource {numbered} is marked deprecated and may be out of date."
    if unanswered:
        notes.append(f"{NOTE_UNANSWERED}: {len(unanswered)}")
        asked = "; ".join(f'"{p.text}"' for p in unanswered)
        text += f"\n\nI found nothing in the sources about this part of the question: {asked}."
    confidence = sum(p.confidence for p in parts) / len(parts)
    confidence *= UNANSWERED_PART_FACTOR ** len(unanswered)
    return ModelAnswer(
        text=text,
        citations=tuple(citations),
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        backend=backend,
        notes=tuple(notes),
    )


def within_range(answer: ModelAnswer, question: str, passages: Sequence[Passage]) -> ModelAnswer:
    """When the quote is a row of a table of ranges ("More than 10% and up to 25%") and the
    question names a number or a range, the row whose range meets it: words alone cannot
    tell 20 % from 30 %, nor "more than 25%" from "up to 25%"."""
    asked = asked_ranges(question)
    if not asked or not answer.citations:
        return answer
    found = range_row(answer.citations[:1], passages, asked)
    if found is None or found[0].quote == answer.citations[0].quote:
        return answer
    citation, said = found
    return replace(answer, text=f"{said} [1]", citations=(citation,))


def _spans(members: list[Candidate]) -> list[list[Candidate]]:
    spans: list[list[Candidate]] = []
    for candidate in members:
        if spans and candidate.sentence.start - spans[-1][-1].sentence.end <= MERGE_GAP_CHARS:
            spans[-1].append(candidate)
        else:
            spans.append([candidate])
    return spans


def _joined(span: list[Candidate]) -> str:
    """A span's sentences as answer text. Lines of their own that end without a stop (a
    list's items: "GitHub Sponsors", "Polar") are told apart by semicolons, so they do not
    run together into one phrase."""
    said = _plain(span[0])
    for before, after in itertools.pairwise(span):
        between = before.passage.text[before.sentence.end : after.sentence.start]
        if "\n" in between and before.sentence.kind == "sentence" and _open_ended(said):
            said += ";"
        said += " " + _plain(after)
    return said


def _open_ended(said: str) -> bool:
    """Whether text ends as a list item without a stop does: a word, a figure, a closing
    bracket or quote ("GitHub Sponsors", "make lint (optional)"); not punctuation, nor
    code ("--recv-keys <FINGERPRINT>")."""
    return said[-1].isalnum() or said[-1] in ")]\"'’”%"


def _plain(candidate: Candidate) -> str:
    """A quoted sentence as answer text: one line, markdown emphasis removed.

    A table row is spelled out with its column names: "Region: EMEA; Allowance: EUR 60".
    """
    sentence = candidate.sentence
    if sentence.kind == "row":
        cells = sentence.cells or [sentence.text]
        names = candidate.header.cells if candidate.header else []
        if len(names) == len(cells):
            text = "; ".join(f"{n}: {c}" for n, c in zip(names, cells, strict=True) if c)
        else:
            text = " | ".join(c for c in cells if c)
        return _one_line(text).rstrip(".;") + "."
    return _one_line(sentence.text)


def _one_line(text: str) -> str:
    return " ".join(text.replace("**", "").replace("__", "").split())
