"""Excel workbooks (.xlsx) load sheet by sheet into rows that read as sentences, with
values as Excel shows them; a broken one names the file.

The files are real .xlsx packages written by openpyxl, as Excel would save them."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from app.knowledge.loaders import is_document
from tests.document_helpers import answer_with, load, load_error


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def price_list() -> bytes:
    """A price list as people keep one: a title line, a header, values formatted as money,
    percentages and dates, a hidden lookup sheet and a second visible sheet."""
    workbook = Workbook()
    workbook.properties.title = "Price list 2026"
    prices = workbook.active
    prices.title = "Plans"
    prices.append(["Prices valid from 1 March 2026"])
    prices.append([])
    prices.append(["Plan", "Monthly price", "Annual discount", "Launched", None, "Seats"])
    rows = [("Starter", 19, 0.1, date(2021, 5, 3), 5), ("Team", 49.5, 0.15, date(2023, 1, 9), 25)]
    for plan, price, discount, launched, seats in rows:
        prices.append([plan, price, discount, launched, None, seats])
    for row in prices.iter_rows(min_row=4):
        row[1].number_format = '"$"#,##0.00'
        row[2].number_format = "0%"
        row[3].number_format = "yyyy-mm-dd"
    lookup = workbook.create_sheet("Lookup")
    lookup.append(["code", "internal margin"])
    lookup.append(["ST", 0.62])
    lookup.sheet_state = "hidden"
    support = workbook.create_sheet("Support hours")
    support.append(["Region", "Hours", "Weekend"])
    support.append(["EMEA", "08:00-18:00 CET", False])
    support.append(["Americas", "08:00-20:00 ET", True])
    return _save(workbook)


def test_a_workbook_reads_sheet_by_sheet_as_sentences(tmp_path):
    doc = load(tmp_path, "sales/prices.xlsx", price_list())
    assert doc.format == "xlsx"
    assert doc.id == "sales/prices"
    assert doc.title == "Price list 2026"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Plans"),
        ("text", "Prices valid from 1 March 2026"),
        (
            "row",
            "Starter: Monthly price: $19; Annual discount: 10%; Launched: 2021-05-03; Seats: 5.",
        ),
        (
            "row",
            "Team: Monthly price: $49.5; Annual discount: 15%; Launched: 2023-01-09; Seats: 25.",
        ),
        ("heading", "Support hours"),
        ("row", "EMEA: Hours: 08:00-18:00 CET; Weekend: no."),
        ("row", "Americas: Hours: 08:00-20:00 ET; Weekend: yes."),
    ]
    assert "margin" not in doc.text  # the hidden sheet
    assert is_document(tmp_path / "knowledge/sales/prices.xlsx")


def test_without_a_title_in_its_properties_the_file_name_is_the_title(tmp_path):
    workbook = Workbook()
    workbook.active.append(["Holiday", "Date"])
    workbook.active.append(["New Year's Day", datetime(2026, 1, 1)])
    workbook.active.append(["Team offsite start", datetime(2026, 6, 8, 9, 30)])
    doc = load(tmp_path, "holidays.xlsx", _save(workbook))
    assert doc.title == "holidays"
    assert [b.text for b in doc.blocks[1:]] == [
        "Holiday: New Year's Day; Date: 2026-01-01.",
        "Holiday: Team offsite start; Date: 2026-06-08 09:30.",
    ]


def test_an_empty_workbook_has_no_blocks(tmp_path):
    assert load(tmp_path, "empty.xlsx", _save(Workbook())).blocks == ()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"not a workbook at all", "is not a readable Excel workbook"),
        (b"PK\x03\x04" + b"\x00" * 40, "is not a readable Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "encrypted Excel workbook or an old"),
    ],
)
def test_a_broken_or_locked_workbook_is_an_error_naming_the_file(tmp_path, raw, problem):
    error = load_error(tmp_path, "finance/budget.xlsx", raw)
    assert error.file == "knowledge/finance/budget.xlsx"
    assert problem in str(error)


def test_a_workbook_in_a_workspace_is_checked_indexed_and_answers(tmp_path):
    """`trellis init`, a price list dropped into the handbook folder, `check`, `ask`."""
    answer = answer_with(
        tmp_path,
        "handbook/prices.xlsx",
        price_list(),
        "What is the monthly price of the Team plan?",
    )
    assert answer["status"] == "answered", answer
    assert [c["doc_id"] for c in answer["citations"]] == ["handbook/prices"]
    assert "$49.5" in answer["answer"]
