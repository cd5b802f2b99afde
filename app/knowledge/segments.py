"""Segments: the spans of a chunk that get a vector of their own.

A chunk (600–1000 characters) often holds several facts; one vector for all of it blurs
them. So each chunk is cut into segments of one to a few consecutive sentences (at most
`MAX_CHARS`, never across a paragraph, heading or table row), and each segment is embedded
with the document title and section heading in front, so "How much is it?" under
"Parking" still knows what it is about. A chunk's similarity to a question is that of its
best segment, and the answerer knows which sentences carried it.

Segments are spans `[start, end)` of the chunk text, so the sentences quoted from them are
always exact source text.

`index_chunks` computes what the index stores for each chunk: its stems (for keyword
search), its segments and, when there is a model, one vector per segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.knowledge.chunking import TextChunk
from app.knowledge.embeddings import TextEmbedder, pack
from app.text.sentences import split_sentences
from app.text.words import index_terms

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
    start: int | None = None  # of the segment being gathered, which ends at `end`
    end = 0
    for sentence in split_sentences(text):
        if sentence.is_heading:
            continue
        if start is not None:
            breaks = (
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


@dataclass(frozen=True)
class IndexedChunk:
    """A chunk with what search needs: its stems, segments and their vectors."""

    ordinal: int
    heading: str
    text: str
    terms: str
    segments: tuple[tuple[int, int], ...]
    vectors: bytes | None
    embedder: str | None


def index_chunks(
    chunks: list[TextChunk], *, titles: list[str], embedder: TextEmbedder | None
) -> list[IndexedChunk]:
    """Stems and segments of every chunk (its document's title in `titles`), and one
    vector per segment when there is a model.

    CPU-bound: run it in a worker thread.
    """
    spans = [segment(chunk.text) for chunk in chunks]
    vectors: list[bytes | None] = [None] * len(chunks)
    if embedder is not None:
        texts = [
            embedding_text(chunk.text, piece, title=title, heading=chunk.heading)
            for chunk, title, pieces in zip(chunks, titles, spans, strict=True)
            for piece in pieces
        ]
        embedded = embedder.embed(texts)
        start = 0
        for number, pieces in enumerate(spans):
            vectors[number] = pack(embedded[start : start + len(pieces)])
            start += len(pieces)
    return [
        IndexedChunk(
            ordinal=chunk.ordinal,
            heading=chunk.heading,
            text=chunk.text,
            terms=" ".join(index_terms(chunk.text)),
            segments=tuple((p.start, p.end) for p in pieces),
            vectors=vector,
            embedder=embedder.model_id if embedder is not None else None,
        )
        for chunk, pieces, vector in zip(chunks, spans, vectors, strict=True)
    ]
