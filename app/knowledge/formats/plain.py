"""Plain text (.txt): paragraphs between blank lines, and the headings its writer marked
by layout alone.

A plain-text file has no markup, so a heading is known by how it sits: a short line that
does not end as a sentence does, with the section's text after it (on the next line or
after a blank line), or a line underlined with `===` or `---`. A heading is never read as
the start of the sentence after it ("Annual leave Staff get 25 days" is no sentence).
Anything that could be a fact stays text: a line with a figure in it, a bullet, a
`Label: value` line, a line that runs on into the next ("send the form to"), and a run
of short lines (a list).
"""

from __future__ import annotations

import re

from app.knowledge.formats.blocks import Block, collapse

TITLE_MAX_CHARS = 120
TITLE_LINE_MAX_CHARS = 80
HEADING_MAX_CHARS = 60
HEADING_MAX_WORDS = 8
_NOT_A_TITLE_END = (".", "!", "?", "\u2026", ":", ";", ",")
_UNDERLINE = re.compile(r"([=\-~*^])\1{2,}")
_BULLET = re.compile(r"[-*+\u2022\u25aa\u25e6>|]")
_SECTION_NUMBER = re.compile(r"(?:\d+(?:\.\d+)*\.?|[A-Z]\.|[IVXLC]+\.)\s+")
_BROKEN_WORD = re.compile(r"(?<=[^\W\d_])[\u2010\u00ad]\n[ \t]*(?=[^\W\d_])")
"""A word broken at a line's end by typesetting (a man page's U+2010 hyphen, a soft
hyphen): "chang‐\ning" is "changing". A plain "-" at a line's end may belong to the word
("well-\nknown"), so it is kept."""
_RUNS_ON_TEXT = """
a an the to of and or but for with without in into on at by from as than that
your our their its is are was were be if when
"""
_RUNS_ON = frozenset(_RUNS_ON_TEXT.split())


def text_blocks(text: str) -> tuple[str | None, list[Block]]:
    """The file's title (its first line, when that is a title: `title_line`) and its
    blocks: the title as a level-1 heading, later headings (`_heading`) as level 2 (or 1
    when underlined with `=`), and one text block per paragraph."""
    text = _BROKEN_WORD.sub("", text)
    lines = text.strip().split("\n")
    title = title_line(text)
    if title is not None:
        lines = lines[2:] if len(lines) > 1 and _underline(lines[1]) else lines[1:]
    paragraphs = [p for p in _paragraphs(lines) if any(line.strip() for line in p)]
    blocks = [Block("heading", title, 1)] if title is not None else []
    for i, paragraph in enumerate(paragraphs):
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else None
        heading, level, body = _heading(paragraph, following)
        if heading is not None:
            blocks.append(Block("heading", heading, level))
        if joined := collapse(" ".join(body)):
            blocks.append(Block("text", joined))
    return title, blocks


def title_line(text: str) -> str | None:
    """The file's first line when it is a title: it does not end as a sentence does, more
    text follows, and either it is underlined, or a blank line follows it (at most 120
    characters), or it is short (at most 80) and the next line starts a sentence of its
    own (a capital or a digit). A short line run on by a lower-case word is a wrapped
    paragraph's first."""
    lines = text.strip().split("\n")
    first = collapse(lines[0])
    rest = [line.strip() for line in lines[1:]]
    if rest and _underline(rest[0]):
        rest = rest[1:]
        if first and any(rest) and len(first) <= TITLE_MAX_CHARS:
            return first
    if not first or not any(rest) or first.endswith(_NOT_A_TITLE_END):
        return None
    if not rest[0]:
        return first if len(first) <= TITLE_MAX_CHARS else None
    starts_sentence = rest[0][0].isupper() or rest[0][0].isdigit()
    return first if len(first) <= TITLE_LINE_MAX_CHARS and starts_sentence else None


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return paragraphs


def _heading(
    paragraph: list[str], following: list[str] | None
) -> tuple[str | None, int, list[str]]:
    """(heading, level, the paragraph's text lines) for one paragraph."""
    first, rest = collapse(paragraph[0]), paragraph[1:]
    if rest and _underline(rest[0]) and _may_head(first, underlined=True):
        return first, 1 if rest[0][0] == "=" else 2, rest[1:]
    if not _may_head(first):
        return None, 0, paragraph
    if not rest:
        # A line alone heads the paragraph after it, unless that is a short line too:
        # a list written one item per paragraph, not sections.
        if following is not None and not _short_line(following):
            return first, 2, []
        return None, 0, paragraph
    widest = max(len(line) for line in rest)
    starts_sentence = rest[0][0].isupper() or rest[0][0].isdigit()
    if starts_sentence and len(first) < 0.75 * widest:
        return first, 2, rest
    return None, 0, paragraph


def _may_head(line: str, *, underlined: bool = False) -> bool:
    """Whether `line` has a heading's shape: short, not ended as a sentence, no bullet,
    no label with its value, and (unless it is underlined) no figure after its section
    number and no last word that runs on into the next line."""
    words = line.split()
    if not words or len(line) > HEADING_MAX_CHARS or len(words) > HEADING_MAX_WORDS:
        return False
    if line.endswith(_NOT_A_TITLE_END) or _BULLET.match(line) or ": " in line:
        return False
    if not (line[0].isupper() or line[0].isdigit()):
        return False
    if underlined:
        return True
    named = _SECTION_NUMBER.sub("", line, count=1)
    return not any(c.isdigit() for c in named) and words[-1].lower() not in _RUNS_ON


def _short_line(paragraph: list[str]) -> bool:
    return len(paragraph) == 1 and _may_head(collapse(paragraph[0]))


def _underline(line: str) -> bool:
    return bool(_UNDERLINE.fullmatch(line.strip()))
