"""The embedding model's word table kept in eight bits: look a token's row up, then widen it.

The model file widens its whole word table (30,522 rows x 384 int8 values) to float, then
picks the rows of the text's tokens:

    Cast(table_q) -> Mul(by each row's scale) -> Gather(rows of input_ids)

Constant folding, which the embedder needs for speed (each run would otherwise widen every
weight again), turns that table into 47 MB of floats held for the life of the process. The
same numbers come from picking the rows first and widening only them:

    Gather(table_q, input_ids) -> Cast -> Mul(by Gather(scales, input_ids))

so the table stays at its 12 MB and each run widens at most 8 x 128 rows. Picking a row
and scaling it commute exactly, so every vector is bit for bit what it was
(tests/knowledge/test_word_table.py).

The rewrite edits the model's protobuf with a schema of only the fields it reads (`_FIELDS`,
with the ONNX format's own field numbers); every other field, the weights' bytes among
them, is carried through unread. Only a stored 2-D table with one stored scale per row,
picked by rows by standard operators, used nowhere else and neither fed nor read by a
caller, is rewritten, in a model with its weights inside and no subgraphs; any other model
is loaded as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import structlog
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

log = structlog.get_logger(__name__)

_STRING, _INT64, _INT32 = "string", "int64", "int32"
_FIELDS: dict[str, tuple[tuple[str, int, bool, str], ...]] = {
    # message: (field, number, repeated, type: a scalar's name or another message's)
    "AttributeProto": (("name", 1, False, _STRING), ("i", 3, False, _INT64)),
    "TensorProto": (
        ("dims", 1, True, _INT64),
        ("name", 8, False, _STRING),
        ("data_location", 14, False, _INT32),
    ),
    "ValueInfoProto": (("name", 1, False, _STRING),),
    "NodeProto": (
        ("input", 1, True, _STRING),
        ("output", 2, True, _STRING),
        ("name", 3, False, _STRING),
        ("op_type", 4, False, _STRING),
        ("attribute", 5, True, "AttributeProto"),
        ("domain", 7, False, _STRING),
    ),
    "GraphProto": (
        ("node", 1, True, "NodeProto"),
        ("initializer", 5, True, "TensorProto"),
        ("input", 11, True, "ValueInfoProto"),
        ("output", 12, True, "ValueInfoProto"),
    ),
    "ModelProto": (("graph", 7, False, "GraphProto"),),
}
_SCALARS = {_STRING: 9, _INT64: 3, _INT32: 5}
"""descriptor.proto's numbers for those scalar types (TYPE_STRING, TYPE_INT64, TYPE_INT32)."""
_WITH_SUBGRAPHS = frozenset({"If", "Loop", "Scan"})
_EXTERNAL = 1
"""TensorProto.data_location of weights kept in a file beside the model."""


@functools.cache
def _messages() -> dict[str, Any]:
    """Message classes for the few ONNX fields the rewrite reads (see the module's note)."""
    file = descriptor_pb2.FileDescriptorProto(name="trellis_onnx_subset.proto", package="onnx")
    field_type = descriptor_pb2.FieldDescriptorProto
    for name, fields in _FIELDS.items():
        message = file.message_type.add(name=name)
        for field, number, repeated, kind in fields:
            scalar = _SCALARS.get(kind)
            message.field.add(
                name=field,
                number=number,
                label=field_type.LABEL_REPEATED if repeated else field_type.LABEL_OPTIONAL,
                type=scalar or field_type.TYPE_MESSAGE,
                type_name=None if scalar else f".onnx.{kind}",
            )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"onnx.{name}"))
        for name in _FIELDS
    }


@dataclass(frozen=True)
class _Widening:
    """Where a table is widened whole: the positions of its three nodes in the graph's
    node list, and the names of the stored table and of its scales."""

    cast: int
    scale: int
    gather: int
    table: str
    scales: str


def _find(nodes: Any, stored: dict[str, list[int]], kept: set[str]) -> _Widening | None:
    """The Cast -> Mul -> Gather that widens a stored table, scaled row by row, before
    picking rows from it, if any. `stored`: the shape of each stored tensor, by name;
    `kept`: names the rewrite must leave as they are (the graph's inputs and outputs)."""
    made_by = {output: i for i, node in enumerate(nodes) for output in node.output}
    for gather, node in enumerate(nodes):
        if not _standard(node, "Gather") or len(node.input) != 2 or not _on_rows(node):
            continue
        scale = made_by.get(node.input[0])
        if scale is None or not _standard(nodes[scale], "Mul") or len(nodes[scale].input) != 2:
            continue
        cast = made_by.get(nodes[scale].input[0])
        if cast is None or not _standard(nodes[cast], "Cast") or len(nodes[cast].input) != 1:
            continue
        table, scales = nodes[cast].input[0], nodes[scale].input[1]
        shape = stored.get(table)
        if shape is None or len(shape) != 2 or stored.get(scales) != [shape[0], 1]:
            continue  # not a stored table with one scale per row
        wide = (nodes[cast].output[0], nodes[scale].output[0])
        if {table, scales, *wide} & kept:
            continue  # a caller may feed them, or read them
        if sum(name in wide for other in nodes for name in other.input) != 2:
            continue  # the wide table is used elsewhere too
        return _Widening(cast, scale, gather, table=table, scales=scales)
    return None


