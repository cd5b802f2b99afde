"""Read a knowledge file (.md, .txt, .html, .pdf, .csv) into a `LoadedDocument`.

Every loader turns its format into the same simple structure, a list of `Block`s
(headings, paragraphs, table rows), which chunking then packs into passages. Markdown may
start with YAML front matter; it is validated and any mistake is a `WorkspaceError` with
the file (relative to the workspace) and the line, counted from the top of the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pypdf import PdfReader

from app.domain import DocumentStatus
from app.errors import WorkspaceError
from app.knowledge.access_rules import Principals, display_name, normalize_principal
from app.yamlfile import load_yaml, validate

SUPPORTED_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".csv"})

BlockKind = Literal["heading", "text", "row"]


@dataclass(frozen=True)
class Block:
    """A heading (with its level), a paragraph of text, or one table row."""

    kind: BlockKind
    text: str
    level: int = 0


@dataclass(frozen=True)
class LoadedDocument:
    id: str
    path: str
    """Relative to `knowledge/`, posix separators."""
    title: str
    blocks: tuple[Block, ...]
    format: str
    content_hash: str
    """sha256 of the file's bytes."""
    url: str | None = None
    owner: str | None = None
    access: tuple[str, ...] | None = None
    """From the front matter; None when the folder rules decide."""
    updated: date | None = None
    supersedes: str | None = None
    status: DocumentStatus = DocumentStatus.CURRENT
    tags: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)


