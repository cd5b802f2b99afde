"""PowerPoint decks (.pptx) load slide by slide: the title as a heading, the text in
reading order, tables as sentences, the speaker notes; a broken one names the file.

The files are real .pptx packages written by python-pptx, as PowerPoint would save them."""

from __future__ import annotations

import io

import pytest
from pptx import Presentation
from pptx.util import Inches

from app.knowledge.loaders import is_document
from tests.document_helpers import answer_with, load, load_error

TITLE_ONLY, TITLE_AND_CONTENT, BLANK = 5, 1, 6
"""Layouts of python-pptx's default template."""


def _save(deck) -> bytes:
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def sales_kickoff() -> bytes:
    """A deck as people make them: bullets, a text box placed above them, a table, notes,
    a slide without a title, and a hidden slide."""
    deck = Presentation()
    deck.core_properties.title = "Sales kickoff 2026"
    bullets = deck.slides.add_slide(deck.slide_layouts[TITLE_AND_CONTENT])
    bullets.shapes.title.text = "Discount rules"
    body = bullets.placeholders[1].text_frame
    body.text = "Up to 10% the account executive decides."
    body.add_paragraph().text = "Above 10% the sales director approves in Trellis."
    bullets.placeholders[1].top = Inches(3)
    note = bullets.shapes.add_textbox(Inches(1), Inches(1.6), Inches(8), Inches(1))
    note.text_frame.text = "Valid from 1 March."
    bullets.notes_slide.notes_text_frame.text = "Multi-year renewals count as one deal."

    pricing = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    pricing.shapes.title.text = "Plans"
    shape = pricing.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(1.5))
    for row, values in zip(
        shape.table.rows, [("Plan", "Price"), ("Starter", "$19"), ("Team", "$49")], strict=True
    ):
        row.cells[0].text, row.cells[1].text = values

    untitled = deck.slides.add_slide(deck.slide_layouts[BLANK])
    box = untitled.shapes.add_textbox(Inches(1), Inches(1), Inches(8), Inches(1))
    box.text_frame.text = "Questions go to #sales-ops."

    hidden = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    hidden.shapes.title.text = "Draft targets"
    hidden._element.set("show", "0")
    return _save(deck)


def test_a_deck_reads_slide_by_slide(tmp_path):
    doc = load(tmp_path, "sales/kickoff.pptx", sales_kickoff())
    assert doc.format == "pptx"
    assert doc.title == "Sales kickoff 2026"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Discount rules"),
        ("text", "Valid from 1 March."),  # placed above the bullets, so read first
        ("text", "Up to 10% the account executive decides."),
        ("text", "Above 10% the sales director approves in Trellis."),
        ("text", "Multi-year renewals count as one deal."),
        ("heading", "Plans"),
        ("row", "Plan: Starter; Price: $19."),
        ("row", "Plan: Team; Price: $49."),
        ("heading", "Slide 3"),
        ("text", "Questions go to #sales-ops."),
    ]
    assert "Draft targets" not in doc.text
    assert is_document(tmp_path / "knowledge/sales/kickoff.pptx")


def test_without_a_title_in_its_properties_the_first_slide_s_title_is_the_title(tmp_path):
    deck = Presentation()
    deck.slides.add_slide(deck.slide_layouts[BLANK])
    first = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    first.shapes.title.text = "Onboarding week"
    assert load(tmp_path, "onboarding.pptx", _save(deck)).title == "Onboarding week"
    assert load(tmp_path, "empty.pptx", _save(Presentation())).title == "empty"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"not a deck", "is not a readable PowerPoint deck"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "encrypted PowerPoint deck or an old"),
    ],
)
def test_a_broken_or_locked_deck_is_an_error_naming_the_file(tmp_path, raw, problem):
    error = load_error(tmp_path, "sales/deck.pptx", raw)
    assert error.file == "knowledge/sales/deck.pptx"
    assert problem in str(error)


def test_a_deck_in_a_workspace_is_checked_indexed_and_answers(tmp_path):
    """`trellis init`, a deck dropped into the handbook folder, then `check` and `ask`."""
    answer = answer_with(
        tmp_path, "handbook/kickoff.pptx", sales_kickoff(), "Who approves a discount above 10%?"
    )
    assert answer["status"] == "answered", answer
    assert [c["doc_id"] for c in answer["citations"]] == ["handbook/kickoff"]
    assert "sales director approves" in answer["answer"]
