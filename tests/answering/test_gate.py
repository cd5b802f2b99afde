"""The "I don't know" gate: a probability from meaning and words, applied before any model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answering import gate
from app.answering.gate import GateInputs, confidence
from app.domain import ModelAnswer, Passage


def _inputs(similarity=0.6, coverage=0.6, vectors=True, unanswered=0) -> GateInputs:
    return GateInputs(
        similarity=similarity,
        standing=3.0,
        coverage=coverage,
        has_vectors=vectors,
        unanswered_parts=unanswered,
    )


def test_confidence_grows_with_meaning_and_with_words():
    assert confidence(_inputs(similarity=0.7)) > confidence(_inputs(similarity=0.5))
    assert confidence(_inputs(coverage=0.8)) > confidence(_inputs(coverage=0.3))
    assert 0.0 < confidence(_inputs()) < 1.0


def test_nothing_to_quote_means_no_confidence():
    assert confidence(_inputs(coverage=0.0, similarity=0.9)) == 0.0


def test_without_vectors_the_words_alone_decide():
    assert confidence(_inputs(similarity=0.9, vectors=False)) == confidence(
        _inputs(similarity=0.1, vectors=False)
    )


def test_each_part_nothing_supports_lowers_the_confidence():
    assert confidence(_inputs(unanswered=1)) < confidence(_inputs())


def test_the_default_threshold_answers_when_right_is_likelier_than_not():
    from app.config.workspace import AnswersConfig

    assert AnswersConfig().min_confidence == 0.5


class _CountingAnswerer:
    """An answerer at the pipeline's seam that counts the times it is asked."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    async def answer(self, *, question, passages, history=(), instructions=None, model=None):
        self.calls += 1
        first: Passage = passages[0]
        from app.domain import Citation

        return ModelAnswer(
            text=first.text,
            citations=(
                Citation(
                    doc_id=first.doc_id,
                    title=first.title,
                    quote=first.text,
                    chunk_id=first.chunk_id,
                ),
            ),
            confidence=1.0,
            backend=self.name,
        )


@pytest.fixture
def demo_services(tmp_path):
    from app.config.settings import Settings
    from app.config.workspace import default_workspace_path, load_workspace
    from app.db.session import Database
    from app.sandbox.company import SandboxDirectory
    from app.services import build_services

    workspace = load_workspace(default_workspace_path())
    database = Database(f"sqlite+aiosqlite:///{Path(tmp_path) / 'gate.db'}")
    answerer = _CountingAnswerer()
    directory = SandboxDirectory.for_workspace(workspace)
    services = build_services(
        Settings(workspace=workspace.root), workspace, database, slack=directory, answerer=answerer
    )
    return services, database, answerer


async def test_below_the_threshold_no_model_is_asked(demo_services):
    from app.db.migrate import upgrade
    from app.knowledge.ingest import ingest
    from app.pipeline import Question, answer_question
    from app.slack_people import SlackChannel

    services, database, answerer = demo_services
    await upgrade(database)
    await ingest(database, services.workspace.knowledge_dir, workspace_root=services.workspace.root)
    sam = services.workspace.directory.by_email("sam.ortiz@northwind.example")
    dm = SlackChannel(id="D0GATE", name="gate", is_im=True)
    try:
        unanswerable = await answer_question(
            services,
            Question(
                text="What is the airline miles policy for the Antarctic research station?",
                channel=dm,
                person=sam,
            ),
        )
        assert unanswerable.public.status.value == "no_answer"
        assert answerer.calls == 0
        answerable = await answer_question(
            services, Question(text="When is Trail Day in 2026?", channel=dm, person=sam)
        )
        assert answerable.public.status.value == "answered"
        assert answerer.calls == 1
        assert answerable.public.confidence == pytest.approx(
            gate.confidence(
                await _inputs_for(database, services, sam, "When is Trail Day in 2026?")
            ),
            abs=1e-3,
        )
    finally:
        await database.dispose()


async def _inputs_for(database, services, person, question):
    from app.domain import AccessScope
    from app.knowledge.search import search

    passages = await search(
        database,
        query=question,
        scope=AccessScope.for_person(person),
        limit=services.retrieval_limit,
    )
    inputs, reading = gate.read(question, passages)
    return gate.judged(question, inputs, reading)
