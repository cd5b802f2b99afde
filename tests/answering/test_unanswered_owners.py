"""Whom a question nobody could answer goes to: the owner of a document about it, or the
workspace's fallback when the passages retrieval returned only share a word with it."""

from __future__ import annotations

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.budgets import Route
from app.answering.compose import ABOUT_FLOOR, compose, no_answer_text
from app.answering.corpus import RetrievedPassages
from app.config.directory import Directory
from app.config.workspace import TrellisConfig
from app.domain import AccessScope, AnswerStatus, Passage, Person
from app.knowledge.index import Evidence

CONFIG = TrellisConfig(support="#help", admins=["ops"])
ROUTE = Route(task="answer", answerer=ExtractiveAnswerer(), model=None)
TESS = Person(email="tess@brightline.example", name="Tess Moreau")


def passage(doc_id: str, owner: str, similarity: float) -> Passage:
    return Passage(
        chunk_id=f"{doc_id}#0",
        doc_id=doc_id,
        title="Customer account summaries",
        text="Each support account has a summary: its plan, its renewal date and its contacts.",
        owner=owner,
        similarity=similarity,
        segment_scores=((0, 80, similarity),),
    )


async def unanswered(*passages: Passage, best: float) -> tuple[str, ...]:
    retrieved = RetrievedPassages(passages, evidence=Evidence(best_similarity=best, documents=3))
    reply = await compose(
        CONFIG,
        "What's the salary range for a support engineer?",
        retrieved,
        (),
        AccessScope.for_viewers(()),
        ROUTE,
        None,
    )
    assert reply.status == AnswerStatus.NO_ANSWER
    return reply.owners


async def test_an_unrelated_documents_owner_is_not_told_the_fallback_is():
    owners = await unanswered(passage("accounts", TESS.email, 0.22), best=0.22)
    assert owners == ("#help",)


async def test_the_owner_of_a_document_about_the_question_is_told():
    about = passage("pay", "people-ops", ABOUT_FLOOR + 0.05)
    owners = await unanswered(about, passage("accounts", TESS.email, 0.1), best=about.similarity)
    assert owners == ("people-ops",)


def test_owners_are_named_by_their_names_not_their_emails():
    directory = Directory([TESS])
    said = no_answer_text((TESS.email, "people-ops"), CONFIG, names=directory.name_of)
    assert "The people who own this topic are: Tess Moreau, people-ops." in said
    assert TESS.email not in said
