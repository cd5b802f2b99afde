"""HTML into blocks, parsed by selectolax (the lexbor engine, an HTML5 parser).

Only what a reader sees in the page body counts: scripts, styles, the site chrome
(`nav`, `footer`) and headings' permalink marks ("¶") are dropped before reading. Block elements (paragraphs, list items,
divs, ...) become paragraphs; whitespace is collapsed as a browser would. A definition
list's term leads its definition's first paragraph ("scram-sha-256: The method ... is the
most secure"), so the sentence that defines it says what it defines.
"""

from __future__ import annotations

from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from app.knowledge.formats.blocks import Block, collapse, table_blocks, term_leads

_NOISE = (
    "script, style, noscript, template, svg, iframe, object, nav, footer, "
    "[role=navigation], .navheader, .navfooter, .breadcrumb, .breadcrumbs"
)
"""Not the page's text: code, and the site's chrome (DocBook's "Prev | Up | Next" header
and footer, breadcrumbs)."""
_PERMALINK_MARKS = frozenset({"", "¶", "§", "#", "🔗"})
"""The text of a heading's permalink anchor (Sphinx's and MkDocs' "¶"), which no reader
reads as part of the heading."""
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "aside", "blockquote", "pre",
        "ul", "ol", "li", "dl", "dt", "dd", "figure", "figcaption", "caption", "br", "hr",
        "form", "address", "details", "summary", "table", "tr", "td", "th",
    }
)  # fmt: skip
"""Elements that start a new paragraph (and, inside a heading or cell, a new word)."""
_CELLS = frozenset({"td", "th"})


def html_blocks(text: str) -> tuple[str | None, list[Block]]:
    """The `<title>` (else the first h1) and the visible text of an HTML page."""
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    title = collapse(title_node.text()) if title_node is not None else ""
    for node in tree.css(_NOISE):
        node.decompose()
    for node in tree.css('a[href^="#"]'):
        if node.text(deep=True).strip() in _PERMALINK_MARKS:
            node.decompose()
    root = tree.body if tree.body is not None else tree.root
    blocks = _read(root) if root is not None else []
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    return title or None, blocks


def _read(root: LexborNode) -> list[Block]:
    """Walk the tree in document order without recursion (pages can nest deeply)."""
    blocks: list[Block] = []
    buffer: list[str] = []
    terms: list[str] = []  # a definition list's terms, waiting for their definition

    def flush() -> None:
        paragraph = collapse("".join(buffer))
        buffer.clear()
        if paragraph and terms:
            paragraph = term_leads(", ".join(terms), paragraph)
            terms.clear()
        if paragraph:  # within the list items still open: the paragraph's own is
            blocks.append(Block("text", paragraph, sum(tag == "li" for *_, tag in frames)))

    def unmatched_terms() -> None:
        if terms:
            blocks.append(Block("text", collapse(", ".join(terms))))
            terms.clear()

    frames: list[tuple[Iterator[LexborNode], bool, str]] = [
        (root.iter(include_text=True), False, "")
    ]
    while frames:
        children, is_block, tag = frames[-1]
        child = next(children, None)
        if child is None:
            if is_block:
                flush()
            frames.pop()
            if tag == "dl":
                unmatched_terms()  # a term with no definition stands alone
        elif child.is_text_node:
            buffer.append(child.text(deep=False))
        elif not child.is_element_node:
            continue  # a comment
        elif child.tag == "dt":
            flush()
            if term := _text(child):
                terms.append(term)
        elif child.tag in _HEADINGS:
            flush()
            unmatched_terms()
            heading = _text(child)
            if heading:
                blocks.append(Block("heading", heading, _HEADINGS[child.tag]))
        elif child.tag == "table":
            flush()
            unmatched_terms()
            blocks.extend(_table(child))
        else:
            block = child.tag in _BLOCKS
            if block:
                flush()
            frames.append((child.iter(include_text=True), block, child.tag or ""))
    flush()
    unmatched_terms()
    return blocks


def _text(node: LexborNode) -> str:
    """A heading's or a cell's text; block elements and `<br>` inside it separate words."""
    parts = []
    for child in node.traverse(include_text=True):
        if child.is_text_node:
            parts.append(child.text(deep=False))
        elif child.tag in _BLOCKS:
            parts.append(" ")
    return collapse("".join(parts))


def _table(table: LexborNode) -> list[Block]:
    """A table's rows; a first row made only of `<th>` cells is the header."""
    rows: list[list[str]] = []
    header: list[str] | None = None
    for row in table.css("tr"):
        if _owning_table(row) != table:
            continue  # a row of a table nested in a cell, already part of that cell's text
        cells = [cell for cell in row.iter() if cell.tag in _CELLS]
        texts = [_text(cell) for cell in cells]
        if not any(texts):
            continue
        if not rows and header is None and all(cell.tag == "th" for cell in cells):
            header = texts
        else:
            rows.append(texts)
    return table_blocks(rows, header)


def _owning_table(row: LexborNode) -> LexborNode | None:
    node = row.parent
    while node is not None and node.tag != "table":
        node = node.parent
    return node
