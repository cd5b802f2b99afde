"""Read a knowledge file (.md, .txt, .html, .pdf, .docx, .pptx, .csv, .xlsx) into a
`LoadedDocument`.

Every loader turns its format into the same simple structure, a list of `Block`s
(headings, paragraphs, table rows), which chunking then packs into passages. Markdown,
HTML, PDF, Word, PowerPoint and Excel files are read by libraries (`app.knowledge.formats`);
a table row, CSV record or sheet row is written out as one sentence (`render_row`).
Markdown and plain text (.txt) may start with YAML front matter (title, owner, access…); it
is validated and any mistake is a `WorkspaceError` with the file (relative to the
workspace) and the line, counted from the top of the file.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from frontmatter.default_handlers import YAMLHandler
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

from app.config.yamlfile import YamlDocument, load_yaml, validate
from app.domain import DocumentStatus
from app.errors import WorkspaceError
from app.knowledge.access_rules import Principals, display_name, normalize_principal
from app.knowledge.formats.blocks import Block, BlockKind, render_row, render_rows
from app.knowledge.formats.contents import without_contents
from app.knowledge.formats.failures import unreadable
from app.knowledge.formats.html import html_blocks
from app.knowledge.formats.markdown import markdown_blocks, written_in_markdown
from app.knowledge.formats.pdf import pdf_blocks
from app.knowledge.formats.plain import text_blocks
from app.knowledge.formats.restructured import rst_blocks, written_in_rst
from app.knowledge.formats.slides import slides_blocks
from app.knowledge.formats.spreadsheet import spreadsheet_blocks
from app.knowledge.formats.word import word_blocks

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Block",
    "BlockKind",
    "FrontMatter",
    "LoadedDocument",
    "csv_blocks",
    "html_blocks",
    "is_document",
    "load_document",
    "not_read",
    "markdown_blocks",
    "pdf_blocks",
    "render_row",
    "text_blocks",
]

SUPPORTED_SUFFIXES = frozenset(
    {".md", ".markdown", ".rst", ".txt", ".html", ".htm", ".pdf", ".docx", ".pptx", ".csv", ".xlsx"}
)


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
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """The line of each front-matter key, for messages about its value."""
    access_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    """The line of each principal the front-matter `access` names, for messages about it."""

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)


SECTION_WORDS = frozenset(
    {
        "name", "synopsis", "description", "contents", "table of contents", "abstract",
        "introduction", "overview", "summary", "preface", "foreword", "index", "untitled",
    }
)  # fmt: skip
"""Headings that name a part of any document, never the document: not a title."""
ASSETS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".bmp"})
"""Pictures beside the documents (a page's images): not read, and not worth a warning."""
SAVE_AS = {
    **{suffix: ".docx" for suffix in (".doc", ".rtf", ".odt")},
    **{suffix: ".xlsx" for suffix in (".xls", ".ods")},
    **{suffix: ".pptx" for suffix in (".ppt", ".odp", ".key")},
}
"""Formats Trellis does not read that the program which made them can save as one it does."""


def is_document(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def not_read(name: str, path: Path) -> WorkspaceError | None:
    """The warning for a file in the knowledge folder of a type Trellis does not read (None
    for a document, or a picture beside one)."""
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_SUFFIXES or suffix in ASSETS:
        return None
    readable = ", ".join(sorted(SUPPORTED_SUFFIXES))
    advice = f"; save it as {SAVE_AS[suffix]}" if suffix in SAVE_AS else ""
    return WorkspaceError(name, f"is not read: Trellis reads {readable} files{advice}")


NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _string_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class FrontMatter(BaseModel):
    """Trellis's keys. Real pages carry others (a static-site generator's `layout`,
    `date`, `categories`, an `SPDX-License-Identifier`): those are left alone, except one
    that reads as a misspelling of these (`acess`, `titel`), which is an error: a
    restriction misspelt must not go unnoticed (`_foreign_keys`)."""

    model_config = ConfigDict(extra="ignore")

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
    lines: dict[str, int] = {}
    access_lines: dict[str, int] = {}
    title: str | None = None
    if suffix in (".md", ".markdown"):
        meta, lines, access_lines, body = _split_front_matter(_decode(raw, name), path, name)
        blocks = markdown_blocks(body)
    elif suffix == ".txt":
        meta, lines, access_lines, body = _split_front_matter(_decode(raw, name), path, name)
        if written_in_markdown(body):
            blocks = markdown_blocks(body)
            title = next((b.text for b in blocks if b.kind == "heading"), None)
        elif written_in_rst(body):
            with unreadable(name, "reStructuredText document"):
                title, blocks = rst_blocks(body)
        else:
            title, blocks = text_blocks(body)
    elif suffix == ".rst":
        meta, lines, access_lines, body = _split_front_matter(_decode(raw, name), path, name)
        with unreadable(name, "reStructuredText document"):
            title, blocks = rst_blocks(body)
    elif suffix in (".html", ".htm"):
        title, blocks = html_blocks(_decode(raw, name))
    elif suffix == ".pdf":
        title, blocks = pdf_blocks(raw, name)
    elif suffix == ".docx":
        title, blocks = word_blocks(raw, name)
    elif suffix == ".xlsx":
        title, blocks = spreadsheet_blocks(raw, name)
    elif suffix == ".pptx":
        title, blocks = slides_blocks(raw, name)
    else:
        blocks = csv_blocks(_decode(raw, name), name)
    if title is None and suffix not in (".xlsx", ".pptx", ".txt"):
        # A workbook's headings are its sheet names and a deck's its slides, and a text
        # file's later headings are its sections': not a title.
        title = next((b.text for b in blocks if b.kind == "heading"), None)

    if title is not None and " ".join(title.split()).casefold() in SECTION_WORDS:
        title = None  # a manual page's "NAME", a report's "Abstract": the file names it better
    stem = relative.with_suffix("").as_posix()
    blocks = [replace(b, text=clean) for b in blocks if (clean := _readable(b.text))]
    blocks = without_contents(blocks)
    return LoadedDocument(
        id=meta.id or stem,
        path=relative.as_posix(),
        title=_readable(meta.title or title or path.stem) or path.stem,
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
        lines=lines,
        access_lines=access_lines,
    )


_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (NUL among them) and bidirectional overrides: nothing a reader sees,
PostgreSQL refuses NUL in text, and an override can make a quote read other than it is."""


def _readable(text: str) -> str:
    """`text` without control characters or bidirectional overrides, the same for every
    format and database."""
    return _UNREADABLE.sub("", text)


def _decode(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkspaceError(name, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return _readable(text.replace("\r\n", "\n").replace("\r", "\n"))


# --- Front matter ----------------------------------------------------------------------

_FRONT_MATTER = YAMLHandler()
"""Finds and splits off the block. It reports no line numbers, so the YAML itself is
parsed by `load_yaml`, which keeps the line of every key for error messages."""


def _split_front_matter(
    text: str, path: Path, name: str
) -> tuple[FrontMatter, dict[str, int], dict[str, int], str]:
    """The front matter, the line of each of its keys and of each principal its `access`
    names, and the text after it. Only a line of exactly three dashes opens it: a longer
    one is a reStructuredText title's overline ("-----" over "Leave policy")."""
    opening = _FRONT_MATTER.FM_BOUNDARY.match(text)
    if opening is None or text.lstrip("\ufeff").split("\n", 1)[0].strip() != "---":
        return FrontMatter(), {}, {}, text
    try:
        yaml_text, body = _FRONT_MATTER.split(text)
    except ValueError:
        raise WorkspaceError(
            name, "front matter starts with --- but is never closed", line=1
        ) from None
    # The YAML text starts where the opening `---` ends: its line 1 is the file's line
    # `line_offset + 1`, so every line reported below counts from the top of the file.
    # Trailing blank lines go, so an error at the end of the YAML names its last line.
    line_offset = text.count("\n", 0, opening.end())
    try:
        doc = load_yaml(path, display_name=name, text=yaml_text.rstrip(), line_offset=line_offset)
    except ValueError as exc:
        # PyYAML raises a bare ValueError for impossible dates such as 2025-13-45.
        raise WorkspaceError(name, f"front matter has an invalid value: {exc}") from exc
    if not isinstance(doc.data, dict):
        raise WorkspaceError(
            name, "front matter must be a mapping of keys to values", line=doc.line_of(())
        )
    lines = {str(loc[0]): line for loc, line in doc.lines.items() if len(loc) == 1}
    _foreign_keys(doc)
    meta = validate(doc, FrontMatter)
    return meta, lines, _principal_lines(doc), body


def _foreign_keys(doc: YamlDocument) -> None:
    """Raise for front-matter keys that are not Trellis's but read as a misspelling of one
    (every one found, at its line); any other key of another tool is not Trellis's to judge."""
    known = list(FrontMatter.model_fields)
    mistakes = []
    for key in doc.data:
        if str(key) in known:
            continue
        near = difflib.get_close_matches(str(key).casefold(), known, n=1, cutoff=0.8)
        if near and len(str(key)) > 3:  # not `uid`, nor `subtitle` (0.77 of `title`)
            mistakes.append(doc.error((key,), f"{key}: unknown key; did you mean {near[0]!r}?"))
    if mistakes:
        first, *rest = mistakes
        raise WorkspaceError(first.file, first.problem, line=first.line, also=tuple(rest))


def _principal_lines(doc: YamlDocument) -> dict[str, int]:
    """{principal: line} for the front-matter `access`, a list or a single principal."""
    written = doc.data.get("access")
    items = written if isinstance(written, list) else [written]
    found: dict[str, int] = {}
    for i, item in enumerate(items):
        loc = ("access", i) if isinstance(written, list) else ("access",)
        if isinstance(item, str) and loc in doc.lines:
            found.setdefault(normalize_principal(item), doc.lines[loc])
    return found


# --- CSV -------------------------------------------------------------------------------


def csv_blocks(text: str, name: str) -> list[Block]:
    """One sentence per record (see `render_row`); the first record is the header."""
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
    blocks: list[Block] = []
    for row in data:
        blocks.extend(Block("row", rendered) for rendered in render_rows(header, row))
    return blocks
