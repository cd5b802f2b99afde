"""reStructuredText (.rst) is read as its built page reads: Sphinx's roles as their words,
the text of directives docutils does not know kept, navigation left out, front
matter as in Markdown, and nothing read from outside the file."""

from __future__ import annotations

import pytest

from app.errors import WorkspaceError
from app.knowledge.formats import restructured
from app.knowledge.loaders import SUPPORTED_SUFFIXES
from tests.knowledge.test_loaders import _load, _write

PAGE = """\
---
owner: finance-team
---
Expense policy
==============

.. contents::

Overview
--------

Employees may claim meals up to **$60 a day**. See :ref:`the travel rules <travel>`,
:doc:`/hr/leave` and :py:func:`~claims.submit`.

.. note::

   Receipts are required for anything over $25.

.. versionadded:: 2.1
   A per diem for Canada.

.. toctree::
   :maxdepth: 2

   travel
   leave

.. include:: /etc/passwd

.. raw:: html

   <p>raw markup</p>

.. confval:: meal_limit

   The daily limit, in dollars.

.. automodule:: claims

Approvals
---------

* Managers approve up to :abbr:`USD (US dollars)` 500.

+--------+-------+
| Region | Limit |
+========+=======+
| US     | 60    |
+--------+-------+
"""


def test_a_sphinx_page_reads_as_its_built_page(tmp_path):
    _write(tmp_path, "finance/expenses.rst", PAGE)
    document = _load(tmp_path, "finance/expenses.rst")
    assert ".rst" in SUPPORTED_SUFFIXES
    assert document.title == "Expense policy" and document.owner == "finance-team"
    assert document.format == "rst"
    headings = [b.text for b in document.blocks if b.kind == "heading"]
    assert headings == ["Expense policy", "Overview", "Approvals"]
    text = document.text
    assert (
        "Employees may claim meals up to $60 a day. See the travel rules, /hr/leave and "
        "claims.submit." in text
    )
    assert "Receipts are required for anything over $25." in text
    assert "New in version 2.1: A per diem for Canada." in text
    assert "Managers approve up to USD (US dollars) 500." in text
    assert any(b.kind == "row" and "Region: US" in b.text for b in document.blocks)
    assert "meal_limit" in text and "The daily limit, in dollars." in text
    for absent in (":ref:", "`", "maxdepth", "travel\nleave", "root:", "raw markup"):
        assert absent not in text
    assert all(b.text != "claims" for b in document.blocks)  # automodule: code, not text
    assert "Contents" not in headings and "Contents" not in text


def test_a_page_without_a_title_is_named_by_its_file(tmp_path):
    _write(tmp_path, "notes.rst", "Just a paragraph with *emphasis*.\n")
    document = _load(tmp_path, "notes.rst")
    assert document.title == "notes" and document.text == "Just a paragraph with emphasis."


SPHINX_SOURCE_AS_TXT = """\
========================
Django's release process
========================

.. _official-releases:

Official releases
=================

Versions are numbered in the form ``A.B`` or ``A.B.C``; see :doc:`our security
policies <security>` and the `release cadence`_.

Long-term support
~~~~~~~~~~~~~~~~~

An LTS release gets security fixes for **three years**.

.. _release cadence: https://example.com/cadence
"""


def test_a_text_file_written_in_rst_is_read_as_rst(tmp_path):
    _write(tmp_path, "engineering/release-process.txt", SPHINX_SOURCE_AS_TXT)
    document = _load(tmp_path, "engineering/release-process.txt")
    assert document.title == "Django's release process" and document.format == "txt"
    headings = [b.text for b in document.blocks if b.kind == "heading"]
    assert headings == ["Django's release process", "Official releases", "Long-term support"]
    assert (
        "Versions are numbered in the form A.B or A.B.C; see our security policies and the release cadence."
        in document.text
    )
    assert "An LTS release gets security fixes for three years." in document.text
    assert not any(mark in document.text for mark in ("``", ":doc:", "`_", "====", "~~~"))


def test_a_title_under_a_line_of_dashes_is_no_front_matter(tmp_path):
    _write(
        tmp_path, "leave.rst", "------------\nLeave policy\n------------\n\nStaff get 25 days.\n"
    )
    document = _load(tmp_path, "leave.rst")
    assert document.title == "Leave policy" and "Staff get 25 days." in document.text


def test_a_page_docutils_fails_on_is_an_error_naming_the_file(tmp_path, monkeypatch):
    def fails(*args, **kwargs):  # docutils is a third-party parser: any failure is the file's
        raise RuntimeError("table parser gave up")

    monkeypatch.setattr(restructured, "publish_parts", fails)
    _write(tmp_path, "broken.rst", "Title\n=====\n\nText.\n")
    with pytest.raises(WorkspaceError) as caught:
        _load(tmp_path, "broken.rst")
    assert "broken.rst" in str(caught.value)
    assert "not a readable reStructuredText document (table parser gave up)" in str(caught.value)