def _standard(node: Any, op_type: str) -> bool:
    return bool(node.op_type == op_type and node.domain in ("", "ai.onnx"))


def _on_rows(gather: Any) -> bool:
    """Whether a Gather picks rows (axis 0, the default)."""
    return all(a.name != "axis" or a.i == 0 for a in gather.attribute)


def narrow_word_table(model: bytes) -> bytes | None:
    """The model with each table it widens whole picked from first, then widened (the
    word table, and likewise the small position table); None when it has no such table,
    or keeps its weights in another file, or has subgraphs (it is then used as it is)."""
    classes = _messages()
    parsed = classes["ModelProto"]()
    parsed.ParseFromString(model)
    graph = parsed.graph
    if any(t.data_location == _EXTERNAL for t in graph.initializer) or any(
        node.op_type in _WITH_SUBGRAPHS for node in graph.node
    ):
        return None
    nodes = list(graph.node)
    stored = {tensor.name: list(tensor.dims) for tensor in graph.initializer}
    kept = {value.name for value in (*graph.input, *graph.output)}
    names = {name for node in nodes for name in (*node.input, *node.output)} | set(stored)
    changed = False
    while (found := _find(nodes, stored, kept)) is not None:
        nodes = _picked_first(nodes, found, classes["NodeProto"], names)
        changed = True
    if not changed:
        return None
    del graph.node[:]
    graph.node.extend(nodes)
    return bytes(parsed.SerializeToString())


def _unused(name: str, names: set[str]) -> str:
    """`name`, or `name` numbered, so that no tensor of the graph is called so already."""
    chosen, number = name, 1
    while chosen in names:
        number += 1
        chosen = f"{name}_{number}"
    names.add(chosen)
    return chosen


def _picked_first(
    nodes: list[Any], found: _Widening, node_class: Any, names: set[str]
) -> list[Any]:
    """The node list with `found`'s three nodes replaced, where the Gather was, by four
    that pick the rows of the stored table and of its scales first, then widen them."""
    gather, cast, scale = nodes[found.gather], nodes[found.cast], nodes[found.scale]
    ids, result = gather.input[1], gather.output[0]
    rows = _unused(f"{result}/rows_q", names)
    widened = _unused(f"{result}/rows", names)
    row_scales = _unused(f"{result}/row_scales", names)
    pick_scales = node_class(
        input=[found.scales, ids],
        output=[row_scales],
        name=_unused(f"{gather.name or result}/row_scales", names),
        op_type="Gather",
    )
    gather.input[:] = [found.table, ids]
    gather.output[:] = [rows]
    cast.input[:] = [rows]
    cast.output[:] = [widened]
    scale.input[:] = [widened, row_scales]
    scale.output[:] = [result]
    moved = {found.cast, found.scale, found.gather}
    ordered = []
    for i, node in enumerate(nodes):
        if i == found.gather:
            ordered.extend([gather, cast, pick_scales, scale])
        elif i not in moved:
            ordered.append(node)
    return ordered


@contextmanager
def narrowed(model: Path) -> Iterator[Path]:
    """The model file to load: `model` rewritten by `narrow_word_table` into a scratch
    folder that lasts as long as the block, or `model` itself when there is nothing to
    rewrite or the rewrite cannot be made or written. The vectors are the same either way:
    only memory is at stake, so nothing here stops the model loading (the embedder loads
    `model` itself if the rewritten file is refused, too)."""
    try:
        rewritten = narrow_word_table(model.read_bytes())
    except DecodeError:
        rewritten = None  # not a model: onnxruntime says what is wrong, in its own words
    except Exception as exc:  # noqa: BLE001 - any failure leaves the model as shipped
        log.warning("word_table_not_narrowed", model=str(model), reason=repr(exc))
        rewritten = None
    if rewritten is None:
        yield model
        return
    with ExitStack() as scratch:
        try:
            folder = Path(scratch.enter_context(TemporaryDirectory(prefix="trellis-model-")))
            (folder / model.name).write_bytes(rewritten)
        except OSError as exc:
            log.warning("word_table_not_narrowed", model=str(model), reason=repr(exc))
            folder = None
        del rewritten  # 23 MB the loading model need not share the process with
        yield model if folder is None else folder / model.name
