"""Corpus statistics, gathered by search, count only what the audience may see, on SQLite
and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.corpus import RetrievedPassages, corpus_of
from app.domain import AccessScope, Person
from app.knowledge.ingest import ingest
from app.knowledge.search import RetrievalMode, search
from app.text.words import stem

OPS = Person(email="tom@port.example", name="Tom", groups=frozenset({"ops"}))
HR = Person(email="wei@port.example", name="Wei", groups=frozenset({"hr"}))

FILES = {
    "_access.yml": "default: [everyone]\n",
    "berths.md": "# Berths\n\nVessels must request a berth at least 72 hours before arrival.\n",
    "cranes.md": "# Cranes\n\nCrane 4 is out of service for its overhaul. Vessels wait at anchor.\n",
    "visitors.md": "# Visitors\n\nVisitors sign in at Gate 2. Staff are locked out after five failed sign-ins.\n",
    "secret/_access.yml": "default: [hr]\n",
    "secret/merger.md": "# Merger\n\nThe code name of the merger is Lighthouse. Vessels are unaffected.\n",
    "draft.md": "---\nstatus: draft\n---\n# Draft\n\nVessels and Lighthouse plans.\n",
}


def _write(root: Path) -> Path:
    knowledge = root / "knowledge"
    for name, text in FILES.items():
        path = knowledge / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return knowledge


async def _statistics(database, tmp_path, person: Person, question: str):
    await ingest(database, _write(tmp_path), workspace_root=tmp_path)
    return await search(database, query=question, scope=AccessScope.for_person(person))


async def test_document_frequencies_count_only_documents_the_audience_may_see(database, tmp_path):
    question = "Is Lighthouse the code name for the vessels merger?"
    ops = await _statistics(database, tmp_path, OPS, question)
    assert isinstance(ops, RetrievedPassages)
    assert ops.corpus.documents == 3  # not the hidden merger note, not the draft
    assert ops.corpus.frequencies[stem("vessels")] == 2
    assert ops.corpus.frequencies[stem("lighthouse")] == 0
    assert ops.corpus.frequencies[stem("merger")] == 0
    hr = await search(database, query=question, scope=AccessScope.for_person(HR))
    assert hr.corpus.documents == 4
    assert hr.corpus.frequencies[stem("lighthouse")] == 1


async def test_a_compound_is_counted_as_written_and_by_its_words(database, tmp_path):
    retrieved = await _statistics(
        database, tmp_path, OPS, "Who gets locked out after failed sign-ins?"
    )
    frequencies = retrieved.corpus.frequencies
    assert frequencies[stem("lockedout")] == 1
    assert frequencies[stem("locked")] == 1
    assert frequencies[stem("signin")] == 1


async def test_words_no_document_uses_are_counted_as_absent(database, tmp_path):
    await ingest(database, _write(tmp_path), workspace_root=tmp_path)
    retrieved = await search(
        database,
        query="cafeteria menu",
        scope=AccessScope.for_person(OPS),
        mode=RetrievalMode.KEYWORD,
    )
    assert list(retrieved) == []
    assert corpus_of(retrieved).frequencies == {"cafeteria": 0, "menu": 0}


async def test_the_confidence_does_not_depend_on_what_a_hidden_document_says(database, tmp_path):
    # "Lighthouse" is in a note Tom may not see: to Tom it is as unknown as a made-up word.
    await ingest(database, _write(tmp_path), workspace_root=tmp_path)
    scope = AccessScope.for_person(OPS)
    answers = []
    for name in ("Lighthouse", "Seagull"):
        question = f"Is {name} the code name of the plan for vessels?"
        passages = await search(database, query=question, scope=scope)
        answers.append(await ExtractiveAnswerer().answer(question=question, passages=passages))
    assert answers[0].confidence == answers[1].confidence
