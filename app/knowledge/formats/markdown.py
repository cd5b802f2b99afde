"""Markdown (CommonMark plus pipe tables) into blocks, parsed by markdown-it-py.

The token stream already knows headings, paragraphs, lists, quotes, code and tables; this
module only flattens each one into plain text: emphasis markers go, link and image text
stays, inline code is kept as text. Front matter is split off before this (see `loaders`).

MyST, the Markdown of Sphinx and Jupyter Book projects, is read too (mdit-py-plugins): a
directive's fence (```` ```{note} ```` or `:::{warning}`) is read as the Markdown it holds,
not quoted as code, unless it holds code or builds navigation (`toctree`, as in
reStructuredText); a role (`` {ref}`the news file <news-file>` ``) reads as its words;
targets (`(label)=`) and `%` comments are no text. A definition list's term leads its
definition ("Term: definition"), as in HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin

from app.knowledge.formats.blocks import Block, collapse, table_blocks, term_leads
from app.knowledge.formats.html import html_blocks
from app.knowledge.formats.restructured import LEFT_OUT, VERSIONED, role_words, rst_blocks

_PARSER = (
    MarkdownIt("commonmark")
    .enable("table")
    .use(colon_fence_plugin)
    .use(myst_role_plugin)
    .use(myst_block_plugin)
    .use(deflist_plugin)
)
_DIRECTIVE = re.compile(r"^\{([A-Za-z][\w:+.-]*)\}[ \t]*(.*)$")
"""A MyST directive's fence info: `{note}`, `{admonition} A title`, `{code-block} python`."""
CODE_DIRECTIVES = frozenset(
    {"code", "code-block", "code-cell", "sourcecode", "math", "mermaid", "raw", "csv-table"}
)
"""Directives whose content is code or data, kept as written."""
_OPTIONS = re.compile(r"\A(?:[ \t]*:[\w-]+:[^\n]*\n)+")
"""A directive's options at the top of its content (`:class: tip`)."""
_OPTION_BLOCK = re.compile(r"\A---\n.*?\n---\n", re.S)
"""... or the same as a YAML block between `---` lines."""

_INLINE_TEXT = frozenset({"text", "code_inline", "image"})
"""Inline tokens whose `content` is visible text (an image's content is its alt text)."""
_INLINE_SPACE = frozenset({"softbreak", "hardbreak"})
_MARKDOWN_LINK = re.compile(r"\[[^\]\n]+\]\((?:https?://|/|#|mailto:)[^)\s]*\)")
"""`[text](address)`: Markdown no one writes by accident in the text of an HTML block."""


_TASK_BOX = re.compile(r"^\[[ xX]\][ \t]+")
"""A GitHub task list item's box, checked or not, at the start of the item."""


_ATX_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.M)
_TABLE_RULE = re.compile(
    r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)+\|?[ \t]*$", re.M
)
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)(?![`~])[^\n]*$", re.M)
"""A fence opening or closing code, not a reStructuredText heading's line of tildes."""
_STRONG = re.compile(r"\*\*[^*\n]+\*\*")


def written_in_markdown(text: str) -> bool:
    """Whether a plain-text file is Markdown by its marks (a README.txt, notes kept in
    Markdown): it has a `#` heading, a table's rule or a fenced code block, and at least
    two marks in all (headings, tables, fences, links, `**strong**` text). Plain text
    seldom has even one: a file that only happens to start a line with "# " stays text."""
    structure = (
        len(_ATX_HEADING.findall(text))
        + 2 * len(_TABLE_RULE.findall(text))
        + len(_FENCE.findall(text))
    )
    marks = len(_MARKDOWN_LINK.findall(text)) + len(_STRONG.findall(text))
    return structure > 0 and structure + marks >= 2


def markdown_blocks(body: str) -> list[Block]:
    """Headings, paragraphs (one per list item), code and table rows, in document order."""
    tokens = _PARSER.parse(body)
    blocks: list[Block] = []
    marker = ""  # an ordered list item's number, put before its first paragraph
    item = False  # the next paragraph is a list item's first
    term = ""  # a definition list's term, put before its definition
    depth = 0  # how many list items the next paragraph is inside
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            text = _inline_text(tokens[index + 1])
            if text:
                blocks.append(Block("heading", text, int(token.tag[1:])))
            index += 3
            continue
        if token.type == "table_open":
            index = _table(tokens, index, blocks)
            continue
        if token.type == "list_item_open":
            # Numbers carry the order of steps; bullet markers carry nothing.
            marker = f"{token.info}{token.markup} " if token.info else ""
            item = True
            depth += 1
        elif token.type == "list_item_close":
            marker = ""
            depth -= 1
        elif token.type == "dt_open":
            term = _inline_text(tokens[index + 1])
            index += 3
            continue
        elif token.type == "inline":  # a paragraph's content
            text = _inline_text(token)
            if term and text:
                text, term = term_leads(term, text), ""
            if item:  # a task list's box ("- [ ] Send the pre-alert") is not its words
                text = _TASK_BOX.sub("", text, count=1)
                item = False
            if text:
                blocks.append(Block("text", marker + text, depth))
                marker = ""
        elif token.type in ("fence", "code_block", "colon_fence"):
            blocks.extend(_fenced(token))
        elif token.type == "html_block":
            blocks.extend(_markdown_within(block) for block in html_blocks(token.content)[1])
        index += 1
    return blocks


def _fenced(token: Token) -> list[Block]:
    """A fence's blocks: its code as one text, or a MyST directive's content as text."""
    directive = _DIRECTIVE.match(token.info.strip())
    content = token.content.strip("\n")
    if directive is None or directive.group(1) in CODE_DIRECTIVES:
        return [Block("text", content)] if content.strip() else []
    name, argument = directive.group(1), directive.group(2).strip()
    if name in LEFT_OUT or name.split(":")[-1].startswith("auto"):
        return []
    content = _OPTION_BLOCK.sub("", _OPTIONS.sub("", content + "\n", count=1), count=1)
    if name == "eval-rst":
        return rst_blocks(content)[1]
    blocks = markdown_blocks(content)
    if name in VERSIONED:
        lead = VERSIONED[name].format(argument)
        if blocks and blocks[0].kind == "text":
            return [replace(blocks[0], text=f"{lead} {blocks[0].text}"), *blocks[1:]]
        return [Block("text", lead), *blocks]
    if argument and name not in ("figure", "image"):  # a title, or a note's first words
        blocks.insert(0, Block("text", argument))
    return blocks


def _markdown_within(block: Block) -> Block:
    """A text of an HTML block that is written in Markdown (a site's `<aside markdown="1">`
    pull quote with a link in it) read as Markdown, so its link syntax is not quoted."""
    if block.kind != "text" or not _MARKDOWN_LINK.search(block.text):
        return block
    inline = _PARSER.parseInline(block.text)
    return replace(block, text=_inline_text(inline[0])) if inline else block


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or ():
        if child.type in _INLINE_TEXT:
            parts.append(child.content)
        elif child.type == "myst_role":
            parts.append(role_words(child.content))
        elif child.type in _INLINE_SPACE:
            parts.append(" ")
    return collapse("".join(parts))


def _table(tokens: Sequence[Token], index: int, blocks: list[Block]) -> int:
    """Add the rows of the table opening at `index`; the index just past it."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    cells: list[str] = []
    in_head = False
    while tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            cells = []
        elif token.type == "inline":
            cells.append(_inline_text(token))
        elif token.type == "tr_close":
            if in_head:
                header = cells
            else:
                rows.append(cells)
        index += 1
    blocks.extend(table_blocks(rows, header))
    return index + 1
