"""PowerPoint decks (.pptx) into blocks, read by python-pptx.

Slide after slide: the slide's title is a heading (a slide without one is headed
"Slide N"), then the text of its other shapes in reading order (top to bottom, then left
to right), one paragraph per bullet or line, groups opened; a table's rows become
sentences (`render_row`), its first row naming the columns when the table's "header row"
option is on (PowerPoint's default); the speaker notes follow as
text, since they often say what the slide only hints at. Hidden slides are left out.

The deck's title is the one in its properties, else the first slide's title.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from app.knowledge.formats.blocks import Block, collapse, table_blocks
from app.knowledge.formats.failures import refuse_locked, unreadable

if TYPE_CHECKING:  # python-pptx is imported when a deck is read, not before
    from pptx.shapes.base import BaseShape
    from pptx.slide import Slide


def slides_blocks(raw: bytes, name: str) -> tuple[str | None, list[Block]]:
    """The title (from the deck's properties) and every visible slide's text."""
    refuse_locked(raw, name, kind="PowerPoint deck", old=".ppt", new=".pptx")
    from pptx import Presentation

    with unreadable(name, "PowerPoint deck"):
        deck = Presentation(io.BytesIO(raw))
        title = collapse(deck.core_properties.title or "") or None
        blocks: list[Block] = []
        for number, slide in enumerate(deck.slides, start=1):
            if slide._element.get("show") in ("0", "false"):
                continue  # hidden in the slide sorter
            blocks.extend(_slide(slide, number))
            if title is None and slide.shapes.title is not None:
                title = collapse(slide.shapes.title.text_frame.text) or None
    return title, blocks


def _slide(slide: Slide, number: int) -> list[Block]:
    heading_shape = slide.shapes.title
    heading = collapse(heading_shape.text_frame.text) if heading_shape is not None else ""
    blocks = [Block("heading", heading or f"Slide {number}", 2)]
    title_id = heading_shape.shape_id if heading_shape is not None else None
    others = [s for s in _shapes(slide.shapes) if s.shape_id != title_id]
    for shape in sorted(others, key=_reading_order):
        blocks.extend(_shape_blocks(shape))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None:
            blocks.extend(_paragraphs(p.text for p in notes.paragraphs))
    return blocks if len(blocks) > 1 or heading else []


def _shapes(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Every shape, the members of a group in its place."""
    for shape in shapes:
        members = getattr(shape, "shapes", None)
        if members is not None:
            yield from _shapes(members)
        else:
            yield shape


def _reading_order(shape: BaseShape) -> tuple[int, int]:
    return (shape.top or 0, shape.left or 0)


def _shape_blocks(shape: Any) -> list[Block]:
    if getattr(shape, "has_table", False):
        table = shape.table
        rows = [
            [collapse(cell.text) for cell in row.cells if not cell.is_spanned] for row in table.rows
        ]
        rows = [row for row in rows if any(row)]
        if table.first_row and len(rows) > 1:  # PowerPoint's "header row" option
            return table_blocks(rows[1:], rows[0])
        return table_blocks(rows, None)
    if getattr(shape, "has_text_frame", False):
        return _paragraphs(p.text for p in shape.text_frame.paragraphs)
    return []


def _paragraphs(texts: Iterable[str]) -> list[Block]:
    return [Block("text", text) for text in map(collapse, texts) if text]
