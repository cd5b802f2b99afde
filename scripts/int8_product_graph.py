"""Writes app/knowledge/int8_product.onnx, the graph `app.knowledge.vectors` runs.

    pip install onnx && python3 scripts/int8_product_graph.py

One node: `MatMulInteger` of the segment codes (uint8, N x 384, zero point 128) with the
question's codes (int8, 384 x 1), giving int32 dot products. ONNX Runtime has fast kernels
for uint8 x int8; numpy has no integer matrix product of its own. `onnx` is needed only to
write the file, not to run Trellis.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

DIMENSIONS = 384
TARGET = Path(__file__).resolve().parent.parent / "app" / "knowledge" / "int8_product.onnx"


def main() -> None:
    node = helper.make_node("MatMulInteger", ["segments", "question", "zero"], ["products"])
    graph = helper.make_graph(
        [node],
        "int8_product",
        [
            helper.make_tensor_value_info("segments", TensorProto.UINT8, ["n", DIMENSIONS]),
            helper.make_tensor_value_info("question", TensorProto.INT8, [DIMENSIONS, 1]),
        ],
        [helper.make_tensor_value_info("products", TensorProto.INT32, ["n", 1])],
        initializer=[helper.make_tensor("zero", TensorProto.UINT8, [], [128])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    TARGET.write_bytes(model.SerializeToString())
    print(f"wrote {TARGET.name} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
