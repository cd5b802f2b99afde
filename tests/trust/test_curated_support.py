"""A curated answer says only what its sources say (app/trust/support.py)."""

from __future__ import annotations

import pytest

from app.domain import Citation, Passage
from app.errors import RuleViolation
from app.trust.support import still_supported, supporting_citations

MACROS = Passage(
    chunk_id="support-macros#3",
    doc_id="support-macros",
    title="Support Macros",
    text=(
        "Your refund goes back to your original payment method within 5 to 7 business days "
        "after the warehouse receives it.\n\nPrepaid labels are free for defective items; for "
        "other returns the USD 8.95 label fee is deducted from the refund."
    ),
    url="https://wiki.example/support/macros",
)
HOLIDAYS = Passage(
    chunk_id="holidays#0",
    doc_id="holidays",
    title="Company Holidays",
    text="The office is closed on New Year's Day and on Trail Day, the first Friday of June.",
)


def test_a_reworded_correction_is_accepted_and_quotes_the_exact_source_sentence():
    citations = supporting_citations(
        "Return labels cost nothing for defective items. Other returns have the USD 8.95 "
        "label fee deducted from the refund.",
        ["support-macros"],
        [MACROS],
    )
    assert [c.doc_id for c in citations] == ["support-macros"]
    assert citations[0].quote in MACROS.text and "8.95" in citations[0].quote
    assert citations[0].title == "Support Macros" and citations[0].url == MACROS.url


def test_a_figure_the_sources_do_not_state_is_refused_and_named():
    with pytest.raises(RuleViolation, match="Not in the chosen sources: “9.95”"):
        supporting_citations(
            "For other returns the USD 9.95 label fee is deducted from the refund.",
            ["support-macros"],
            [MACROS],
        )


def test_a_claim_the_sources_do_not_make_is_refused_with_its_words():
    with pytest.raises(RuleViolation) as refused:
        supporting_citations(
            "Prepaid labels are free for defective items. Trail Club members never pay "
            "shipping on exchanges either.",
            ["support-macros"],
            [MACROS],
        )
    message = str(refused.value)
    assert "Trail Club members never pay" in message and "exchanges" in message
    assert "Prepaid labels are free" not in message  # the supported sentence is not blamed


def test_a_source_that_says_none_of_it_is_refused():
    with pytest.raises(RuleViolation, match="Company Holidays.*doesn't say any of"):
        supporting_citations(
            "Prepaid labels are free for defective items.",
            ["support-macros", "holidays"],
            [MACROS, HOLIDAYS],
        )


def test_restricted_text_cited_to_a_public_document_is_refused():
    with pytest.raises(RuleViolation, match="Not in the chosen sources"):
        supporting_citations(
            "Prepaid labels are free for defective items; for other returns the USD 8.95 "
            "label fee is deducted from the refund.",
            ["holidays"],
            [HOLIDAYS],
        )


def test_a_quote_must_still_be_in_its_document_to_be_used():
    kept = Citation(doc_id="support-macros", title="Support Macros", quote="USD 8.95 label fee")
    assert still_supported([kept], [MACROS])
    assert not still_supported([Citation(doc_id="support-macros", title="x", quote="")], [MACROS])
    gone = Citation(doc_id="support-macros", title="x", quote="USD 7.95 label fee")
    assert not still_supported([gone], [MACROS])
    assert not still_supported([kept], [HOLIDAYS])  # only its own document counts
    assert not still_supported([], [MACROS])
