"""PDF into blocks, read by pypdf line by line with each line's place and font.

A PDF has no paragraphs or headings, only text drawn at positions in fonts, so they are
recovered the way a reader sees them:

- **headings**: a short line drawn larger than the body text (the size most of the
  document's characters have), or wholly in a bold face at body size, that does not end
  like a sentence (a question or a colon may end it). Larger sizes are higher levels;
- **paragraphs**: wrapped lines are joined; a paragraph ends where the space between two
  lines is clearly wider than the line spacing, where a list item starts (•, –, 1. ...)
  or at a heading. A word hyphenated across a line break is joined again ("manip-" +
  "ulation"); a paragraph that runs over a page break continues;
- **what is not text**: a line repeated at the top or bottom of most pages (a running
  header or footer), a page number there, and table-of-contents lines with dot leaders
  are left out.

The title is the one in the document's properties; without one, the first heading.

pypdf loses the spaces between words in some PDFs (LaTeX's, which place each word instead
of drawing a space: "installationofuploadedfiles"). PDFium (pypdfium2) reads the same
pages with their spaces, so each line is taken as PDFium spells it when both read the same
characters in it and PDFium's has the spaces pypdf's lacks (`_spaced`).
"""

from __future__ import annotations

import io
import math
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.errors import WorkspaceError
from app.knowledge.formats.blocks import Block, collapse
from app.knowledge.formats.failures import parser_log_kept, unreadable

LARGER = 1.1
"""A line this many times the body size (or more) can be a heading."""
PARAGRAPH_GAP = 1.4
"""Space between lines, in typical line spacings, from which a new paragraph starts."""
HEADING_MAX_CHARS = 120
REPEATED_SHARE = 0.5
"""A line at a page's edge on at least this share of the pages is a running header or
footer (with at least three pages)."""
_EDGE_LINES = 2
_GLYPH = re.compile(r"^[\u2022\u25aa\u25cf\u25e6\u2023\u2043\u2013\u2014*-]\s")
"""A list item drawn with a bullet or a dash."""
_NUMBERED = re.compile(r"^\(?(?:\d{1,2}|[a-z])[.)]\s")
"""A numbered or lettered list item ("1. ", "b) "), or a numbered heading when it is
drawn like one."""
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?(?:\d+|[ivxlc]+)(?:\s*(?:of|/)\s*\d+)?$")
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*\w{0,6}\s*$")
_SENTENCE_END = (".", "!", ";", ",")
"""How body text ends, and a heading does not (a heading may ask a question or end with a
colon)."""
_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)


@dataclass
class _Line:
    text: str
    y: float
    size: float
    bold: bool
    gap: float | None = None
    """The space down from the line above on the same page (None at a page's top)."""


@dataclass
class _Reading:
    """The lines of one page as pypdf draws them."""

    lines: list[_Line] = field(default_factory=list)
    pieces: list[tuple[str, float, float, bool]] = field(default_factory=list)

    def visit(self, text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                self.end_line()
            if part:
                scale = math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3])
                y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
                name = str(font.get("/BaseFont", "")) if font else ""
                self.pieces.append((part, y, size * (scale or 1.0), bool(_BOLD.search(name))))

    def end_line(self) -> None:
        drawn = [p for p in self.pieces if p[0].strip()]
        text = collapse("".join(p[0] for p in self.pieces))
        self.pieces.clear()
        if not text or not drawn:
            return
        weights = Counter[float]()
        for part, _, size, _ in drawn:
            weights[round(size, 1)] += len(part.strip())
        self.lines.append(
            _Line(
                text=text,
                y=drawn[0][1],
                size=weights.most_common(1)[0][0],
                bold=all(bold for _, _, _, bold in drawn),
            )
        )


