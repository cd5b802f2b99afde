"""Segment vectors in eight bits: the product ONNX Runtime runs, against float cosines."""

from __future__ import annotations

import numpy as np

from app.knowledge.embeddings import DIMENSIONS
from app.knowledge.vectors import SegmentVectors, quantize


def _units(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, DIMENSIONS)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _filled(rows: np.ndarray) -> SegmentVectors:
    vectors = SegmentVectors(len(rows))
    vectors.put(0, rows[: len(rows) // 2])
    vectors.put(len(rows) // 2, rows[len(rows) // 2 :])
    return vectors


def test_cosines_from_eight_bits_are_within_a_few_thousandths_of_float_ones():
    rows = _units(2000, 1)
    # Questions near some rows as well as unrelated ones: high and low cosines alike.
    questions = np.vstack([rows[:5] + 0.3 * _units(5, 2), _units(5, 3)])
    questions /= np.linalg.norm(questions, axis=1, keepdims=True)
    vectors = _filled(rows)
    for question in questions:
        exact = rows @ question
        approximate = vectors.similarities(question)
        assert approximate.dtype == np.float32 and approximate.shape == exact.shape
        assert np.abs(approximate - exact).max() < 0.005
        assert np.argmax(approximate) == np.argmax(exact)


def test_a_few_segments_get_exactly_the_figures_of_the_whole_product():
    rows = _units(300, 4)
    vectors = _filled(rows)
    question = _units(1, 5)[0]
    everything = vectors.similarities(question)
    assert np.array_equal(vectors.some(range(40, 47), question), everything[40:47])
    assert np.array_equal(vectors.some(np.array([3, 299, 0]), question), everything[[3, 299, 0]])


def test_a_vector_of_zeros_scores_zero_and_an_empty_set_scores_nothing():
    rows = np.vstack([np.zeros(DIMENSIONS, dtype=np.float32), _units(1, 6)[0]])
    vectors = _filled(rows)
    scores = vectors.similarities(rows[1])
    assert scores[0] == 0.0 and abs(scores[1] - 1.0) < 0.005
    assert len(SegmentVectors(0).similarities(rows[1])) == 0


def test_codes_use_the_whole_signed_byte_and_round_trip_the_largest_component():
    codes, scales = quantize(np.array([[0.5, -0.25, 0.0] + [0.0] * (DIMENSIONS - 3)]))
    assert codes.dtype == np.int8 and codes[0, 0] == 127 and codes[0, 1] in (-63, -64)
    assert abs(codes[0, 0] * scales[0] - 0.5) < 1e-6


def test_the_product_onnx_runtime_runs_is_exact_on_every_cpu():
    # Questions near stored vectors have the largest codes where those vectors do: on a CPU
    # with AVX2 but not VNNI, ONNX Runtime's uint8 x int8 kernel saturated 16-bit sums of
    # such products and moved cosines by up to ~0.05.
    rows = _units(2000, 6)
    vectors = _filled(rows)
    near = rows[:20] + 0.2 * _units(20, 7)
    for question in near / np.linalg.norm(near, axis=1, keepdims=True):
        assert np.array_equal(vectors.similarities(question), vectors.some(range(2000), question))