def is_document(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _string_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: NonEmpty | None = None
    title: NonEmpty | None = None
    url: NonEmpty | None = None
    owner: Annotated[str, BeforeValidator(normalize_principal)] | None = None
    access: Principals | None = None
    updated: date | None = None
    supersedes: NonEmpty | None = None
    status: DocumentStatus = DocumentStatus.CURRENT
    tags: Annotated[list[NonEmpty], BeforeValidator(_string_list)] = []


def load_document(
    path: Path, *, knowledge_dir: Path, workspace_root: Path | None = None
) -> LoadedDocument:
    """Load one file. Raises WorkspaceError for a broken or unreadable file."""
    name = display_name(path, workspace_root or knowledge_dir.parent)
    try:
        relative = path.relative_to(knowledge_dir)
    except ValueError:
        relative = path.resolve().relative_to(knowledge_dir.resolve())
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise WorkspaceError(name, f"unsupported file type {suffix or '(none)'}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WorkspaceError(name, f"cannot be read ({exc.strerror})") from exc

    meta = FrontMatter()
    title: str | None = None
    if suffix in (".md", ".markdown"):
        meta, body = _split_front_matter(_decode(raw, name), path, name)
        blocks = markdown_blocks(body)
    elif suffix == ".txt":
        blocks = text_blocks(_decode(raw, name))
    elif suffix in (".html", ".htm"):
        title, blocks = html_blocks(_decode(raw, name))
    elif suffix == ".pdf":
        title, blocks = pdf_blocks(raw, name)
    else:
        blocks = csv_blocks(_decode(raw, name), name)
    if title is None and suffix != ".pdf":
        # PDF headings are the `Page N` markers, never a title.
        title = next((b.text for b in blocks if b.kind == "heading"), None)

    stem = relative.with_suffix("").as_posix()
    return LoadedDocument(
        id=meta.id or stem,
        path=relative.as_posix(),
        title=meta.title or title or path.stem,
        blocks=tuple(blocks),
        format=suffix.lstrip("."),
        content_hash=hashlib.sha256(raw).hexdigest(),
        url=meta.url,
        owner=meta.owner,
        access=tuple(meta.access) if meta.access is not None else None,
        updated=meta.updated,
        supersedes=meta.supersedes,
        status=meta.status,
        tags=tuple(dict.fromkeys(meta.tags)),
    )


def _decode(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkspaceError(name, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- Markdown -------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)")
_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_INLINE_CODE = re.compile(r"`([^`]+)`")
_BLOCKQUOTE = re.compile(r"^ {0,3}(> ?)+")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
_FRONT_MATTER_END = {"---", "..."}


def _split_front_matter(text: str, path: Path, name: str) -> tuple[FrontMatter, str]:
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return FrontMatter(), text
    for index in range(1, len(lines)):
        if lines[index].rstrip() in _FRONT_MATTER_END:
            break
    else:
        raise WorkspaceError(name, "front matter starts with --- but is never closed", line=1)
    yaml_text = "\n".join(lines[1:index])
    try:
        doc = load_yaml(path, display_name=name, text=yaml_text, line_offset=1)
    except ValueError as exc:
        # PyYAML raises a bare ValueError for impossible dates such as 2025-13-45.
        raise WorkspaceError(name, f"front matter has an invalid value: {exc}") from exc
    if not isinstance(doc.data, dict):
        raise WorkspaceError(name, "front matter must be a mapping of keys to values", line=2)
    meta = validate(doc, FrontMatter)
    return meta, "\n".join(lines[index + 1 :])


def _inline(text: str) -> str:
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _INLINE_CODE.sub(r"\1", text)
    return text


def _table_cells(line: str) -> list[str]:
    stripped = line.strip()
    if stripped.startswith("|"):
        stripped = stripped[1:]
    if stripped.endswith("|") and not stripped.endswith("\\|"):
        stripped = stripped[:-1]
    return [_inline(cell.strip()) for cell in re.split(r"(?<!\\)\|", stripped)]


def render_row(header: list[str] | None, cells: list[str]) -> str:
    """A table row as text that stands on its own: `Header: value; Header: value`."""
    if header and len(header) >= len(cells):
        pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=False) if c]
        return "; ".join(pairs)
    return "; ".join(cell for cell in cells if cell)


def markdown_blocks(body: str) -> list[Block]:
    blocks: list[Block] = []
    paragraph: list[str] = []
    lines = body.split("\n")

    def flush() -> None:
        if paragraph:
            text = _inline(" ".join(line.strip() for line in paragraph)).strip()
            if text:
                blocks.append(Block("text", text))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = _BLOCKQUOTE.sub("", lines[i])
        fence_match = _FENCE.match(line)
        if fence_match:
            flush()
            fence = fence_match.group(1)
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                code.append(lines[i])
                i += 1
            if "\n".join(code).strip():
                blocks.append(Block("text", "\n".join(code).strip("\n")))
            i += 1
            continue
        heading = _ATX.match(line)
        if heading:
            flush()
            title = _inline(heading.group(2)).strip()
            if title:
                blocks.append(Block("heading", title, len(heading.group(1))))
            i += 1
            continue
        if (
            paragraph
            and len(paragraph) == 1
            and _SETEXT.match(line)
            and not line.strip().startswith("|")
        ):
            title = _inline(paragraph[0].strip())
            paragraph.clear()
            blocks.append(Block("heading", title, 1 if line.strip().startswith("=") else 2))
            i += 1
            continue
        if (
            line.strip().startswith("|")
            and i + 1 < len(lines)
            and _TABLE_DELIMITER.match(lines[i + 1])
        ):
            flush()
            header = _table_cells(line)
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                row = render_row(header, _table_cells(lines[i]))
                if row:
                    blocks.append(Block("row", row))
                i += 1
            continue
        if not line.strip() or _THEMATIC_BREAK.match(line):
            flush()
        elif re.match(r"^\s*([-*+]|\d+[.)])\s+", line) and paragraph:
            flush()
            paragraph.append(line)
        else:
            paragraph.append(line)
        i += 1
    flush()
    return blocks


# --- Plain text ------------------------------------------------------------------------


def text_blocks(text: str) -> list[Block]:
    paragraphs = re.split(r"\n\s*\n", text)
    blocks = []
    for paragraph in paragraphs:
        joined = " ".join(line.strip() for line in paragraph.split("\n") if line.strip())
        if joined:
            blocks.append(Block("text", joined))
    return blocks


# --- HTML ------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "nav", "aside",
        "blockquote", "pre", "ul", "ol", "li", "dl", "dt", "dd", "figure", "figcaption",
        "table", "caption", "br", "hr", "form", "address", "details", "summary",
    }
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_VOID_TAGS = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "wbr"})


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title: str | None = None
        self._buffer: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._title_parts: list[str] = []
        self._heading: int | None = None
        self._table_rows: list[tuple[list[str], bool]] | None = None
        self._row: list[str] | None = None
        self._row_is_header = True
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
            return
        if tag in _SKIPPED_TAGS:
            if tag not in _VOID_TAGS:
                self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag in _HEADINGS:
            self._flush()
            self._heading = _HEADINGS[tag]
        elif tag == "table":
            self._flush()
            self._table_rows = []
        elif tag == "tr" and self._table_rows is not None:
            self._row, self._row_is_header = [], True
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            if tag == "td":
                self._row_is_header = False
        elif tag in _BLOCK_TAGS and self._cell is None:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            title = _collapse("".join(self._title_parts))
            if title and self.title is None:
                self.title = title
            return
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth:
            return
        if tag in _HEADINGS and self._heading is not None:
            text = _collapse("".join(self._buffer))
            self._buffer.clear()
            if text:
                self.blocks.append(Block("heading", text, self._heading))
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(_collapse("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table_rows is not None:
            if any(self._row):
                self._table_rows.append((self._row, self._row_is_header))
            self._row = None
        elif tag == "table" and self._table_rows is not None:
            self._emit_table(self._table_rows)
            self._table_rows = None
        elif tag in _BLOCK_TAGS and self._cell is None:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
        elif self._skip_depth:
            return
        elif self._cell is not None:
            self._cell.append(data)
        elif self._table_rows is None or self._row is None:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        if self._table_rows:
            self._emit_table(self._table_rows)
        self._flush()

    def _flush(self) -> None:
        text = _collapse("".join(self._buffer))
        self._buffer.clear()
        if text:
            self.blocks.append(Block("text", text))

    def _emit_table(self, rows: list[tuple[list[str], bool]]) -> None:
        header: list[str] | None = None
        for cells, is_header in rows:
            if is_header and header is None:
                header = cells
                continue
            row = render_row(header, cells)
            if row:
                self.blocks.append(Block("row", row))
        if header is not None and len(rows) == 1:
            self.blocks.append(Block("row", render_row(None, header)))


def _collapse(text: str) -> str:
    return " ".join(text.split())


def html_blocks(text: str) -> tuple[str | None, list[Block]]:
    """The `<title>` (else the first h1) and the visible text of an HTML page."""
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    title = parser.title
    if title is None:
        title = next((b.text for b in parser.blocks if b.kind == "heading" and b.level == 1), None)
    return title, parser.blocks


# --- PDF -------------------------------------------------------------------------------


def pdf_blocks(raw: bytes, name: str) -> tuple[str | None, list[Block]]:
    """Page by page: a `Page N` heading, then the page's paragraphs."""
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise WorkspaceError(name, "is an encrypted PDF; save it without a password")
        title = None
        metadata = reader.metadata
        if metadata is not None and metadata.title:
            title = _collapse(str(metadata.title)) or None
        blocks: list[Block] = []
        for number, page in enumerate(reader.pages, start=1):
            page_text = page.extract_text() or ""
            page_blocks = text_blocks(page_text.replace("\r\n", "\n").replace("\r", "\n"))
            if page_blocks:
                blocks.append(Block("heading", f"Page {number}", 1))
                blocks.extend(page_blocks)
    except WorkspaceError:
        raise
    except Exception as exc:  # a third-party parser on an arbitrary file: any failure is the file's
        raise WorkspaceError(name, f"is not a readable PDF ({exc})") from exc
    return title, blocks


# --- CSV -------------------------------------------------------------------------------


def csv_blocks(text: str, name: str) -> list[Block]:
    """One `Header: value; Header: value` row per line; the first row is the header."""
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=first_line.count) if first_line else ","
    reader = csv.reader(
        io.StringIO(text), delimiter=delimiter if first_line.count(delimiter) else ","
    )
    try:
        rows = [[cell.strip() for cell in row] for row in reader]
    except csv.Error as exc:
        raise WorkspaceError(name, f"is not valid CSV ({exc})", line=reader.line_num) from exc
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    header, data = rows[0], rows[1:]
    blocks = []
    for row in data:
        rendered = render_row(header, row)
        if rendered:
            blocks.append(Block("row", rendered))
    return blocks
