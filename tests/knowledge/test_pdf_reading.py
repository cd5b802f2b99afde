"""A PDF's headings, paragraphs and lists are recovered from where and how its lines are
drawn; running headers and footers, page numbers and contents lines are left out."""

from __future__ import annotations

from pathlib import Path

from tests.document_helpers import load
from tests.knowledge.test_loaders import make_pdf


def _load(workspace: Path, raw: bytes):
    return load(workspace, "policy.pdf", raw)


def _blocks(doc) -> list[tuple[str, str, int]]:
    return [(b.kind, b.text, b.level) for b in doc.blocks]


def test_headings_paragraphs_wrapped_lines_and_list_items(tmp_path):
    pdf = make_pdf(
        [
            [
                ("Remote Work Policy", 20, True),
                "",
                ("Eligibility", 15, True),
                "Every employee who has passed probation may work",
                "remotely up to three days a week. The manager's ap-",
                "proval is needed for more.",
                "",
                "Remote days are booked in the HR portal.",
                "",
                ("Equipment", 12, True),
                "The company provides:",
                "\u2022 a laptop and a headset",
                "\u2022 a monitor on request",
                "1. Ask IT for the monitor.",
            ]
        ]
    )
    doc = _load(tmp_path, pdf)
    assert _blocks(doc) == [
        ("heading", "Remote Work Policy", 1),
        ("heading", "Eligibility", 2),
        (
            "text",
            "Every employee who has passed probation may work remotely up to three days a "
            "week. The manager's approval is needed for more.",
            0,
        ),
        ("text", "Remote days are booked in the HR portal.", 0),
        ("heading", "Equipment", 3),
        ("text", "The company provides:", 0),
        ("text", "\u2022 a laptop and a headset", 0),
        ("text", "\u2022 a monitor on request", 0),
        ("text", "1. Ask IT for the monitor.", 0),
    ]
    assert doc.title == "Remote Work Policy"  # no title in its properties: the first heading


def test_running_headers_footers_and_page_numbers_are_left_out(tmp_path):
    def page(number: int, lines: list[str]) -> list:
        return ["ACME Corp \u2014 Internal", "", *lines, "", f"Page {number} of 3"]

    pdf = make_pdf(
        [
            page(1, ["Travel is booked through the travel desk,", "which confirms within"]),
            page(2, ["two working days. Hotels need receipts."]),
            page(3, ["Meals are paid up to 50 USD a day.", "", "7"]),
        ]
    )
    doc = _load(tmp_path, pdf)
    assert [b.text for b in doc.blocks] == [
        "Travel is booked through the travel desk, which confirms within two working days. "
        "Hotels need receipts.",
        "Meals are paid up to 50 USD a day.",
    ]


def test_contents_lines_with_dot_leaders_are_left_out(tmp_path):
    pdf = make_pdf(
        [
            [
                ("Contents", 16, True),
                "1 Introduction . . . . . . . . . . . . 1",
                "2 Leave .............................. 4",
                "",
                ("Introduction", 16, True),
                "This handbook explains how we work.",
            ]
        ],
        title="Employee Handbook",
    )
    doc = _load(tmp_path, pdf)
    assert doc.title == "Employee Handbook"
    assert _blocks(doc) == [
        ("heading", "Contents", 1),
        ("heading", "Introduction", 1),
        ("text", "This handbook explains how we work.", 0),
    ]


def test_a_bold_sentence_at_body_size_is_text_and_a_bold_question_a_heading(tmp_path):
    pdf = make_pdf(
        [
            [
                ("Can I expense a taxi?", 12, True),
                "Yes, after 10 pm or with luggage.",
                "",
                ("All claims need a receipt.", 12, True),
                "Scans are fine.",
            ]
        ]
    )
    assert _blocks(_load(tmp_path, pdf)) == [
        ("heading", "Can I expense a taxi?", 1),
        ("text", "Yes, after 10 pm or with luggage.", 0),
        ("text", "All claims need a receipt. Scans are fine.", 0),
    ]


def test_a_page_whose_places_cannot_be_read_still_gives_its_text(tmp_path, monkeypatch):
    from app.knowledge.formats import pdf

    def broken(self, *args):
        raise ValueError("an odd text matrix")

    monkeypatch.setattr(pdf._Reading, "visit", broken)
    doc = _load(tmp_path, make_pdf([["Meals are paid up to 50 USD a day."]]))
    assert doc.text == "Meals are paid up to 50 USD a day."


def test_a_line_broken_although_the_next_word_would_fit_ends_its_paragraph(tmp_path):
    # A list printed from a web page: its bullets are drawn as shapes, not as text, and
    # its items are as far apart as the lines of a paragraph.
    wrapped = [
        "Since April 2023 the project has been fiscally sponsored by the Python Software",
        "Foundation, which manages every donation, whatever its source. We currently get",
        "donations from the following sources, each of which is listed below in its turn",
    ]
    intro = [*wrapped[:2], "donations from the following sources:"]
    pdf = make_pdf(
        [
            [
                *intro,
                "Direct contributions via the foundation",
                "GitHub Sponsors",
                "Tidelift",
                "",
                *wrapped[:2],
                "donations from these sources.",
                "",
                *wrapped,
                *wrapped,
            ]
        ]
    )
    texts = [b.text for b in _load(tmp_path, pdf).blocks]
    assert texts[:4] == [
        " ".join(intro),
        "Direct contributions via the foundation",
        "GitHub Sponsors",
        "Tidelift",
    ]
    assert texts[4].endswith("We currently get donations from these sources.")
    assert texts[5] == " ".join(wrapped + wrapped)  # full lines are one paragraph
