"""Split a document's blocks into passages that are quoted and cited on their own.

A chunk never crosses a heading, so it always knows its heading path ("Policy > Carry-over").
Inside a section, paragraphs (and table rows) are packed into chunks of roughly
`MIN_CHARS`–`MAX_CHARS` characters. A paragraph that does not fit is split between
sentences, never inside one; only a run of text with no sentence end longer than
`HARD_MAX_CHARS` (a PDF table dump, say) is cut between words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.knowledge.loaders import Block

MIN_CHARS = 600
MAX_CHARS = 1000
HARD_MAX_CHARS = 2000
HEADING_SEPARATOR = " > "

_SENTENCE_END = re.compile(r"([.!?…][\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")


@dataclass(frozen=True)
class TextChunk:
    ordinal: int
    heading: str
    text: str


def chunk_id(doc_id: str, ordinal: int) -> str:
    """The stable id of a chunk, kept by citations."""
    return f"{doc_id}#{ordinal}"


def chunk_ordinal(chunk: str) -> int | None:
    """The chunk's place in its document, from its `chunk_id` (None for another form)."""
    _, _, ordinal = chunk.rpartition("#")
    return int(ordinal) if ordinal.isdigit() else None


def paragraph_sentences(text: str) -> list[str]:
    """The sentences of a paragraph, as the places a chunk may be cut.

    Coarser than `app.text.sentences.split_sentences`, which the answerers quote from: a
    cut needs a sentence end followed by a capital or a digit, and no offsets are kept.
    Chunk boundaries follow it, so a change here means a new `ingest.CHUNKER_VERSION`.
    """
    sentences = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + len(match.group(1))
        sentences.append(text[start:end].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def _split_words(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


class _Packer:
    def __init__(self, min_chars: int, max_chars: int) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.texts: list[str] = []
        self._buffer = ""

    def fits(self, text: str, separator: str) -> bool:
        extra = len(separator) if self._buffer else 0
        return len(self._buffer) + extra + len(text) <= self.max_chars

    def append(self, text: str, separator: str) -> None:
        self._buffer = f"{self._buffer}{separator}{text}" if self._buffer else text

    def flush(self) -> None:
        if self._buffer.strip():
            self.texts.append(self._buffer.strip())
        self._buffer = ""

    def add_block(self, block: Block, previous: Block | None) -> None:
        separator = "\n" if block.kind == "row" and previous and previous.kind == "row" else "\n\n"
        if self._buffer and self.fits(block.text, separator):
            self.append(block.text, separator)
            return
        if len(self._buffer) >= self.min_chars:
            self.flush()
        if not self._buffer and len(block.text) <= self.max_chars:
            self.append(block.text, separator)
            return
        units = [block.text] if block.kind == "row" else paragraph_sentences(block.text)
        for index, unit in enumerate(units):
            unit_separator = separator if index == 0 else " "
            pieces = _split_words(unit, self.max_chars) if len(unit) > HARD_MAX_CHARS else [unit]
            for piece in pieces:
                if self._buffer and not self.fits(piece, unit_separator):
                    self.flush()
                self.append(piece, unit_separator)


def chunk_blocks(
    blocks: Iterable[Block],
    *,
    title: str | None = None,
    min_chars: int = MIN_CHARS,
    max_chars: int = MAX_CHARS,
) -> list[TextChunk]:
    """Chunks in document order; ordinals count from 0.

    A top heading that merely repeats the document `title` is left out of heading paths,
    since every passage is shown with its title anyway.
    """
    chunks: list[TextChunk] = []
    headings: list[tuple[int, str]] = []
    section: list[Block] = []

    def close_section() -> None:
        if not section:
            return
        packer = _Packer(min_chars, max_chars)
        previous: Block | None = None
        for block in section:
            packer.add_block(block, previous)
            previous = block
        packer.flush()
        names = [text for _, text in headings]
        if names and title is not None and names[0].casefold() == title.casefold():
            names = names[1:]
        path = HEADING_SEPARATOR.join(names)
        for text in packer.texts:
            chunks.append(TextChunk(ordinal=len(chunks), heading=path, text=text))
        section.clear()

    for block in blocks:
        if block.kind == "heading":
            close_section()
            while headings and headings[-1][0] >= block.level:
                headings.pop()
            headings.append((block.level, block.text))
        else:
            section.append(block)
    close_section()
    return chunks
