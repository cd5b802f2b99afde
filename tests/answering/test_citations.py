"""Citation checks: a quote is kept only when it is text of an allowed passage."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.answering.citations import cited_after_edit, normalize_quote, still_cited, verify_citations
from app.domain import Citation, Passage

PTO = Passage(
    chunk_id="hr-pto-2025#1",
    doc_id="hr-pto-2025",
    title="Paid Time Off Policy",
    text=(
        "Full-time employees receive **25 days of paid time off (PTO) per year**. PTO accrues\n"
        'at 2.08 days per month. Record the day in PeopleDesk as "Volunteer".'
    ),
    url="https://wiki.example/hr/pto",
)
PTO_OTHER_CHUNK = Passage(
    chunk_id="hr-pto-2025#2",
    doc_id="hr-pto-2025",
    title="Paid Time Off Policy",
    text="Up to 5 unused days carry over into the next year.",
    url="https://wiki.example/hr/pto",
)
SALARIES = Passage(
    chunk_id="hr-salary#1",
    doc_id="hr-salary-bands",
    title="Salary Bands",
    text="Senior Software Engineer: 148,000 to 182,000 USD.",
)


def cite(quote: str, doc_id: str = "hr-pto-2025", chunk_id: str | None = None) -> Citation:
    return Citation(
        doc_id=doc_id,
        title="claimed title",
        quote=quote,
        url="https://evil.example",
        chunk_id=chunk_id,
    )


def test_an_exact_quote_of_an_allowed_passage_is_kept():
    kept, rejected = verify_citations([cite("PTO accrues\nat 2.08 days per month.")], [PTO])
    assert rejected == []
    assert [c.quote for c in kept] == ["PTO accrues\nat 2.08 days per month."]


def test_whitespace_quotes_dashes_and_emphasis_are_normalised():
    quotes = [
        "Full-time   employees receive 25 days of paid time off (PTO) per year.",
        "Full\u2011time employees receive **25 days",
        "Record the day in PeopleDesk as \u201cVolunteer\u201d.",
    ]
    kept, rejected = verify_citations([cite(q) for q in quotes], [PTO])
    assert rejected == []
    assert len(kept) == 3


def test_a_quote_that_is_not_in_the_passage_is_rejected():
    kept, rejected = verify_citations([cite("Full-time employees receive 30 days of PTO.")], [PTO])
    assert kept == []
    assert len(rejected) == 1


def test_a_quote_of_a_document_that_is_not_allowed_is_rejected():
    claim = cite("148,000 to 182,000 USD", doc_id="hr-salary-bands")
    kept, rejected = verify_citations([claim], [PTO])
    assert kept == [] and rejected == [claim]


def test_a_quote_attributed_to_the_wrong_document_is_rejected():
    claim = cite("148,000 to 182,000 USD", doc_id="hr-pto-2025")
    kept, rejected = verify_citations([claim], [PTO, SALARIES])
    assert kept == [] and rejected == [claim]


def test_a_named_chunk_must_contain_the_quote():
    in_other_chunk = cite("Up to 5 unused days carry over", chunk_id="hr-pto-2025#1")
    any_chunk = cite("Up to 5 unused days carry over")
    kept, rejected = verify_citations([in_other_chunk, any_chunk], [PTO, PTO_OTHER_CHUNK])
    assert rejected == [in_other_chunk]
    assert [c.chunk_id for c in kept] == ["hr-pto-2025#2"]


def test_kept_citations_take_title_and_url_from_the_passage_not_the_claim():
    kept, _ = verify_citations([cite("2.08 days per month")], [PTO])
    assert kept[0].title == "Paid Time Off Policy"
    assert kept[0].url == "https://wiki.example/hr/pto"
    assert kept[0].chunk_id == "hr-pto-2025#1"


def test_empty_and_punctuation_only_quotes_are_rejected():
    kept, rejected = verify_citations([cite(""), cite("  "), cite("**.")], [PTO])
    assert kept == [] and len(rejected) == 3


def test_duplicate_citations_are_kept_once():
    kept, rejected = verify_citations([cite("2.08 days"), cite("2.08  days")], [PTO])
    assert len(kept) == 1 and rejected == []


@given(st.data())
def test_any_substring_of_an_allowed_passage_is_kept(data):
    start = data.draw(st.integers(0, len(PTO.text) - 1))
    end = data.draw(st.integers(start + 1, len(PTO.text)))
    quote = PTO.text[start:end]
    kept, rejected = verify_citations([cite(quote)], [PTO])
    if any(ch.isalnum() for ch in normalize_quote(quote)):
        assert len(kept) == 1
    else:
        assert len(rejected) == 1


@given(
    quote=st.text(min_size=1, max_size=80),
    doc_id=st.sampled_from(["hr-salary-bands", "x", "hr-pto-2023"]),
)
def test_nothing_outside_the_allowed_documents_is_ever_kept(quote, doc_id):
    kept, _ = verify_citations([cite(quote, doc_id=doc_id)], [PTO, PTO_OTHER_CHUNK])
    assert kept == []


def test_an_edited_text_keeps_the_sources_it_still_marks_numbered_again():
    text, kept = still_cited("Refunds take 5 days [3]. Tags stay on [1].", ["a", "b", "c"])
    assert kept == ["a", "c"]
    assert text == "Refunds take 5 days [2]. Tags stay on [1]."


def test_a_marker_that_names_no_source_is_left_as_written():
    text, kept = still_cited("See [2] and [7].", ["a", "b"])
    assert (text, kept) == ("See [1] and [7].", ["b"])


def test_an_edit_that_takes_out_every_marker_cites_nothing():
    assert cited_after_edit("Ten days [1] [2].", ["a", "b"], "Ten days.") == ("Ten days.", [])


def test_a_text_that_never_marked_its_sources_keeps_them_through_an_edit():
    # A curated answer rests on its sources as a whole, without markers.
    assert cited_after_edit("Ten days.", ["a"], "Twelve days.") == ("Twelve days.", ["a"])
