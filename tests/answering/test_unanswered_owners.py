"""Whom a question nobody could answer goes to: the owner of a document about it, or the
workspace's fallback when the passages retrieval returned are only near it."""

from __future__ import annotations

from functools import partial

import pytest

from app.answering import gate
from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import NOTE_ASKER_OWNS
from app.answering.budgets import Route
from app.answering.compose import ABOUT_PROBABILITY, Reply, about_question, alone, compose
from app.answering.corpus import RetrievedPassages
from app.answering.declined import no_answer_text
from app.config.directory import Directory
from app.config.workspace import TrellisConfig
from app.domain import AccessScope, AnswerStatus, Passage, Person
from app.knowledge.index import Evidence

CONFIG = TrellisConfig(support="#help", admins=["ops"])
ROUTE = Route(task="answer", answerer=ExtractiveAnswerer(), model=None)
TESS = Person(email="tess@brightline.example", name="Tess Moreau")


ACCOUNTS = "Each support account has a summary: its plan, its renewal date and its contacts."
PAY = "Salary ranges for each role are reviewed each spring; people operations sets the bands."


def passage(doc_id: str, owner: str, similarity: float, text: str = ACCOUNTS) -> Passage:
    return Passage(
        chunk_id=f"{doc_id}#0",
        doc_id=doc_id,
        title="Customer account summaries" if text == ACCOUNTS else "Pay",
        text=text,
        owner=owner,
        similarity=similarity,
        segment_scores=((0, 80, similarity),),
    )


async def unanswered(*passages: Passage, best: float) -> tuple[str, ...]:
    return (await unanswered_reply(*passages, best=best)).owners


async def unanswered_reply(*passages: Passage, best: float, asker: str | None = None) -> Reply:
    retrieved = RetrievedPassages(passages, evidence=Evidence(best_similarity=best, documents=3))
    reply = await compose(
        CONFIG,
        "What's the salary range for a support engineer?",
        retrieved,
        (),
        AccessScope.for_viewers(()),
        ROUTE,
        None,
        asker=partial(Directory([TESS]).names_only, asker) if asker else None,
    )
    assert reply.status == AnswerStatus.NO_ANSWER
    return reply


async def test_an_unrelated_documents_owner_is_not_told_the_fallback_is():
    owners = await unanswered(passage("accounts", TESS.email, 0.22), best=0.22)
    assert owners == ("#help",)


async def test_the_owner_of_a_document_about_the_question_is_told():
    about = passage("pay", "people-ops", 0.6, PAY)
    owners = await unanswered(about, passage("accounts", TESS.email, 0.1), best=about.similarity)
    assert owners == ("people-ops",)


async def test_a_document_near_the_question_in_meaning_but_not_about_it_is_passed_over():
    near = passage("accounts", TESS.email, 0.45)  # similar, yet its words cover little of it
    owners = await unanswered(near, best=near.similarity)
    assert owners == ("#help",)


async def test_a_question_is_not_passed_on_to_its_own_asker():
    pay = passage("pay", "people-ops", 0.6, PAY)
    also = passage("pay-2", TESS.email, 0.6, PAY.replace("spring", "autumn"))
    shared = await unanswered_reply(pay, also, best=0.6, asker=TESS.email.upper())
    assert shared.owners == ("people-ops",)  # Tess asked: only her co-owner hears of it
    assert NOTE_ASKER_OWNS not in shared.notes

    own = await unanswered_reply(passage("pay", TESS.email, 0.6, PAY), best=0.6, asker=TESS.email)
    assert NOTE_ASKER_OWNS in own.notes  # nobody else to tell: not passed on
    assert "You own this topic's documents, so the question is not passed on" in own.text
    assert "pass your question on" not in own.text


def test_owners_are_named_by_their_names_not_their_emails():
    directory = Directory([TESS])
    said = no_answer_text((TESS.email, "people-ops"), CONFIG, names=directory.name_of)
    assert "The people who own this topic are: Tess Moreau, people-ops." in said
    assert TESS.email not in said


def test_a_document_too_far_in_meaning_is_not_read_for_its_owners(monkeypatch):
    """The gate's ceiling (its confidence at full coverage) bounds what any reading could
    give; below `ABOUT_PROBABILITY` the document is passed over without being read."""
    far = passage("accounts", TESS.email, 0.05, PAY)  # its words would cover the question
    near = passage("pay", "people-ops", 0.6, PAY)
    retrieved = RetrievedPassages((far, near), evidence=Evidence(best_similarity=0.6, documents=3))
    read: list[tuple[str, ...]] = []
    reading = gate.read

    def counted(question, passages, *, history=()):
        read.append(tuple(p.doc_id for p in passages))
        return reading(question, passages, history=history)

    monkeypatch.setattr(gate, "read", counted)
    about = about_question("What's the salary range for a support engineer?", retrieved)
    assert [p.doc_id for p in about] == ["pay"]
    assert read == [("pay",)]
    assert gate.ceiling(alone(retrieved, [far])) < ABOUT_PROBABILITY


@pytest.mark.parametrize("similarity", [0.0, 0.1, 0.3, 0.5, 0.8])
def test_the_ceiling_bounds_the_gate_at_any_coverage(similarity):
    retrieved = RetrievedPassages(
        (passage("pay", "people-ops", similarity, PAY),),
        evidence=Evidence(best_similarity=similarity, documents=3),
    )
    ceiling = gate.ceiling(retrieved)
    for coverage in (0.01, 0.3, 0.7, 1.0):
        inputs = gate.GateInputs(similarity, 0.0, coverage, has_vectors=similarity != 0.0)
        assert gate.confidence(inputs) <= ceiling + 1e-12
    assert gate.ceiling(RetrievedPassages((), evidence=None)) == 1.0
