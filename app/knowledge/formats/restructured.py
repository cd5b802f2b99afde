"""reStructuredText (.rst) into blocks: docutils renders it as HTML, read as any page is
(app.knowledge.formats.html).

Documentation written for Sphinx uses roles and directives docutils alone does not know.
A role (`:ref:`Leave policy <leave>``, `:doc:`travel``, `:term:`PTO``) is read as the
words a reader of the built page sees: the label, else the target. A directive that
holds text (`versionadded`, `deprecated`, `seealso`, `glossary`, `only`, ...) keeps it;
one that builds navigation or pulls in other files (`toctree`, `literalinclude`, `index`,
`automodule`, ...) is left out, as is any directive docutils does not know. Nothing is
read from outside the file: file insertion and raw HTML are off, and docutils' own
warnings never reach the text.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from docutils import nodes
from docutils.core import publish_parts
from docutils.parsers.rst import Directive, directives

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
}
KEPT_DIRECTIVES = (
    "versionadded", "versionchanged", "deprecated", "seealso", "glossary", "only",
    "centered", "hlist", "productionlist", "describe", "object", "tab", "tabs", "card",
    "dropdown", "grid", "grid-item", "grid-item-card", "tab-set", "tab-item",
)  # fmt: skip
"""Sphinx's directives (and its common extensions') whose content is the page's text."""


_VERSIONED = {
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
        if self.name in _VERSIONED and arguments:
            version, _, rest = arguments.partition(" ")
            arguments = f"{_VERSIONED[self.name].format(version)} {rest}".strip()
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
for _name in KEPT_DIRECTIVES:
    directives.register_directive(_name, _Kept)


def rst_blocks(text: str) -> tuple[str | None, list[Block]]:
    """The document's title and blocks."""
    parts = publish_parts(_roles_as_text(text), writer_name="html5", settings_overrides=_SETTINGS)
    return html_blocks(f"<title>{parts['title']}</title>{parts['html_body']}")


def _role_text(match: re.Match[str]) -> str:
    text = match.group(1).replace("\\`", "`")
    labelled = _LABELLED.match(text)
    words = labelled.group(1) if labelled and labelled.group(1) else text
    return words.lstrip("~!")


def _roles_as_text(text: str) -> str:
    return _ROLE.sub(_role_text, text)
