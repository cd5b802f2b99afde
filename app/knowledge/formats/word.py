"""Word documents (.docx) into blocks, read by python-docx.

The body is read in the order Word lays it out, paragraphs and tables interleaved:

- a paragraph styled as a heading ("Heading 1" to "Heading 9", or a style of the company's
  own based on one) is a heading of that level; the "Title" style is a heading of level 1;
- every other paragraph with text, list items included, is a paragraph of its own (list
  numbers are drawn by Word, not written in the text, so they are not part of it);
- a table's rows become sentences (`render_row`). Its first row names the columns when
  Word marks it as the header row (repeated at the top of every page) or when all of its
  text is bold; otherwise every row is data. A cell merged across columns counts once.

Page headers and footers, comments and tracked deletions are not body text and are left
out, as a web page's navigation is. The document's title is the one in its properties
(File > Info), else its first heading.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from app.knowledge.formats.blocks import Block, collapse, table_blocks
from app.knowledge.formats.failures import refuse_locked, unreadable

if TYPE_CHECKING:  # python-docx is imported when a Word document is read, not before
    from docx.table import Table, _Row
    from docx.text.paragraph import Paragraph

_HEADING_STYLE = re.compile(r"heading (\d)")
_STYLE_DEPTH = 8
"""How far up a chain of styles (each based on the next) a heading is looked for."""


def word_blocks(raw: bytes, name: str) -> tuple[str | None, list[Block]]:
    """The title (from the document's properties) and the body of a .docx file."""
    refuse_locked(raw, name, kind="Word document", old=".doc", new=".docx")
    from docx import Document
    from docx.text.paragraph import Paragraph

    with unreadable(name, "Word document"):
        document = Document(io.BytesIO(raw))
        title = collapse(document.core_properties.title or "") or None
        blocks: list[Block] = []
        for item in document.iter_inner_content():
            if isinstance(item, Paragraph):
                blocks.extend(_paragraph(item))
            else:
                blocks.extend(_table(item))
    return title, blocks


def _paragraph(paragraph: Paragraph) -> list[Block]:
    text = collapse(paragraph.text)
    if not text:
        return []
    level = _heading_level(paragraph)
    return [Block("heading", text, level) if level else Block("text", text)]


def _heading_level(paragraph: Paragraph) -> int | None:
    """The heading level of the paragraph's style, or of the style it is based on."""
    style = paragraph.style
    for _ in range(_STYLE_DEPTH):
        if style is None:
            return None
        name = (style.name or "").casefold()
        if name == "title":
            return 1
        match = _HEADING_STYLE.fullmatch(name)
        if match:
            return max(int(match.group(1)), 1)
        style = style.base_style
    return None


def _table(table: Table) -> list[Block]:
    rows = [_cells(row) for row in table.rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    first = table.rows[0]
    if len(rows) > 1 and (_marked_header(first) or _all_bold(first)):
        return table_blocks(rows[1:], rows[0])
    return table_blocks(rows, None)


def _cells(row: _Row) -> list[str]:
    """The row's cell texts, a cell merged across columns once (python-docx repeats it
    for every column it spans)."""
    texts: list[str] = []
    previous = None
    for cell in row.cells:
        if previous is not None and cell._tc is previous:
            continue
        previous = cell._tc
        texts.append(collapse(cell.text))
    return texts


def _marked_header(row: _Row) -> bool:
    """Word's "repeat as header row at the top of each page"."""
    from docx.oxml.ns import qn

    properties = row._tr.trPr
    if properties is None:
        return False
    marks = properties.findall(qn("w:tblHeader"))
    return any(mark.get(qn("w:val"), "true") not in ("0", "false", "off") for mark in marks)


def _all_bold(row: _Row) -> bool:
    """Every run with text in the row is bold, directly or by its paragraph's style."""
    runs = [
        (run, paragraph)
        for cell in row.cells
        for paragraph in cell.paragraphs
        for run in paragraph.runs
        if run.text.strip()
    ]
    return bool(runs) and all(
        run.bold or (run.bold is None and bool(paragraph.style and paragraph.style.font.bold))
        for run, paragraph in runs
    )
