"""Split a document's blocks into passages that are quoted and cited on their own.

A chunk never crosses a heading, so it always knows its heading path ("Policy > Carry-over").
Inside a section, paragraphs (and table rows) are packed into chunks of roughly
`MIN_CHARS`–`MAX_CHARS` characters. A paragraph that does not fit is split between
sentences, never inside one; only a run of text with no sentence end longer than
`HARD_MAX_CHARS` (a PDF table dump, say) is cut between words.

A long list is cut between its items, and the chunk that goes on with it would not say
what the list is of ("You will need to submit the following paperwork:" stays behind). Such
a chunk carries its list's lead-in after its heading path ("Advanced sick leave > You will
need to submit the following paperwork:"): it is searched and read with it, as a heading,
and quoted without it.
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
LEAD_MAX_CHARS = 200
"""A longer last sentence before a list is no lead-in to carry."""
LEAD_MAX_ITEMS = 60
"""How many paragraphs back a chunk looks for its list's lead-in (a list this long is cut
many times; its later chunks go without)."""

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
        self.starts: list[int | None] = []
        """For each text, the index of the block it starts with (None: within a block)."""
        self._buffer = ""
        self._start: int | None = None

    def fits(self, text: str, separator: str) -> bool:
        extra = len(separator) if self._buffer else 0
        return len(self._buffer) + extra + len(text) <= self.max_chars

    def append(self, text: str, separator: str, start: int | None) -> None:
        if not self._buffer:
            self._start = start
        self._buffer = f"{self._buffer}{separator}{text}" if self._buffer else text

    def flush(self) -> None:
        if self._buffer.strip():
            self.texts.append(self._buffer.strip())
            self.starts.append(self._start)
        self._buffer = ""

    def add_block(self, index: int, block: Block, previous: Block | None) -> None:
        separator = "\n" if block.kind == "row" and previous and previous.kind == "row" else "\n\n"
        if self._buffer and self.fits(block.text, separator):
            self.append(block.text, separator, index)
            return
        if len(self._buffer) >= self.min_chars:
            self.flush()
        if not self._buffer and len(block.text) <= self.max_chars:
            self.append(block.text, separator, index)
            return
        units = [block.text] if block.kind == "row" else paragraph_sentences(block.text)
        for number, unit in enumerate(units):
            unit_separator = separator if number == 0 else " "
            pieces = _split_words(unit, self.max_chars) if len(unit) > HARD_MAX_CHARS else [unit]
            for piece in pieces:
                if self._buffer and not self.fits(piece, unit_separator):
                    self.flush()
                whole = number == 0 and piece is pieces[0]
                self.append(piece, unit_separator, index if whole else None)


def list_lead(section: list[Block], start: int | None) -> str | None:
    """The lead-in of the list that `section[start]`, where a chunk starts, goes on with:
    the last sentence of the paragraph just before the list's first item, when it ends
    with a colon. Only where the format tells list items (`Block.level`)."""
    if not start or section[start].kind != "text" or section[start].level == 0:
        return None
    depth = section[start].level
    for block in reversed(section[max(0, start - LEAD_MAX_ITEMS) : start]):
        if block.kind == "text" and block.level >= depth:
            continue  # an earlier item of the list, or a paragraph inside one
        if block.kind != "text" or not block.text.rstrip().endswith(":"):
            return None
        lead = paragraph_sentences(block.text)[-1]
        return lead if len(lead) <= LEAD_MAX_CHARS else None
    return None


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
        for index, block in enumerate(section):
            packer.add_block(index, block, previous)
            previous = block
        packer.flush()
        names = [text for _, text in headings]
        if names and title is not None and names[0].casefold() == title.casefold():
            names = names[1:]
        for text, start in zip(packer.texts, packer.starts, strict=True):
            lead = list_lead(section, start)
            path = HEADING_SEPARATOR.join([*names, lead] if lead else names)
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
