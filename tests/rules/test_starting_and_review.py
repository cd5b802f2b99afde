"""Who may start a workflow, and which answers are held for review."""

from __future__ import annotations

import pytest

from app.domain import Passage
from app.errors import RuleViolation
from app.rules.facts import DraftFacts
from app.rules.loading import load_rules
from app.rules.rulebook import RuleBook
from app.slack_people import SlackChannel
from tests.rules.helpers import RULES_YML, person, write


def test_who_may_start_a_workflow(book, directory):
    assert book.may_start("discount_request", person(directory, "ae"))
    assert not book.may_start("discount_request", person(directory, "fin"))
    assert book.may_start("open_door", person(directory, "fin"))
    assert not book.may_start("no_such_thing", person(directory, "ae"))
    assert book.startable_by(person(directory, "fin")) == ["open_door"]
    with pytest.raises(RuleViolation, match="There is no workflow called “nope”"):
        book.workflow("nope")


def test_answers_in_a_shared_channel_need_review(book, directory):
    ae = person(directory, "ae")
    shared = SlackChannel(id="C1", name="partners", is_shared=True)
    assert book.answer_needs_review(requester=ae, channel=shared, draft=DraftFacts())
    internal = SlackChannel(id="C2", name="sales")
    assert not book.answer_needs_review(requester=ae, channel=internal, draft=DraftFacts())


def test_answers_citing_a_document_tagged_review_need_review(book, directory):
    passages = [
        Passage("c1", "legal-msa", "MSA", "text", tags=("legal", "review")),
        Passage("c2", "hr-pto", "PTO", "text"),
    ]
    draft = DraftFacts.from_passages(
        text="…", confidence=0.9, cited=["legal-msa"], passages=passages
    )
    assert draft.citations[0].tags == ("legal", "review")
    assert book.answer_needs_review(requester=person(directory, "ae"), channel=None, draft=draft)
    plain = DraftFacts.from_passages(text="…", confidence=0.9, cited=["hr-pto"], passages=passages)
    assert not book.answer_needs_review(requester=person(directory, "ae"), draft=plain)


def test_a_review_condition_that_fails_sends_the_answer_to_review(tmp_path, directory):
    rules = RULES_YML.replace(
        "\"channel.is_shared || 'review' in draft.tags\"", "\"draft.citations[0].title == 'x'\""
    )
    book = RuleBook(load_rules(write(tmp_path, rules)), directory)
    assert book.answer_needs_review(requester=person(directory, "ae"), draft=DraftFacts())


def test_conditions_see_the_requester_and_the_draft(tmp_path, directory):
    rules = RULES_YML.replace(
        "\"channel.is_shared || 'review' in draft.tags\"",
        "\"requester.region == 'EMEA' && 'sales' in requester.groups && draft.confidence < 0.5\"",
    )
    book = RuleBook(load_rules(write(tmp_path, rules)), directory)
    ae, fin = person(directory, "ae"), person(directory, "fin")
    assert book.answer_needs_review(requester=ae, draft={"confidence": 0.2})
    assert not book.answer_needs_review(requester=ae, draft={"confidence": 0.9})
    assert not book.answer_needs_review(requester=fin, draft={"confidence": 0.2})
