"""Chunks: roughly 600–1000 characters, whole sentences, one section each, stable ids."""

from __future__ import annotations

import random

from app.knowledge.chunking import (
    HARD_MAX_CHARS,
    MAX_CHARS,
    MIN_CHARS,
    chunk_blocks,
    chunk_id,
    paragraph_sentences,
)
from app.knowledge.loaders import Block, csv_blocks, markdown_blocks
from app.text.sentences import split_sentences

WORDS = [
    "policy",
    "employee",
    "leave",
    "days",
    "manager",
    "request",
    "approval",
    "holiday",
    "travel",
    "receipt",
]


def _sentence(rng: random.Random, index: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, 18))]
    return f"Rule {index} says " + " ".join(words) + "."


def _prose(seed: int, paragraphs: int) -> tuple[list[Block], list[str]]:
    rng = random.Random(seed)
    blocks, sentences = [], []
    counter = 0
    for _ in range(paragraphs):
        paragraph = []
        for _ in range(rng.randint(1, 14)):
            counter += 1
            paragraph.append(_sentence(rng, counter))
        sentences.extend(paragraph)
        blocks.append(Block("text", " ".join(paragraph)))
    return blocks, sentences


def test_long_sections_make_chunks_of_roughly_600_to_1000_characters():
    for seed in range(20):
        blocks, _ = _prose(seed, 12)
        chunks = chunk_blocks([Block("heading", "Policy", 1), *blocks])
        assert len(chunks) >= 2
        for chunk in chunks:
            assert len(chunk.text) <= MAX_CHARS
        for chunk in chunks[:-1]:
            assert len(chunk.text) >= MIN_CHARS, (seed, len(chunk.text))


def test_no_sentence_is_ever_split():
    for seed in range(20):
        blocks, sentences = _prose(seed, 10)
        chunks = chunk_blocks(blocks)
        for sentence in sentences:
            holders = [c for c in chunks if sentence in c.text]
            assert holders, sentence
        total = sum(len(paragraph_sentences(c.text.replace("\n\n", " "))) for c in chunks)
        assert total == len(sentences)


