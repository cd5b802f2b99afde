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
from pydantic_core import ErrorDetails

from app.errors import WorkspaceError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class YamlDocument:
    """Parsed YAML data with the line of every key and value."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: list[WorkspaceError] = field(default_factory=list)
    """Keys written twice in one mapping (the last is kept), when the caller takes them."""

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

    def part(self, loc: Loc) -> Any:
        """The value at `loc` (the keys and list indexes leading to it)."""
        data = self.data
        for key in loc:
            data = data[key]
        return data


def load_yaml(
    path: Path,
    *,
    display_name: str | None = None,
    text: str | None = None,
    line_offset: int = 0,
    duplicates_kept: bool = False,
) -> YamlDocument:
    """Parse a YAML file (or `text` taken from it, starting after `line_offset` lines). A
    key written twice in one mapping is an error; with `duplicates_kept` the file is read
    all the same (the later value kept) and each is in `duplicates`, so that the rest of
    the file can still be checked."""
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
    doc.data = _build(node, (), doc, line_offset)
    if doc.duplicates and not duplicates_kept:
        first, *rest = doc.duplicates
        raise WorkspaceError(first.file, first.problem, line=first.line, also=tuple(rest))
    return doc


def _build(node: yaml.Node, loc: Loc, doc: YamlDocument, offset: int) -> Any:
    lines, name = doc.lines, doc.file
    lines.setdefault(loc, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, name, offset)
            line = key_node.start_mark.line + 1 + offset
            if key in result:
                doc.duplicates.append(WorkspaceError(name, f"duplicate key {key!r}", line=line))
                for known in [k for k in lines if k[: len(loc) + 1] == (*loc, key)]:
                    del lines[known]  # the later value's lines replace the earlier's
            lines[(*loc, key)] = line
            result[key] = _build(value_node, (*loc, key), doc, offset)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), doc, offset) for i, item in enumerate(node.value)]
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
    try:
        return model.model_validate(doc.part(loc))
    except ValidationError as exc:
        first, *rest = _mistakes(doc, exc.errors(), loc)
        raise WorkspaceError(first.file, first.problem, line=first.line, also=tuple(rest)) from exc


def validate_sections(
    doc: YamlDocument, model: type[M], *, loc: Loc = ()
) -> tuple[M | None, list[WorkspaceError]]:
    """`model` from the mapping at `loc` with each key checked on its own, and every
    mistake: a key whose value is wrong is left at its default, so that the right ones are
    still read and checked (a nested section is read key by key in the same way). None
    when the mapping cannot be read even so (not a mapping, or a key it must have is wrong)."""
    try:
        return validate(doc, model, loc=loc), []
    except WorkspaceError as exc:
        whole = [exc, *exc.also]
    data = doc.part(loc)
    if not isinstance(data, dict):
        return None, whole
    kept: dict[Any, Any] = {}
    mistakes: list[WorkspaceError] = []
    for key, value in data.items():
        field = model.model_fields.get(key) if isinstance(key, str) else None
        section = field.annotation if field is not None else None
        if isinstance(section, type) and issubclass(section, BaseModel) and isinstance(value, dict):
            part, problems = validate_sections(doc, section, loc=(*loc, key))
            mistakes += problems
            if part is not None:
                kept[key] = part
            continue
        try:
            model.model_validate({**kept, key: value})
        except ValidationError as exc:
            own = [e for e in exc.errors() if e["loc"][:1] == (key,)]
            if own:
                mistakes += _mistakes(doc, own, loc)
                continue
        kept[key] = value
    try:
        return model.model_validate(kept), mistakes or whole
    except ValidationError:
        return None, whole


def _mistakes(doc: YamlDocument, errors: list[ErrorDetails], loc: Loc) -> list[WorkspaceError]:
    """One WorkspaceError per field with a validation error, at its line."""
    found: dict[tuple[str | int, ...], WorkspaceError] = {}
    for error in errors:
        where = (*loc, *error["loc"])
        field_path = ".".join(str(p) for p in where) or "the file"
        found.setdefault(tuple(error["loc"]), doc.error(where, f"{field_path}: {error['msg']}"))
    return list(found.values())
