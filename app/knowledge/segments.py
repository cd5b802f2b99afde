"""Segments: the spans of a chunk that get a vector of their own.

A chunk (600–1000 characters) often holds several facts; one vector for all of it blurs
them. So each chunk is cut into segments of one to a few consecutive sentences (at most
`MAX_CHARS`, never across a paragraph, heading or table row), and each segment is embedded
with the document title and section heading in front, so "How much is it?" under
"Parking" still knows what it is about. A chunk's similarity to a question is that of its
best segment, and the answerer knows which sentences carried it.

Segments are spans `[start, end)` of the chunk text, so the sentences quoted from them are
always exact source text.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.answering.text import split_sentences

MAX_CHARS = 320
"""Sentences are joined into one segment up to about this many characters."""
MIN_CHARS = 40
"""A shorter sentence joins its neighbour rather than standing alone."""


@dataclass(frozen=True)
class Segment:
    start: int
    end: int


def segment(text: str) -> list[Segment]:
    """The segments of a chunk's text, in order; at least one for any non-blank text."""
    segments: list[Segment] = []
    start = end = None
    for sentence in split_sentences(text):
        if sentence.is_heading:
            continue
        breaks = start is not None and (
            sentence.kind != "sentence"
            or "\n\n" in text[end : sentence.start]
            or sentence.end - start > MAX_CHARS
        )
        if breaks and end - start >= MIN_CHARS:
            segments.append(Segment(start, end))
            start = None
        if start is None:
            start = sentence.start
        end = sentence.end
        if sentence.kind != "sentence" and end - start >= MIN_CHARS:
            # A table row stands alone: it is one record.
            segments.append(Segment(start, end))
            start = None
    if start is not None:
        segments.append(Segment(start, end))
    if not segments and text.strip():
        segments.append(Segment(0, len(text)))
    return segments


def embedding_text(text: str, piece: Segment, *, title: str, heading: str) -> str:
    """What is embedded for one segment: where it sits, then its words."""
    parts = [part for part in (title, heading) if part]
    if len(parts) == 2 and parts[1].startswith(parts[0]):
        parts = parts[1:]
    context = " > ".join(parts)
    body = " ".join(text[piece.start : piece.end].split())
    return f"{context}: {body}" if context else body
