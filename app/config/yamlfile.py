"""YAML files that remember where each value came from.

Workspace files are edited by people, so every mistake is reported with the file, the
line and what was expected. `load_yaml` keeps a map from each value's path (the keys and
list indexes that lead to it) to its line; `validate` runs a pydantic model over the data
and turns its validation errors into a `WorkspaceError` at the right line (the first
one; the others, one per field, in its `also`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.errors import WorkspaceError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class YamlDocument:
    """Parsed YAML data with the line of every key and value."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int | None:
        """The line of `loc`, or of its nearest ancestor that has one."""
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, loc: Iterable[str | int], problem: str) -> WorkspaceError:
        return WorkspaceError(self.file, problem, line=self.line_of(loc))


def load_yaml(
    path: Path, *, display_name: str | None = None, text: str | None = None, line_offset: int = 0
) -> YamlDocument:
    """Parse a YAML file (or `text` taken from it, starting after `line_offset` lines)."""
    name = display_name or str(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(name, f"is not UTF-8 text ({exc.reason})") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        raise WorkspaceError(
            name, f"invalid YAML: {exc.problem or exc.context}", line=line
        ) from exc
    doc = YamlDocument(file=name, data=None)
    if node is None:
        doc.data = {}
        doc.lines[()] = 1 + line_offset
        return doc
    doc.data = _build(node, (), doc.lines, line_offset, name)
    return doc


def _build(node: yaml.Node, loc: Loc, lines: dict[Loc, int], offset: int, name: str) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, name, offset)
            if key in result:
                raise WorkspaceError(
                    name, f"duplicate key {key!r}", line=key_node.start_mark.line + 1 + offset
                )
            lines[(*loc, key)] = key_node.start_mark.line + 1 + offset
            result[key] = _build(value_node, (*loc, key), lines, offset, name)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), lines, offset, name) for i, item in enumerate(node.value)]
    return _scalar(node, name, offset)


def _scalar(node: yaml.Node, name: str, offset: int = 0) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise WorkspaceError(
            name, "keys must be plain values", line=node.start_mark.line + 1 + offset
        )
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, yaml.constructor.ConstructorError) as exc:
        # e.g. a date that does not exist, such as 2025-13-45
        raise WorkspaceError(
            name, f"invalid value {node.value!r}: {exc}", line=node.start_mark.line + 1 + offset
        ) from exc
    finally:
        loader.dispose()


def validate(doc: YamlDocument, model: type[M], *, loc: Loc = ()) -> M:
    """Validate `doc.data` (or the part at `loc`) with `model`, or raise WorkspaceError."""
    data = doc.data
    for key in loc:
        data = data[key]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        found: dict[tuple[str | int, ...], WorkspaceError] = {}
        for error in exc.errors():
            where = (*loc, *error["loc"])
            field_path = ".".join(str(p) for p in where) or "the file"
            found.setdefault(tuple(error["loc"]), doc.error(where, f"{field_path}: {error['msg']}"))
        first, *rest = found.values()
        raise WorkspaceError(first.file, first.problem, line=first.line, also=tuple(rest)) from exc
