"""The search index's segment vectors, kept in eight bits.

Each unit vector (stored as float16 in the database) is held as 384 bytes and one scale,
its largest component over 127: a quarter of the memory float32 takes, which at 10,000
documents is the difference between ~250 MB and ~60 MB. A question is scaled the same way
(to +-63, see `QUESTION_LEVELS`) and its cosine with every segment is one integer matrix
product, run by ONNX Runtime
(`int8_product.onnx`, written by scripts/int8_product_graph.py: numpy has no integer
matrix product of its own), times the two scales. Rounding moves a cosine by at most a
few thousandths (tests/knowledge/test_vectors.py); the product reads a quarter of the
bytes, so it is also faster than float32 (bench/RESULTS.md).

The product of a few chosen segments (a passage's sentences) uses the same integers in
numpy, so every similarity of a segment is the same number wherever it is computed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.knowledge.embeddings import DIMENSIONS

if TYPE_CHECKING:
    import onnxruntime

GRAPH_FILE = Path(__file__).with_name("int8_product.onnx")
ZERO = 128
"""The codes are stored unsigned, shifted by this (ONNX Runtime's fast kernels take
uint8 x int8); the graph subtracts it again."""


QUESTION_LEVELS = 63
"""A question's codes stay within +-63. ONNX Runtime's uint8 x int8 kernel on CPUs with
AVX2 but not VNNI adds products in pairs in 16 bits, which saturate above 32,767: codes
up to 255 x 127 would make some cosines wrong by up to ~0.05 (seen on such a CPU);
2 x 255 x 63 = 32,130 always fits, so the product is exact on every CPU."""


def quantize(vectors: np.ndarray, levels: int = 127) -> tuple[np.ndarray, np.ndarray]:
    """Signed codes (int8, rounded, within +-`levels`) and one scale per row,
    `codes * scale ~ vectors`."""
    rows = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    largest = np.abs(rows).max(axis=1) if rows.size else np.zeros(len(rows), np.float32)
    scales = np.where(largest > 0, largest / float(levels), 1.0).astype(np.float32)
    codes = np.rint(rows / scales[:, None]).astype(np.int8)
    return codes, scales


class SegmentVectors:
    """`count` vectors, filled with `put`, compared with a question by `similarities`."""

    def __init__(self, count: int) -> None:
        self.codes = np.empty((count, DIMENSIONS), dtype=np.uint8)
        self.scales = np.empty(count, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.scales)

    def grown(self, count: int) -> SegmentVectors:
        """Room for at least `count` vectors (twice as many as now, if that is more), with
        the ones held so far."""
        bigger = SegmentVectors(max(count, 2 * len(self)))
        bigger.codes[: len(self)] = self.codes
        bigger.scales[: len(self)] = self.scales
        return bigger

    def first(self, count: int) -> SegmentVectors:
        """The first `count` vectors alone (the same object when that is all of them)."""
        if count == len(self):
            return self
        fewer = SegmentVectors(count)
        fewer.codes[:] = self.codes[:count]
        fewer.scales[:] = self.scales[:count]
        return fewer

    def put(self, at: int, vectors: np.ndarray) -> None:
        codes, scales = quantize(vectors)
        self.codes[at : at + len(codes)] = codes.view(np.uint8) ^ np.uint8(ZERO)
        self.scales[at : at + len(codes)] = scales

    def similarities(self, question: np.ndarray) -> np.ndarray:
        """The question's cosine with every vector (float32)."""
        if not len(self):
            return np.zeros(0, dtype=np.float32)
        codes, scale = quantize(question, QUESTION_LEVELS)
        products = _session().run(None, {"segments": self.codes, "question": codes.reshape(-1, 1)})
        result: np.ndarray = products[0][:, 0].astype(np.float32) * (self.scales * scale[0])
        return result

    def some(self, numbers: range | np.ndarray, question: np.ndarray) -> np.ndarray:
        """The question's cosine with the vectors `numbers` only: the same figures as
        `similarities` gives them."""
        codes, scale = quantize(question, QUESTION_LEVELS)
        chosen = self.codes[numbers].astype(np.int32) - ZERO
        products = (chosen @ codes[0].astype(np.int32)).astype(np.float32)
        result: np.ndarray = products * (self.scales[numbers] * scale[0])
        return result


_session_lock = threading.Lock()
_loaded: onnxruntime.InferenceSession | None = None


def _session() -> onnxruntime.InferenceSession:
    global _loaded
    with _session_lock:
        if _loaded is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 2
            options.inter_op_num_threads = 1
            # Between questions the pool's threads sleep rather than spin on the cores the
            # rest of the process needs.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.enable_cpu_mem_arena = False
            _loaded = onnxruntime.InferenceSession(
                str(GRAPH_FILE), options, providers=["CPUExecutionProvider"]
            )
        return _loaded
