"""reStructuredText (.rst) into blocks: docutils renders it as HTML, read as any page is
(app.knowledge.formats.html).

Documentation written for Sphinx uses roles and directives docutils alone does not know.
A role (`:ref:`Leave policy <leave>``, `:doc:`travel``, `:term:`PTO``) is read as the
words a reader of the built page sees: the label, else the target. A directive docutils
does not know (`versionadded`, `seealso`, `glossary`, `confval`, `py:function`, a
theme's `tab` or `card`, ...) is read as its arguments, then its content, except those
that build navigation or pull in other files or code (`toctree`, `literalinclude`,
`index`, `automodule`, ...), which are left out. Nothing is read from outside the file:
file insertion and raw HTML are off, and docutils' own warnings never reach the text.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from docutils import nodes
from docutils.core import publish_parts
from docutils.parsers.rst import Directive, directives, languages

from app.knowledge.formats.blocks import Block
from app.knowledge.formats.html import html_blocks

_ROLE = re.compile(r":(?:[A-Za-z][\w.+-]*:)+`((?:[^`\\]|\\.)+)`")
"""An interpreted text role, `:role:`text`` or `:domain:role:`text``."""
_LABELLED = re.compile(r"^(.*?)\s*<[^<>]+>$", re.S)
"""A role's text that names its label before its target: `Label <target>`."""
_SETTINGS = {
    "report_level": 5,
    "halt_level": 5,
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "_disable_config": True,
    "input_encoding": "unicode",
    "embed_stylesheet": False,
    "doctitle_xform": False,  # the title stays a heading, and a lone section no subtitle
    "initial_header_level": 1,
}
_DIRECTIVE = re.compile(r"^[ \t]*\.\.[ \t]+([A-Za-z][\w:+.-]*)::", re.M)
LEFT_OUT = frozenset(
    {
        "toctree", "literalinclude", "index", "highlight", "code-author", "codeauthor",
        "sectionauthor", "moduleauthor", "currentmodule", "default-role", "default-domain",
        "tabularcolumns", "graphviz", "graph", "digraph", "inheritance-diagram", "plot",
        "testsetup", "testcleanup", "autosummary",
    }
)  # fmt: skip
"""Sphinx's directives that build navigation, pull in other files or code, or set how the
page is built: no text of the page."""


_ENGLISH = languages.get_language("en")
_known: set[str] = set()
"""Directive names already looked at (`_know_directives`)."""
VERSIONED = {
    "versionadded": "New in version {}:",
    "versionchanged": "Changed in version {}:",
    "deprecated": "Deprecated since version {}:",
}


class _Kept(Directive):  # type: ignore[misc]  # docutils ships no type hints
    """A directive read as its arguments, then its content (a version's note as Sphinx
    words it)."""

    optional_arguments = 10
    final_argument_whitespace = True
    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        arguments = " ".join(self.arguments)
        if self.name in VERSIONED and arguments:
            version, _, rest = arguments.partition(" ")
            arguments = f"{VERSIONED[self.name].format(version)} {rest}".strip()
        if arguments:
            container += nodes.paragraph(text=arguments)
        if self.content:
            self.state.nested_parse(self.content, self.content_offset, container)
        return [container]


class _Options(dict[str, Any]):
    """Any option is accepted (and ignored): a directive is read for its content."""

    def __missing__(self, key: str) -> Any:
        return directives.unchanged


_Kept.option_spec = _Options(class_=directives.class_option)


class _LeftOut(_Kept):
    def run(self) -> list[nodes.Node]:
        return []


def _know_directives(text: str) -> None:
    """Register the directives `text` uses that docutils does not know (module-wide, as
    docutils keeps them): each read as `_Kept`, or as nothing when it is `LEFT_OUT`."""
    for name in {n.lower() for n in _DIRECTIVE.findall(text)} - _known:
        left_out = name in LEFT_OUT or name.split(":")[-1].startswith("auto")
        if left_out or not _docutils_knows(name):
            directives.register_directive(name, _LeftOut if left_out else _Kept)
        _known.add(name)


def _docutils_knows(name: str) -> bool:
    canonical = _ENGLISH.directives.get(name, name)
    return name in directives._directives or canonical in directives._directive_registry  # noqa: SLF001 - docutils has no public "is it known"


_TARGET = re.compile(r"^\.\.[ \t]+_[^:\n]+:", re.M)
_REFERENCE = re.compile(r"`[^`\n]+`__?(?!\w)")
_LITERAL = re.compile(r"``[^`\n]+``")


def written_in_rst(text: str) -> bool:
    """Whether a plain-text file is reStructuredText by its marks (Sphinx sources kept as
    .txt, as Django's are): a directive, a link target or two roles, and at least three
    marks in all (with `references`_ and ``literals``)."""
    structure = len(_DIRECTIVE.findall(text)) + len(_TARGET.findall(text))
    roles = len(_ROLE.findall(text))
    marks = structure + roles + len(_REFERENCE.findall(text)) + len(_LITERAL.findall(text))
    return (structure > 0 or roles >= 2) and marks >= 3


def rst_blocks(text: str) -> tuple[str | None, list[Block]]:
    """The document's title (its first heading) and blocks."""
    _know_directives(text)
    parts = publish_parts(_roles_as_text(text), writer_name="html5", settings_overrides=_SETTINGS)
    _, blocks = html_blocks(parts["html_body"])
    return next((b.text for b in blocks if b.kind == "heading"), None), blocks


def _role_text(match: re.Match[str]) -> str:
    return role_words(match.group(1).replace("\\`", "`"))


def role_words(text: str) -> str:
    """What a role reads as: its label ("the news file <news-file>" -> "the news file"),
    else its target without Sphinx's `~` and `!` marks."""
    labelled = _LABELLED.match(text)
    words = labelled.group(1) if labelled and labelled.group(1) else text
    return words.lstrip("~!")


def _roles_as_text(text: str) -> str:
    return _ROLE.sub(_role_text, text)