def pdf_blocks(raw: bytes, name: str) -> tuple[str | None, list[Block]]:
    """The title and the headings and paragraphs of a PDF (see the module docstring)."""
    # pypdf is imported when a PDF is read, not before: with the cryptography, fontTools
    # and Pillow it brings, it is 16 MB resident that a workspace without PDFs never needs.
    from pypdf import PdfReader

    with parser_log_kept("pypdf", name), unreadable(name, "PDF"):
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise WorkspaceError(name, "is an encrypted PDF; save it without a password")
        title = None
        metadata = reader.metadata
        if metadata is not None and metadata.title:
            title = collapse(str(metadata.title)) or None
        pages = [_page_lines(page) for page in reader.pages]
    return title, _blocks(_without_running_lines(_spaced(raw, pages)))


def _spaced(raw: bytes, pages: list[list[_Line]]) -> list[list[_Line]]:
    """`pages` with each line PDFium reads with the same characters and more spaces
    between its words taken as PDFium spells it; where PDFium cannot read the file, as
    they are."""
    if not any(_glued(line.text) for lines in pages for line in lines):
        return pages
    import pypdfium2  # imported when needed, as pypdf is

    with _PDFIUM:
        return _spaced_by(pypdfium2, raw, pages)


def _spaced_by(pypdfium2: Any, raw: bytes, pages: list[list[_Line]]) -> list[list[_Line]]:
    try:
        document = pypdfium2.PdfDocument(raw)
    except Exception:  # noqa: BLE001 - pypdf's reading stands
        return pages
    try:
        for index, lines in enumerate(pages[: len(document)]):
            spelled: dict[str, str] = {}
            for words in _pdfium_lines(document, index):
                spelled.setdefault(_letters(words), words)
            for line in lines:
                found = spelled.get(_letters(line.text))
                if found is not None and _better_spaced(found, line.text):
                    line.text = found
    except Exception:  # noqa: BLE001 - a page PDFium cannot read keeps pypdf's reading
        pass
    finally:
        document.close()
    return pages


def _pdfium_lines(document: Any, index: int) -> list[str]:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    # PDFium joins a word hyphenated across lines, marking the break; it is a break here.
    text = text.replace("\ufffe", "-\n").replace("\x02", "-\n")
    return [collapse(line) for line in re.split(r"\r\n|[\r\n]", text) if line.strip()]


def _letters(text: str) -> str:
    """The characters of a line that are not spaces or punctuation, as one key."""
    return re.sub(r"\W", "", unicodedata.normalize("NFKC", text)).casefold()


_PDFIUM = threading.Lock()
"""PDFium must never run in two threads at once, even on different documents (pypdfium2's
documentation: it would crash the process); documents are read in worker threads."""
_GLUED = re.compile(r"[^\W\d_]{25,}")
"""A run of letters longer than words are (a few chemical or German compounds aside)."""


def _glued(text: str) -> bool:
    return bool(_GLUED.search(text))


def _better_spaced(spelled: str, read: str) -> bool:
    """PDFium's `spelled` parts words `read` runs together (a run too long for a word, or
    two spaces more), without splitting words into letters (as a letter-spaced heading
    would be)."""
    words = spelled.split()
    parted = len(_GLUED.findall(spelled)) < len(_GLUED.findall(read)) or (
        spelled.count(" ") >= read.count(" ") + 2
    )
    return parted and sum(map(len, words)) >= 3 * len(words)


def _page_lines(page: Any) -> list[_Line]:
    """A page's lines with their places and fonts; should reading them so fail (an odd
    font or matrix), its plain text, one line after another, all in the body's face."""
    reading = _Reading()
    try:
        page.extract_text(visitor_text=reading.visit)
        reading.end_line()
        return reading.lines
    except Exception:  # whatever went wrong in reading the places, the text still counts
        text = page.extract_text() or ""
        return [
            _Line(text=collapse(line), y=-float(index), size=0.0, bold=False)
            for index, line in enumerate(text.splitlines())
            if line.strip()
        ]


