"""A document summarised on request: the question names it by its title, the answer quotes
the first statement of each of its sections in the document's order, citing it."""

from __future__ import annotations

import pytest

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.backends.summary import summary_asked
from app.answering.citations import quote_in
from app.domain import Passage


def _chunk(doc_id: str, title: str, ordinal: int, text: str) -> Passage:
    return Passage(chunk_id=f"{doc_id}#{ordinal}", doc_id=doc_id, title=title, text=text)


LEAVE = [
    # In the order a search ranks them, not the document's.
    _chunk(
        "hr-leave",
        "Parental Leave",
        2,
        "## Telling us\n\nTell your manager at least 8 weeks before the leave starts. "
        "People Operations confirms the dates in writing.",
    ),
    _chunk(
        "hr-leave",
        "Parental Leave",
        0,
        "# Parental Leave\n\nEvery parent gets 16 weeks at full pay after 6 months with us.",
    ),
    _chunk(
        "hr-leave",
        "Parental Leave",
        1,
        "## Coming back\n\nThe first four weeks back may be worked at 80% of your hours.",
    ),
    _chunk(
        "it-laptops", "Laptop Policy", 0, "Every laptop is encrypted and locked after 5 minutes."
    ),
]


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("What are the main points of Parental Leave?", "Parental Leave"),
        ("Summarise the expense policy", "expense policy"),
        ("Can you summarize our NDA Guidelines?", "NDA Guidelines"),
        ("Give me an overview of the release process.", "release process"),
        ("How many weeks of parental leave do I get?", None),
        ("What is the summary field in the ticket form for?", None),
    ],
)
def test_a_summary_is_asked_for_by_naming_a_document(question, title):
    assert summary_asked(question) == title


async def test_the_named_document_is_summarised_in_its_order_and_cited_once():
    answer = await ExtractiveAnswerer().answer(
        question="Can you summarize the parental leave policy?", passages=LEAVE
    )
    lines = answer.text.splitlines()
    assert lines[0] == "The main points of Parental Leave:"
    assert [line.split(" ")[1] for line in lines[1:]] == ["Every", "The", "Tell"]
    assert all(line.endswith("[1]") for line in lines[1:])
    assert [c.doc_id for c in answer.citations] == ["hr-leave"]
    assert quote_in(answer.citations[0].quote, LEAVE[1].text)
    assert "laptop" not in answer.text.lower()
    assert answer.confidence >= 0.5


async def test_a_summary_of_a_document_the_passages_do_not_hold_is_not_made_up():
    answer = await ExtractiveAnswerer().answer(
        question="Summarise the travel policy", passages=LEAVE
    )
    assert "main points" not in answer.text
