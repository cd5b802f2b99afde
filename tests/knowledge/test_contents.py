"""A document's own table of contents is left out: its entries name sections and say
nothing, yet would win searches for the sections' words (app/knowledge/formats/contents.py)."""

from __future__ import annotations

from pathlib import Path

from app.knowledge.formats.blocks import Block
from app.knowledge.formats.contents import without_contents
from app.knowledge.loaders import load_document

PERL_POLICY = """\
                               Debian Perl Policy

   Table of Contents

   1. About this document

   2. Perl Packaging

                2.1. Versions

                2.3. Module Path

   3. Locally Installed Modules

                         Chapter 1. About this document

   This document is distributed as the perl-policy files in the Debian package.

                           Chapter 2. Perl Packaging

2.1. Versions

   At any given time, the package perl should represent the current stable release.

2.3. Module Path

   Perl modules go in $Config{vendorlib}, currently /usr/share/perl5.

                       Chapter 3. Locally Installed Modules

   Site directories are left for the local administrator.
"""

MARKDOWN = """\
# How we celebrate teammates

## On this page

- [Impact awards](#impact-awards)
- [New hires](#new-hires)
- [Birthdays](#birthdays)

## Impact awards

Each quarter, three teammates get an impact award.

## New hires

New hires get a welcome box in their first week.

## Birthdays

Birthdays are celebrated in #thanks.
"""


def load(tmp_path: Path, name: str, text: str):
    path = tmp_path / "knowledge" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_document(path, knowledge_dir=tmp_path / "knowledge", workspace_root=tmp_path)


def test_a_plain_text_table_of_contents_is_left_out_and_its_sections_stay(tmp_path):
    doc = load(tmp_path, "perl-policy.txt", PERL_POLICY)
    texts = [b.text for b in doc.blocks]
    assert texts.count("2.3. Module Path") == 1  # the section, not its contents line
    assert "1. About this document" not in texts
    assert "3. Locally Installed Modules" not in texts
    assert "Perl modules go in $Config{vendorlib}, currently /usr/share/perl5." in texts


def test_a_markdown_list_of_links_to_the_sections_below_is_left_out(tmp_path):
    doc = load(tmp_path, "celebrations.md", MARKDOWN)
    texts = [b.text for b in doc.blocks]
    assert [t for t in texts if t in ("Impact awards", "New hires", "Birthdays")] == [
        "Impact awards",
        "New hires",
        "Birthdays",
    ]  # the headings alone
    assert "Each quarter, three teammates get an impact award." in texts


def test_contents_lines_with_page_numbers_match_their_headings():
    blocks = [
        Block("text", "1. Scope ........ 3"),
        Block("text", "2. Leave ........ 5"),
        Block("text", "3. Pay \u2026\u2026 9"),
        Block("heading", "1. Scope", 2),
        Block("text", "This policy covers staff."),
        Block("heading", "2. Leave", 2),
        Block("text", "Staff get 25 days."),
        Block("heading", "3. Pay", 2),
        Block("text", "Pay is monthly."),
    ]
    assert without_contents(blocks) == blocks[3:]


def test_what_only_looks_like_contents_stays():
    # One empty heading over its subsections, repeated in a later chapter: no contents.
    headings = [
        Block("heading", "Requirements", 2),
        Block("heading", "Hardware", 3),
        Block("text", "A laptop."),
        Block("heading", "Requirements", 2),
        Block("text", "None."),
    ]
    assert without_contents(headings) == headings
    # A list of repeated values that are not numbered section names.
    values = [Block("text", v) for v in ("Required", "Optional", "Required", "Optional")]
    assert without_contents(values) == values
    # Two contents lines are not yet a table of contents.
    two = [
        Block("text", "1. Scope"),
        Block("text", "2. Leave"),
        Block("heading", "1. Scope", 2),
        Block("text", "Covers staff."),
        Block("heading", "2. Leave", 2),
        Block("text", "25 days."),
    ]
    assert without_contents(two) == two


def test_a_typeset_contents_section_goes_though_its_wrapped_entries_name_no_heading():
    # As a LaTeX PDF reads (the Debian FAQ): long entries wrap, losing their page number
    # or running into their number, and the running header "CONTENTS" falls among them.
    blocks = [
        Block("heading", "The FAQ", 1),
        Block("heading", "Contents", 1),
        Block("heading", "1 Definitions and overview 1", 6),
        Block("text", "1.5 What is the difference between Debian and other distributions? Why"),
        Block("heading", "2 Getting and installing 5", 6),
        Block("text", "11.10How can I have my locally-built package included in the list"),
        Block("text", "CONTENTS"),
        Block("heading", "3 Choosing a distribution 7", 6),
        Block("heading", "Abstract", 6),
        Block("text", "This document answers questions frequently asked."),
        Block("heading", "Definitions and overview", 1),
        Block("text", "Debian is a distribution."),
    ]
    assert without_contents(blocks) == [blocks[0], *blocks[8:]]


def test_a_numbered_list_under_a_heading_contents_that_names_no_page_stays():
    box = [
        Block("heading", "Contents", 2),
        Block("text", "1. Tent body"),
        Block("text", "2. Poles (two)"),
        Block("text", "3. Stakes and guy lines"),
        Block("text", "4. Repair kit"),
        Block("heading", "Pitching", 2),
        Block("text", "Lay out the tent body first."),
    ]
    assert without_contents(box) == box
