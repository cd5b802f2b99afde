"""Word documents (.docx) load into headings, paragraphs and table rows, are indexed like
any other format, and a broken one names the file.

The files are real .docx packages written by python-docx, as Word would save them."""

from __future__ import annotations

import io

import pytest
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from app.knowledge.loaders import is_document
from tests.document_helpers import answer_with, load, load_error


def _save(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def travel_policy() -> bytes:
    """A policy as people write it in Word: a title, headings, a list and a table whose
    first row is bold."""
    document = Document()
    document.core_properties.title = "Travel Policy 2026"
    document.add_paragraph("Travel Policy", style="Title")
    document.add_heading("Booking", level=1)
    document.add_paragraph("Book every trip through the travel desk at least 14 days ahead.")
    document.add_paragraph("Economy class for flights under six hours.", style="List Bullet")
    document.add_paragraph("Rail instead of flights under three hours.", style="List Bullet")
    document.add_paragraph("")
    document.add_heading("Daily allowances", level=2)
    table = document.add_table(rows=3, cols=2)
    rows = [("Region", "Meal allowance"), ("EMEA", "EUR 60"), ("Americas", "USD 75")]
    for row, (region, amount) in zip(table.rows, rows, strict=True):
        row.cells[0].text, row.cells[1].text = region, amount
    for cell in table.rows[0].cells:
        cell.paragraphs[0].runs[0].bold = True
    document.add_paragraph("Receipts are kept for seven years.")
    return _save(document)


def test_a_word_document_reads_as_headings_paragraphs_and_rows(tmp_path):
    doc = load(tmp_path, "finance/travel.docx", travel_policy())
    assert doc.format == "docx"
    assert doc.id == "finance/travel"
    assert doc.title == "Travel Policy 2026"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "Travel Policy", 1),
        ("heading", "Booking", 1),
        ("text", "Book every trip through the travel desk at least 14 days ahead.", 0),
        ("text", "Economy class for flights under six hours.", 0),
        ("text", "Rail instead of flights under three hours.", 0),
        ("heading", "Daily allowances", 2),
        ("row", "Region: EMEA; Meal allowance: EUR 60.", 0),
        ("row", "Region: Americas; Meal allowance: USD 75.", 0),
        ("text", "Receipts are kept for seven years.", 0),
    ]
    assert is_document(tmp_path / "knowledge/finance/travel.docx")


def test_without_a_title_in_its_properties_the_first_heading_is_the_title(tmp_path):
    document = Document()
    document.add_heading("Onboarding checklist", level=1)
    document.add_paragraph("Collect your laptop from IT on day one.")
    assert load(tmp_path, "onboarding.docx", _save(document)).title == "Onboarding checklist"
    empty = Document()
    empty.add_paragraph("Only text here.")
    assert load(tmp_path, "notes.docx", _save(empty)).title == "notes"


def test_a_company_heading_style_based_on_a_heading_keeps_its_level(tmp_path):
    document = Document()
    style = document.styles.add_style("Policy Section", WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Heading 2"]
    document.add_paragraph("Expenses", style="Policy Section")
    document.add_paragraph("Claims are paid monthly.")
    blocks = load(tmp_path, "claims.docx", _save(document)).blocks
    assert [(b.kind, b.level) for b in blocks] == [("heading", 2), ("text", 0)]


def _mark_header_row(row) -> None:
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:tblHeader"))


def test_table_headers_come_from_word_s_header_row_mark_and_otherwise_rows_are_data(tmp_path):
    document = Document()
    marked = document.add_table(rows=2, cols=2)
    marked.rows[0].cells[0].text, marked.rows[0].cells[1].text = "Tier", "Response"
    marked.rows[1].cells[0].text, marked.rows[1].cells[1].text = "Gold", "1 hour"
    _mark_header_row(marked.rows[0])
    plain = document.add_table(rows=2, cols=2)
    plain.rows[0].cells[0].text, plain.rows[0].cells[1].text = "Owner", "People team"
    plain.rows[1].cells[0].text, plain.rows[1].cells[1].text = "Review", "Every January"
    blocks = load(tmp_path, "sla.docx", _save(document)).blocks
    assert [b.text for b in blocks] == [
        "Tier: Gold; Response: 1 hour.",
        "Owner; People team.",
        "Review; Every January.",
    ]


def test_a_cell_merged_across_columns_counts_once(tmp_path):
    document = Document()
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, ["Plan", "Employee", "Family"], strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    table.rows[1].cells[0].text = "Dental"
    merged = table.rows[1].cells[1].merge(table.rows[1].cells[2])
    merged.text = "Fully paid by the company"
    (row,) = load(tmp_path, "benefits.docx", _save(document)).blocks
    assert row.text == "Dental: Employee: Fully paid by the company."


def test_a_header_row_mark_switched_off_is_not_a_header(tmp_path):
    document = Document()
    table = document.add_table(rows=2, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Laptop", "MacBook Air"
    table.rows[1].cells[0].text, table.rows[1].cells[1].text = "Phone", "Pixel"
    mark = OxmlElement("w:tblHeader")
    mark.set(qn("w:val"), "0")
    table.rows[0]._tr.get_or_add_trPr().append(mark)
    blocks = load(tmp_path, "kit.docx", _save(document)).blocks
    assert [b.text for b in blocks] == ["Laptop; MacBook Air.", "Phone; Pixel."]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"this is not a word document", "is not a readable Word document"),
        (b"PK\x03\x04" + b"\x00" * 40, "is not a readable Word document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "encrypted Word document or an old"),
    ],
)
def test_a_broken_or_locked_word_document_is_an_error_naming_the_file(tmp_path, raw, problem):
    error = load_error(tmp_path, "legal/contract.docx", raw)
    assert error.file == "knowledge/legal/contract.docx"
    assert problem in str(error)


def test_a_word_document_in_a_workspace_is_checked_indexed_and_answers(tmp_path):
    """`trellis init`, a .docx dropped into the handbook folder, then `check` and `ask`."""
    answer = answer_with(
        tmp_path,
        "handbook/travel-policy.docx",
        travel_policy(),
        "How much can I spend on meals per day when I travel in EMEA?",
    )
    assert answer["status"] == "answered", answer
    assert [c["doc_id"] for c in answer["citations"]] == ["handbook/travel-policy"]
    assert "EUR 60" in answer["answer"]
    assert answer["citations"][0]["title"] == "Travel Policy 2026"
