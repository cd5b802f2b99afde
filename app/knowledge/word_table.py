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
picked by rows and used nowhere else, is rewritten; a model without one is loaded as it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

_STRING, _INT64 = "string", "int64"
_FIELDS: dict[str, tuple[tuple[str, int, bool, str], ...]] = {
    # message: (field, number, repeated, type: a scalar's name or another message's)
    "AttributeProto": (("name", 1, False, _STRING), ("i", 3, False, _INT64)),
    "TensorProto": (("dims", 1, True, _INT64), ("name", 8, False, _STRING)),
    "NodeProto": (
        ("input", 1, True, _STRING),
        ("output", 2, True, _STRING),
        ("name", 3, False, _STRING),
        ("op_type", 4, False, _STRING),
        ("attribute", 5, True, "AttributeProto"),
    ),
    "GraphProto": (("node", 1, True, "NodeProto"), ("initializer", 5, True, "TensorProto")),
    "ModelProto": (("graph", 7, False, "GraphProto"),),
}


@functools.cache
def _messages() -> dict[str, Any]:
    """Message classes for the few ONNX fields the rewrite reads (see the module's note)."""
    file = descriptor_pb2.FileDescriptorProto(name="trellis_onnx_subset.proto", package="onnx")
    field_type = descriptor_pb2.FieldDescriptorProto
    for name, fields in _FIELDS.items():
        message = file.message_type.add(name=name)
        for field, number, repeated, kind in fields:
            scalar = {_STRING: field_type.TYPE_STRING, _INT64: field_type.TYPE_INT64}.get(kind)
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
    cast: int
    scale: int
    gather: int
    table: str
    scales: str


def _find(nodes: Any, stored: dict[str, list[int]]) -> _Widening | None:
    """The Cast -> Mul -> Gather that widens a stored table, scaled row by row, before
    picking rows from it, if any. `stored`: the shape of each stored tensor, by name."""
    made_by = {output: i for i, node in enumerate(nodes) for output in node.output}
    for gather, node in enumerate(nodes):
        if node.op_type != "Gather" or len(node.input) != 2 or not _on_rows(node):
            continue
        scale = made_by.get(node.input[0])
        if scale is None or nodes[scale].op_type != "Mul" or len(nodes[scale].input) != 2:
            continue
        cast = made_by.get(nodes[scale].input[0])
        if cast is None or nodes[cast].op_type != "Cast" or len(nodes[cast].input) != 1:
            continue
        table, scales = nodes[cast].input[0], nodes[scale].input[1]
        shape = stored.get(table)
        if shape is None or len(shape) != 2 or stored.get(scales) != [shape[0], 1]:
            continue  # not a stored table with one scale per row
        users = sum(
            name in (nodes[cast].output[0], nodes[scale].output[0])
            for other in nodes
            for name in other.input
        )
        if users != 2:
            continue  # the wide table is used elsewhere too
        return _Widening(cast, scale, gather, table=table, scales=scales)
    return None


def _on_rows(gather: Any) -> bool:
    """Whether a Gather picks rows (axis 0, the default)."""
    return all(a.name != "axis" or a.i == 0 for a in gather.attribute)


def narrow_word_table(model: bytes) -> bytes | None:
    """The model with each table it widens whole picked from first, then widened (the
    word table, and likewise the small position table); None when it has no such table
    (it is then used as it is)."""
    classes = _messages()
    parsed = classes["ModelProto"]()
    parsed.ParseFromString(model)
    nodes = list(parsed.graph.node)
    stored = {tensor.name: list(tensor.dims) for tensor in parsed.graph.initializer}
    changed = False
    while (found := _find(nodes, stored)) is not None:
        nodes = _picked_first(nodes, found, classes["NodeProto"])
        changed = True
    if not changed:
        return None
    del parsed.graph.node[:]
    parsed.graph.node.extend(nodes)
    return bytes(parsed.SerializeToString())


def _picked_first(nodes: list[Any], found: _Widening, node_class: Any) -> list[Any]:
    gather, cast, scale = nodes[found.gather], nodes[found.cast], nodes[found.scale]
    ids, result = gather.input[1], gather.output[0]
    rows, widened = f"{result}/rows_q", f"{result}/rows"
    pick_scales = node_class(
        input=[found.scales, ids],
        output=[f"{result}/row_scales"],
        name=f"{gather.name or result}/row_scales",
        op_type="Gather",
    )
    gather.input[:] = [found.table, ids]
    gather.output[:] = [rows]
    cast.input[:] = [rows]
    cast.output[:] = [widened]
    scale.input[:] = [widened, pick_scales.output[0]]
    scale.output[:] = [result]
    moved = {found.cast, found.scale, found.gather}
    ordered = []
    for i, node in enumerate(nodes):
        if i == found.gather:
            ordered.extend([gather, cast, pick_scales, scale])
        elif i not in moved:
            ordered.append(node)
    return ordered


def narrowed_model_file(model: Path, folder: Path) -> Path:
    """`model` rewritten by `narrow_word_table` into `folder`, or `model` itself when
    there is nothing to rewrite."""
    try:
        narrowed = narrow_word_table(model.read_bytes())
    except DecodeError:
        return model  # onnxruntime says what is wrong with it, in its own words
    if narrowed is None:
        return model
    target = folder / model.name
    target.write_bytes(narrowed)
    return target
