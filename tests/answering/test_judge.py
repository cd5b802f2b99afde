"""The judge: a cross-encoder reads the question and the quotes together (the real model)."""

from __future__ import annotations

import math

import pytest
import structlog.testing

from app.answering import gate, judge
from app.answering.citations import without_markers
from app.answering.gate import GateInputs
from app.answering.judge import AnswerJudge, shared_judge
from app.domain import ModelAnswer, Turn

QUESTION = "How many days of paid sick leave do employees get?"
STATES_IT = "Employees receive 10 paid sick days per calendar year."
SAME_TOPIC = "Sick leave requests are submitted in the HR portal before 9am."
UNRELATED = "The cafeteria opens at 8 o'clock."


@pytest.fixture(scope="module")
def model() -> AnswerJudge:
    return AnswerJudge()


def test_a_quote_that_states_the_answer_outranks_one_that_only_shares_its_topic(model):
    states, topic, unrelated = (
        model.score(QUESTION, q) for q in (STATES_IT, SAME_TOPIC, UNRELATED)
    )
    assert states is not None and topic is not None and unrelated is not None
    assert states > 0 > topic > unrelated
    assert states - topic > 5


def test_the_same_question_and_quote_always_get_the_same_score(model):
    first = model.score(QUESTION, STATES_IT)
    assert AnswerJudge(cache_size=0).score(QUESTION, STATES_IT) == first


def test_nothing_to_read_gets_no_score(model):
    assert model.score(QUESTION, "  ") is None
    assert model.score("", STATES_IT) is None


def test_citation_markers_are_not_read():
    reading = ModelAnswer(
        text="Ten days a year. [1] Ask HR first. [2]", citations=(), confidence=0.5, backend="x"
    )
    judged = gate.judged(QUESTION, _inputs(), reading).judged
    assert without_markers(reading.text) == "Ten days a year. Ask HR first."
    assert judged == shared_judge().score(QUESTION, "Ten days a year. Ask HR first.")


def test_without_its_package_the_judge_says_so_once_and_scores_nothing(monkeypatch):
    monkeypatch.setattr(judge, "PACKAGE", "no_such_package_for_the_judge")
    missing = AnswerJudge()
    with structlog.testing.capture_logs() as logged:
        assert missing.score(QUESTION, STATES_IT) is None
        assert missing.score(QUESTION, SAME_TOPIC) is None
    assert not missing.available
    warnings = [e for e in logged if e["event"] == "answer_judge_unavailable"]
    assert len(warnings) == 1 and "no_such_package_for_the_judge" in warnings[0]["reason"]


def test_other_weights_than_the_measured_ones_are_not_used(monkeypatch):
    monkeypatch.setattr(judge, "MODEL_SHA256", "0" * 64)
    assert AnswerJudge().score(QUESTION, STATES_IT) is None


def _inputs(judged=None, vectors=True) -> GateInputs:
    return GateInputs(
        similarity=0.55, standing=3.0, coverage=0.5, has_vectors=vectors, judged=judged
    )


def test_the_gate_weighs_the_judge_when_it_read_the_quotes():
    assert gate.confidence(_inputs(judged=6.0)) > gate.confidence(_inputs(judged=-6.0))
    w0, w1, w2, w3 = gate.JUDGED_WEIGHTS
    z = w0 + w1 * 0.55 + w2 * 0.5 + w3 * 6.0
    assert gate.confidence(_inputs(judged=6.0)) == pytest.approx(1 / (1 + math.exp(-z)))


def test_without_the_judge_the_gate_decides_on_meaning_and_words():
    w0, w1, w2 = gate.WEIGHTS
    z = w0 + w1 * 0.55 + w2 * 0.5
    assert gate.confidence(_inputs()) == pytest.approx(1 / (1 + math.exp(-z)))
    # Weights given for one reading (the drafter's) are used as given, judged or not.
    assert gate.confidence(_inputs(judged=6.0), gate.DOCUMENT_WEIGHTS) == gate.confidence(
        _inputs(), gate.DOCUMENT_WEIGHTS
    )


def test_the_judge_reads_only_with_vectors_and_something_quoted():
    reading = ModelAnswer(text=f"{STATES_IT} [1]", citations=(), confidence=0.5, backend="x")
    assert gate.judged(QUESTION, _inputs(vectors=False), reading).judged is None
    nothing = GateInputs(similarity=0.5, standing=0.0, coverage=0.0, has_vectors=True)
    assert gate.judged(QUESTION, nothing, reading).judged is None
    read = gate.judged(QUESTION, _inputs(), reading).judged
    assert read is not None and read > 5


def test_a_follow_up_is_judged_after_the_thread_s_last_question():
    # "them" are the carried-over PTO days only the thread names.
    reading = ModelAnswer(
        text="Up to 5 unused PTO days carry over and must be used by March 31. [1]",
        citations=(),
        confidence=0.5,
        backend="x",
    )
    follow_up = "By when do I have to take them?"
    earlier = (Turn("How many unused PTO days carry over into next year?", ""),)
    alone = gate.judged(follow_up, _inputs(), reading).judged
    in_thread = gate.judged(follow_up, _inputs(), reading, history=earlier).judged
    assert alone is not None and in_thread is not None
    assert in_thread > 0 > alone