def test_chunks_never_cross_headings_and_remember_the_heading_path():
    body = markdown_blocks(
        "# Handbook\n\nWelcome.\n\n## Leave\n\nTake leave.\n\n### Sick days\n\nTen days.\n\n"
        "## Travel\n\nBook early.\n"
    )
    chunks = chunk_blocks(body)
    assert [(c.heading, c.text) for c in chunks] == [
        ("Handbook", "Welcome."),
        ("Handbook > Leave", "Take leave."),
        ("Handbook > Leave > Sick days", "Ten days."),
        ("Handbook > Travel", "Book early."),
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_a_top_heading_that_repeats_the_title_is_left_out_of_heading_paths():
    body = markdown_blocks("# Handbook\n\nWelcome.\n\n## Leave\n\nTake leave.\n")
    chunks = chunk_blocks(body, title="handbook")
    assert [c.heading for c in chunks] == ["", "Leave"]
    assert [c.heading for c in chunk_blocks(body, title="Other")] == [
        "Handbook",
        "Handbook > Leave",
    ]


def test_chunk_ids_are_stable():
    blocks, _ = _prose(7, 8)
    first = chunk_blocks(blocks)
    second = chunk_blocks(list(blocks))
    assert first == second
    assert [chunk_id("hr-pto", c.ordinal) for c in first][:2] == ["hr-pto#0", "hr-pto#1"]


def test_table_rows_are_grouped_and_never_split():
    header = "sku,product,category,msrp_usd,wholesale_usd,lead_time_days"
    rows = [
        f"NW-{i:03d},Product number {i},Tents,{100 + i}.00,{50 + i}.00,{i % 30}" for i in range(80)
    ]
    blocks = csv_blocks("\n".join([header, *rows]), "prices.csv")
    chunks = chunk_blocks(blocks)
    assert 1 < len(chunks) < len(rows)
    rendered = [b.text for b in blocks]
    seen = []
    for chunk in chunks:
        assert len(chunk.text) <= MAX_CHARS
        lines = chunk.text.split("\n")
        assert all(line in rendered for line in lines)
        seen.extend(lines)
    assert seen == rendered


def test_text_without_sentence_ends_is_cut_between_words_only_when_huge():
    run_on = " ".join(f"word{i}" for i in range(600))
    assert len(run_on) > HARD_MAX_CHARS
    chunks = chunk_blocks([Block("text", run_on)])
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert " ".join(c.text for c in chunks) == run_on


def test_a_long_sentence_stays_whole():
    sentence = "This sentence " + "keeps going " * 100 + "and ends here."
    assert MAX_CHARS < len(sentence) < HARD_MAX_CHARS
    chunks = chunk_blocks([Block("text", "Short intro."), Block("text", sentence)])
    assert any(c.text.endswith(sentence) for c in chunks)


def test_sentence_splitting_keeps_abbreviations_and_decimals():
    text = "Meals cost up to 45.50 USD per day, e.g. lunch. Hotels are booked centrally! Ask? Yes."
    assert paragraph_sentences(text) == [
        "Meals cost up to 45.50 USD per day, e.g. lunch.",
        "Hotels are booked centrally!",
        "Ask?",
        "Yes.",
    ]


def test_empty_document_has_no_chunks():
    assert chunk_blocks([]) == []
    assert chunk_blocks([Block("heading", "Only a title", 1)]) == []


def test_markdown_inside_an_html_block_is_read_as_markdown_not_quoted_raw():
    body = markdown_blocks(
        '<aside markdown="1" class="pquote">\n'
        "  Tell your talk as a story.\n"
        '  <p markdown="1" class="pquote-credit">\n'
        '— Lena, ["How to Write a Talk"](https://talks.example/how)\n'
        "  </p>\n"
        "</aside>\n\n"
        "<div>\n  Fees are 2 * 3 euros, see [ticket](#not-a-link\n</div>\n"
    )
    assert [b.text for b in body] == [
        "Tell your talk as a story.",
        '— Lena, "How to Write a Talk"',
        "Fees are 2 * 3 euros, see [ticket](#not-a-link",  # no link: left as written
    ]


def test_a_task_lists_boxes_are_not_read_as_words():
    body = (
        "* [ ] 2. Send the pre-alert:\n"
        "  * [x] One week in advance.\n"
        "1. [X] Tag the release\n"
        "- [link] is not a box\n\n"
        "[ ] outside a list, as written\n"
    )
    assert [b.text for b in markdown_blocks(body)] == [
        "2. Send the pre-alert:",
        "One week in advance.",
        "1. Tag the release",
        "[link] is not a box",
        "[ ] outside a list, as written",
    ]


def _paperwork(items: int) -> str:
    steps = "\n".join(
        f"- Form {n}: a signed statement of the leave you have used and the leave you "
        f"expect to earn, with your supervisor's name, copy {n}."
        for n in range(1, items + 1)
    )
    return (
        "# Advanced sick leave\n\nYou can borrow against sick leave you will earn. "
        "To get approval, you will need to submit the following paperwork:\n\n"
        f"{steps}\n\nHR answers within a week.\n"
    )


def test_a_chunk_that_goes_on_with_a_list_carries_its_lead_in_after_its_heading():
    chunks = chunk_blocks(markdown_blocks(_paperwork(20)), title="Leave")
    assert len(chunks) >= 3
    lead = "To get approval, you will need to submit the following paperwork:"
    assert chunks[0].heading == "Advanced sick leave"  # the lead-in is its own text
    assert lead in chunks[0].text
    for chunk in chunks[1:]:
        assert chunk.heading == f"Advanced sick leave > {lead}"
        assert lead not in chunk.text  # quoted without it: the text is the document's
        assert chunk.text.startswith("Form ")


def test_a_list_lead_in_is_carried_only_by_chunks_that_start_with_its_items():
    body = markdown_blocks(_paperwork(12) + "\n" + " ".join(["Appeals go to the board."] * 60))
    chunks = chunk_blocks(body, title="Leave")
    after_the_list = [c for c in chunks if c.text.startswith(("HR answers", "Appeals"))]
    assert after_the_list
    assert all(c.heading == "Advanced sick leave" for c in after_the_list)


def test_paragraphs_that_are_not_list_items_carry_no_lead_in():
    # Plain text and PDFs do not say which paragraphs are items: nothing is guessed.
    blocks = [Block("heading", "Advanced sick leave", 1), Block("text", "Submit these forms:")]
    blocks += [Block("text", f"Form {n}: a signed statement, copy {n}. " * 3) for n in range(30)]
    assert {c.heading for c in chunk_blocks(blocks)} == {"Advanced sick leave"}
    # A lead-in too long to be one sentence of context is not carried either.
    long_lead = "Submit these forms, " + "which " * 60 + "are:"
    items = [Block("text", f"Form {n}: a signed statement, copy {n}. " * 3, 1) for n in range(30)]
    chunks = chunk_blocks([blocks[0], Block("text", long_lead), *items])
    assert {c.heading for c in chunks} == {"Advanced sick leave"}


def test_a_row_too_long_for_a_chunk_is_written_as_sentences_each_led_by_its_subject():
    levels = ["Junior (L1)", "Programmer (L2)", "Senior (L3)", "Lead (L4)", "Principal (L5)"]
    cells = [f"Handles incidents of tier {n}. " * 9 for n in range(1, 6)]
    table = (
        "# Ladder\n\n| Category | "
        + " | ".join(levels)
        + " |\n"
        + "|---" * 6
        + "|\n| *Ownership* | "
        + " | ".join(c.strip() for c in cells)
        + " |\n"
    )
    rows = [b.text for b in markdown_blocks(table) if b.kind == "row"]
    assert len(rows) >= 2 and all(len(row) <= 1000 for row in rows)
    assert all(row.startswith("Ownership: ") and row.endswith(".") for row in rows)
    # Every cell is kept whole, once, after its column's name, in order.
    said = " ".join(rows)
    for level, cell in zip(levels, cells, strict=True):
        assert said.count(f"{level}: {cell.strip()}") == 1
    # Each is one unit to the answerer, so a quote never starts inside a cell.
    for chunk in chunk_blocks(markdown_blocks(table)):
        units = split_sentences(chunk.text)
        assert all(u.kind == "row" and u.text.startswith("Ownership: ") for u in units)