def _without_running_lines(pages: list[list[_Line]]) -> list[_Line]:
    """Every page's lines in order, running headers and footers and contents lines left
    out, each with its gap to the line above."""
    edges = Counter[str]()
    for lines in pages:
        edges.update({_shape(line.text) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]})
    repeated = {
        shape
        for shape, count in edges.items()
        if len(pages) >= 3 and count >= REPEATED_SHARE * len(pages)
    }
    kept: list[_Line] = []
    for lines in pages:
        edge = {id(line) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]}
        above: _Line | None = None
        for line in lines:
            running = id(line) in edge and (
                _shape(line.text) in repeated or _PAGE_NUMBER.match(line.text.casefold())
            )
            if running or _DOT_LEADER.search(line.text):
                continue
            line.gap = above.y - line.y if above is not None else None
            kept.append(line)
            above = line
    return kept


def _shape(text: str) -> str:
    """A line with its numbers blanked: "Page 3 of 12" and "Page 4 of 12" are one line."""
    return re.sub(r"\d+", "#", text.casefold())


def _blocks(lines: list[_Line]) -> list[Block]:
    if not lines:
        return []
    sizes = Counter[float]()
    for line in lines:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0]
    gaps = Counter(round(line.gap * 2) / 2 for line in lines if line.gap and line.gap > 0)
    # The line spacing is the most common space between lines; a document of a few lines
    # may only have paragraph breaks, so it is taken as at most 1.5 x the body size.
    spacing = min(gaps.most_common(1)[0][0], body * 1.5) if gaps else body * 1.2
    larger = sorted({line.size for line in lines if line.size >= body * LARGER}, reverse=True)

    blocks: list[Block] = []
    paragraph: list[str] = []
    width = _full_width(lines, body)

    def flush() -> None:
        if paragraph:
            blocks.append(Block("text", collapse(" ".join(paragraph))))
            paragraph.clear()

    for line in lines:
        level = _heading_level(line, body, larger)
        if level:
            flush()
            blocks.append(Block("heading", line.text, level))
            continue
        new_page = line.gap is None
        starts = (
            bool(_GLYPH.match(line.text) or _NUMBERED.match(line.text))
            or (line.gap is not None and (line.gap < 0 or line.gap > PARAGRAPH_GAP * spacing))
            or (new_page and bool(paragraph) and paragraph[-1].endswith((".", "!", "?", ":")))
            or (bool(paragraph) and _broken_short(paragraph[-1], line.text, width))
        )
        if starts:
            flush()
        if paragraph and paragraph[-1].endswith("-") and line.text[:1].islower():
            paragraph[-1] = paragraph[-1][:-1] + line.text.split(" ", 1)[0]
            rest = line.text.split(" ", 1)[1:]
            paragraph.extend(rest)
        else:
            paragraph.append(line.text)
    flush()
    return blocks


SHORT_LINE = 0.8
"""A line whose next line's first word would have fit on it, with room to spare (this
share of a full line), was broken on purpose, unless the next line starts in lower case:
a list item drawn without a bullet, a line of an address. Wrapped text fills its lines."""


def _full_width(lines: list[_Line], body: float) -> int | None:
    """The characters of a full line of body text (the 90th percentile), when the document
    has lines enough to tell."""
    lengths = sorted(len(line.text) for line in lines if line.size == body)
    return lengths[int(len(lengths) * 0.9)] if len(lengths) >= 10 else None


def _broken_short(previous: str, line: str, width: int | None) -> bool:
    """Whether `previous` ended where it did although `line`'s first word would have fit,
    and `line` does not carry on a sentence (an indented list item's lines are shorter
    than the page's: "… needs to send an" / "email to …" is one sentence)."""
    if width is None or previous.endswith("-") or line[:1].islower():
        return False
    return len(previous) + 1 + len(line.split(" ", 1)[0]) <= SHORT_LINE * width


def _heading_level(line: _Line, body: float, larger: list[float]) -> int:
    """The line's heading level, 0 for body text."""
    text = line.text
    if len(text) > HEADING_MAX_CHARS or text.endswith(_SENTENCE_END) or _GLYPH.match(text):
        return 0
    if not any(c.isalpha() for c in text):
        return 0
    if line.size in larger:
        return larger.index(line.size) + 1
    if line.bold and line.size >= body * 0.95:
        return len(larger) + 1
    return 0
