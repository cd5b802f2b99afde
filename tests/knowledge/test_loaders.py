"""Each knowledge format loads into blocks; broken front matter names the file and line."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from app.domain import DocumentStatus
from app.errors import WorkspaceError
from app.knowledge.chunking import chunk_blocks
from app.knowledge.formats.blocks import column_name
from app.knowledge.loaders import load_document, render_row
from app.text.sentences import split_sentences


def _write(workspace: Path, relative: str, content: str | bytes) -> Path:
    path = workspace / "knowledge" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _load(workspace: Path, relative: str):
    return load_document(
        workspace / "knowledge" / relative,
        knowledge_dir=workspace / "knowledge",
        workspace_root=workspace,
    )


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


PdfLine = str | tuple[str, float, bool]
"""A line of a test PDF: its text (Helvetica 12), or (text, size, bold)."""


def make_pdf(pages: list[list[PdfLine]], *, title: str | None = None) -> bytes:
    """A minimal, valid PDF with one text line per entry, 18 points apart (an empty entry
    leaves a gap)."""
    page_count = len(pages)
    first_page_id = 5
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: (
            "<< /Type /Pages /Kids ["
            + " ".join(f"{first_page_id + 2 * i} 0 R" for i in range(page_count))
            + f"] /Count {page_count} >>"
        ).encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    }
    for i, lines in enumerate(pages):
        page_id, content_id = first_page_id + 2 * i, first_page_id + 2 * i + 1
        operations = ["BT", "72 740 Td"]
        for line in lines:
            text, size, bold = (line, 12.0, False) if isinstance(line, str) else line
            if text:
                operations.append(f"/{'F2' if bold else 'F1'} {size:g} Tf")
                operations.append(f"({_pdf_escape(text)}) Tj")
            operations.append("0 -18 Td")
        operations.append("ET")
        stream = "\n".join(operations).encode("cp1252")
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>"
        ).encode()
        objects[content_id] = (
            f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        )
    info_id = None
    if title is not None:
        info_id = max(objects) + 1
        objects[info_id] = f"<< /Title ({_pdf_escape(title)}) >>".encode("latin-1")

    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref_at = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n".encode() + b"0000000000 65535 f \n"
    for number in range(1, size):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    trailer = f"<< /Size {size} /Root 1 0 R" + (f" /Info {info_id} 0 R" if info_id else "") + " >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


def test_markdown_front_matter_is_read(tmp_path):
    _write(
        tmp_path,
        "hr/pto.md",
        "---\n"
        "id: hr-pto-2025\n"
        "title: Paid Time Off Policy\n"
        "url: https://wiki.example/hr/pto\n"
        "owner: People-Ops@Acme.Example\n"
        "access: [everyone, Ana@Acme.Example]\n"
        "updated: 2025-01-15\n"
        "supersedes: hr-pto-2023\n"
        "status: current\n"
        "tags: [hr, leave]\n"
        "---\n"
        "# Paid time off\n\n"
        "Full-time employees receive **25 days** of [paid time off](https://x.example).\n",
    )
    doc = _load(tmp_path, "hr/pto.md")
    assert doc.id == "hr-pto-2025"
    assert doc.path == "hr/pto.md"
    assert doc.title == "Paid Time Off Policy"
    assert doc.url == "https://wiki.example/hr/pto"
    assert doc.owner == "people-ops@acme.example"
    assert doc.access == ("everyone", "ana@acme.example")
    assert doc.updated == date(2025, 1, 15)
    assert doc.supersedes == "hr-pto-2023"
    assert doc.status is DocumentStatus.CURRENT
    assert doc.tags == ("hr", "leave")
    assert doc.blocks[0].kind == "heading"
    assert doc.blocks[1].text == "Full-time employees receive 25 days of paid time off."


def test_markdown_defaults_come_from_path_and_first_heading(tmp_path):
    _write(tmp_path, "hr/leave/parental.md", "Intro line.\n\n## Parental leave\n\nSixteen weeks.\n")
    _write(tmp_path, "notes.md", "Just text, no heading.\n")
    doc = _load(tmp_path, "hr/leave/parental.md")
    assert doc.id == "hr/leave/parental"
    assert doc.title == "Parental leave"
    assert doc.access is None
    assert doc.status is DocumentStatus.CURRENT
    assert _load(tmp_path, "notes.md").title == "notes"


def test_markdown_tables_become_self_describing_rows_and_code_is_not_a_heading(tmp_path):
    _write(
        tmp_path,
        "tiers.md",
        "# Tiers\n\n| Tier | Response |\n|---|:---:|\n| Gold | 1 hour |\n| Silver | 8 hours |\n\n"
        "```\n# not a heading\n```\n",
    )
    doc = _load(tmp_path, "tiers.md")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Tiers"),
        ("row", "Tier: Gold; Response: 1 hour."),
        ("row", "Tier: Silver; Response: 8 hours."),
        ("text", "# not a heading"),
    ]


def test_markdown_blockquotes_and_rules_are_plain_text(tmp_path):
    _write(tmp_path, "macros.md", "> Hi there,\n> thanks for writing.\n\n---\n\n- one\n- two\n")
    doc = _load(tmp_path, "macros.md")
    assert [b.text for b in doc.blocks] == ["Hi there, thanks for writing.", "one", "two"]


def test_a_markdown_table_reads_as_sentences_that_stay_whole(tmp_path):
    _write(
        tmp_path,
        "legal/playbook.md",
        "# Playbook\n\n"
        "| Clause | Standard position | Fallback |\n"
        "|---|---|---|\n"
        "| 10. Limitation of liability | Capped at fees paid in 12 months | 24 months |\n"
        "| 11. Governing law | **English** law | Law of `Ireland` |\n"
        "| 12. Term | 3 years. Renews yearly. | |\n"
        "| 13. Notices | Email to a \\| b | Post |\n",
    )
    doc = _load(tmp_path, "legal/playbook.md")
    rows = [b.text for b in doc.blocks if b.kind == "row"]
    assert rows == [
        "10. Limitation of liability: Standard position: Capped at fees paid in 12 months; "
        "Fallback: 24 months.",
        "11. Governing law: Standard position: English law; Fallback: Law of Ireland.",
        "12. Term: Standard position: 3 years. Renews yearly.",
        "13. Notices: Standard position: Email to a | b; Fallback: Post.",
    ]
    # The answerer quotes sentence by sentence: each rendered row is exactly one unit,
    # even with a full stop inside a value, and is never merged with the next row.
    (chunk,) = chunk_blocks(doc.blocks, title=doc.title)
    units = split_sentences(chunk.text)
    assert [(u.kind, u.text) for u in units] == [("row", row) for row in rows]


def test_nested_lists_links_and_markup_flatten_to_plain_text(tmp_path):
    _write(
        tmp_path,
        "it/setup.md",
        "Set up\n======\n\n"
        "1. Open the [portal](https://portal.example) and *sign in*.\n"
        "2. Pick a plan:\n"
        "   - **Basic**, see ![the chart](chart.png)\n"
        "   - Pro, run `setup --pro`\n"
        "     with admin rights\n\n"
        "Call us on\\\n0800 123 &amp; ask for <em>Ana</em>.\n\n"
        "<div><p>Raw <b>HTML</b> block</p></div>\n\n"
        "    indented code\n"
        "## Notes ##\n",
    )
    doc = _load(tmp_path, "it/setup.md")
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "Set up", 1),
        ("text", "1. Open the portal and sign in.", 1),  # a paragraph's level: its list depth
        ("text", "2. Pick a plan:", 1),
        ("text", "Basic, see the chart", 2),
        ("text", "Pro, run setup --pro with admin rights", 2),
        ("text", "Call us on 0800 123 & ask for Ana.", 0),
        ("text", "Raw HTML block", 0),
        ("text", "indented code", 0),
        ("heading", "Notes", 2),
    ]
    assert doc.title == "Set up"


@pytest.mark.parametrize(
    ("front_matter", "line", "problem"),
    [
        ("title: PTO\nstatus: archived\n", 3, "status"),
        ("title: PTO\nowner: hr\nacess: [hr]\n", 4, "acess: unknown key; did you mean 'access'?"),
        ("title: PTO\nupdated: next tuesday\n", 3, "updated"),
        ("title: PTO\naccess: [sales team]\n", 3, "access"),
        ("title: PTO\ntags: [a, b\n", 3, "invalid YAML"),
        ("title: PTO\ntitle: again\n", 3, "duplicate key"),
    ],
)
def test_broken_front_matter_names_file_line_and_problem(tmp_path, front_matter, line, problem):
    _write(tmp_path, "hr/pto.md", f"---\n{front_matter}---\n# PTO\n")
    with pytest.raises(WorkspaceError) as caught:
        _load(tmp_path, "hr/pto.md")
    error = caught.value
    assert error.file == "knowledge/hr/pto.md"
    assert error.line == line
    assert problem in error.problem
    assert str(error).startswith(f"knowledge/hr/pto.md:{line}: ")


def test_another_tools_front_matter_keys_are_left_alone_and_misspelt_ones_named(tmp_path):
    _write(
        tmp_path,
        "hr/uids.md",
        "---\ntitle: Users, Groups, UIDs and GIDs\ncategory: Users, Groups and Logins\n"
        "layout: default\nSPDX-License-Identifier: LGPL-2.1-or-later\ndate: 2023-02-01\n"
        "subtitle: on systemd systems\n---\n# Users\n\nSystem users have low UIDs.\n",
    )
    doc = _load(tmp_path, "hr/uids.md")
    assert doc.title == "Users, Groups, UIDs and GIDs"
    assert [b.text for b in doc.blocks][-1] == "System users have low UIDs."

    _write(tmp_path, "hr/pto.md", "---\ntitel: PTO\nlayout: page\nowners: hr\n---\n# PTO\n")
    with pytest.raises(WorkspaceError) as caught:
        _load(tmp_path, "hr/pto.md")
    named = [(e.line, e.problem) for e in (caught.value, *caught.value.also)]
    assert named == [
        (2, "titel: unknown key; did you mean 'title'?"),
        (4, "owners: unknown key; did you mean 'owner'?"),
    ]


def test_front_matter_lines_count_from_the_top_of_the_file(tmp_path):
    # A blank line after the opening --- and Windows line endings must not shift lines.
    _write(
        tmp_path,
        "hr/pto.md",
        "---\r\n\r\ntitle: PTO\r\nowner: hr\r\nstatus: old\r\n---\r\n# PTO\r\n",
    )
    with pytest.raises(WorkspaceError) as caught:
        _load(tmp_path, "hr/pto.md")
    assert (caught.value.file, caught.value.line) == ("knowledge/hr/pto.md", 5)
    assert "status" in caught.value.problem


def test_front_matter_is_split_off_and_the_body_is_read(tmp_path):
    _write(tmp_path, "a.md", "---\ntitle: A\n---\nBody text.\n\n---\n\nMore text.\n")
    doc = _load(tmp_path, "a.md")
    assert doc.title == "A"
    assert [b.text for b in doc.blocks] == ["Body text.", "More text."]


def test_impossible_date_is_an_error_naming_the_file(tmp_path):
    _write(tmp_path, "hr/pto.md", "---\ntitle: PTO\nupdated: 2025-13-45\n---\n# PTO\n")
    with pytest.raises(WorkspaceError, match="month must be in 1..12") as caught:
        _load(tmp_path, "hr/pto.md")
    assert caught.value.file == "knowledge/hr/pto.md"


def test_unclosed_front_matter_is_an_error(tmp_path):
    _write(tmp_path, "a.md", "---\ntitle: A\n# A\n")
    with pytest.raises(WorkspaceError, match="never closed") as caught:
        _load(tmp_path, "a.md")
    assert caught.value.line == 1


def test_front_matter_must_be_a_mapping(tmp_path):
    _write(tmp_path, "a.md", "---\n- just\n- a list\n---\n# A\n")
    with pytest.raises(WorkspaceError, match="mapping") as caught:
        _load(tmp_path, "a.md")
    assert caught.value.line == 2


def test_text_that_is_not_utf8_is_an_error(tmp_path):
    _write(tmp_path, "old.txt", "caf\xe9 menu".encode("latin-1"))
    with pytest.raises(WorkspaceError, match="UTF-8") as caught:
        _load(tmp_path, "old.txt")
    assert caught.value.file == "knowledge/old.txt"


def test_plain_text_paragraphs_and_file_name_title(tmp_path):
    _write(tmp_path, "it/it-help.txt", "Reset your password at\nid.example.\n\n\nCall the desk.\n")
    doc = _load(tmp_path, "it/it-help.txt")
    assert doc.id == "it/it-help"
    assert doc.title == "it-help"
    assert [b.text for b in doc.blocks] == ["Reset your password at id.example.", "Call the desk."]
    assert doc.format == "txt"


MAN_PAGE = """\
ACCESS.CONF(5)             Linux-PAM Manual             ACCESS.CONF(5)

NAME
       access.conf - the login access control table file

DESCRIPTION
       The /etc/security/access.conf file specifies (user/group, host),
       (user/group, network/netmask) combinations for which a login will
       be either accepted or refused.
"""


def test_plain_text_takes_front_matter_as_markdown_does(tmp_path):
    _write(
        tmp_path,
        "it/access-conf.txt",
        "---\n"
        "title: access.conf, the login access control table\n"
        "owner: IT@Acme.Example\n"
        "access: [engineering]\n"
        "tags: [pam]\n"
        "---\n" + MAN_PAGE,
    )
    doc = _load(tmp_path, "it/access-conf.txt")
    assert doc.title == "access.conf, the login access control table"
    assert doc.owner == "it@acme.example"
    assert doc.access == ("engineering",)
    assert doc.tags == ("pam",)
    assert doc.lines == {"title": 2, "owner": 3, "access": 4, "tags": 5}
    assert doc.blocks[0].text == "ACCESS.CONF(5) Linux-PAM Manual ACCESS.CONF(5)"
    assert not any("title:" in b.text or b.text == "---" for b in doc.blocks)
    # Without front matter the man page's first line is its title, as before.
    _write(tmp_path, "it/bare.txt", MAN_PAGE)
    assert _load(tmp_path, "it/bare.txt").title == "ACCESS.CONF(5) Linux-PAM Manual ACCESS.CONF(5)"


def test_broken_front_matter_of_plain_text_names_its_line(tmp_path):
    _write(tmp_path, "it/access-conf.txt", "---\ntitle: Access\nstatus: old\n---\n" + MAN_PAGE)
    with pytest.raises(WorkspaceError) as caught:
        _load(tmp_path, "it/access-conf.txt")
    assert (caught.value.file, caught.value.line) == ("knowledge/it/access-conf.txt", 3)
    assert "status" in caught.value.problem


def test_a_plain_text_title_line_is_the_title_and_stands_apart(tmp_path):
    _write(
        tmp_path,
        "handbook/oncall-rota.txt",
        "On-call rota for veterinary surgeons\n\nEach vet is on call one weekend in four.\n",
    )
    doc = _load(tmp_path, "handbook/oncall-rota.txt")
    assert doc.title == "On-call rota for veterinary surgeons"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "On-call rota for veterinary surgeons"),
        ("text", "Each vet is on call one weekend in four."),
    ]
    (chunk,) = chunk_blocks(doc.blocks, title=doc.title)
    assert "Each vet is on call one weekend in four." in [
        u.text for u in split_sentences(chunk.text)
    ]


def test_a_short_first_line_followed_by_a_sentence_is_the_title(tmp_path):
    _write(tmp_path, "it-help.txt", "IT Help: laptops and Wi-Fi\nMaintained by the IT desk.\n")
    doc = _load(tmp_path, "it-help.txt")
    assert doc.title == "IT Help: laptops and Wi-Fi"
    assert [b.text for b in doc.blocks] == [
        "IT Help: laptops and Wi-Fi",
        "Maintained by the IT desk.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Opening hours are 9 to 5.\n\nCall the desk.\n",  # a sentence
        "Reset your password at\nid.example.\n\nCall the desk.\n",  # a wrapped paragraph
        f"{'A very long first line that runs on ' * 4}\n\nCall the desk.\n",
        f"{'A long first line that runs on ' * 3}\nCall the desk.\n",
        "Only a title line\n",  # nothing follows it
    ],
)
def test_a_first_paragraph_that_is_not_a_title_line_stays_text(tmp_path, text):
    _write(tmp_path, "notes.txt", text)
    doc = _load(tmp_path, "notes.txt")
    assert doc.title == "notes"
    assert all(b.kind == "text" for b in doc.blocks)


def test_html_keeps_visible_text_and_drops_scripts_and_styles(tmp_path):
    _write(
        tmp_path,
        "support/warranty.html",
        "<html><head><title>Warranty Claims</title><style>p { color: red }</style>"
        "<script>alert('secret')</script></head><body>"
        "<h1>Claims</h1><p>Every product has a <b>2-year</b> warranty.</p>"
        "<ul><li>Order number</li><li>Two photos</li></ul>"
        "<table><tr><th>Tier</th><th>Days</th></tr><tr><td>Gold</td><td>2</td></tr></table>"
        "<script type='text/javascript'>var x = 'hidden';</script></body></html>",
    )
    doc = _load(tmp_path, "support/warranty.html")
    assert doc.title == "Warranty Claims"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Claims"),
        ("text", "Every product has a 2-year warranty."),
        ("text", "Order number"),
        ("text", "Two photos"),
        ("row", "Tier: Gold; Days: 2."),
    ]
    assert "secret" not in doc.text and "hidden" not in doc.text and "color" not in doc.text


def test_html_page_with_a_table_scripts_and_navigation(tmp_path):
    _write(
        tmp_path,
        "support/sla.html",
        "<!doctype html><html><head><title>SLA</title>"
        "<script>var token = 'secret';</script></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/help'>Help</a></nav>"
        "<header><h1>Service levels</h1></header>"
        "<main><p>Response   times\n are <a href='#t'>below</a>.</p>"
        "<table><caption>Tiers</caption>"
        "<thead><tr><th>Tier</th><th>First response</th><th>Resolution</th></tr></thead>"
        "<tbody><tr><th>Gold</th><td>1 hour</td><td>1 <b>business</b> day</td></tr>"
        "<tr><td>Silver</td><td>8 hours<br>(weekdays)</td><td></td></tr>"
        "<tr><td> </td><td></td><td></td></tr></tbody></table>"
        "<table><tr><td>Rome</td><td>Italy</td></tr></table>"
        "<!-- internal note --><noscript>Enable JavaScript</noscript></main>"
        "<footer>&copy; 2026 Example Ltd</footer>"
        "<script>track('page')</script></body></html>",
    )
    doc = _load(tmp_path, "support/sla.html")
    assert doc.title == "SLA"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Service levels"),
        ("text", "Response times are below."),
        ("row", "Gold: First response: 1 hour; Resolution: 1 business day."),
        ("row", "Silver: First response: 8 hours (weekdays)."),
        ("row", "Rome; Italy."),
    ]
    for noise in ("secret", "track", "Home", "Help", "Example Ltd", "internal", "JavaScript"):
        assert noise not in doc.text


def test_html_list_items_know_how_deep_in_lists_they_are(tmp_path):
    _write(
        tmp_path,
        "it/setup.html",
        "<html><body><h1>Set up</h1><p>Pick a plan:</p>"
        "<ol><li>Basic</li><li><p>Pro, with:</p><ul><li>admin rights</li></ul>"
        "<p>and a key</p></li></ol><p>Done.</p></body></html>",
    )
    doc = _load(tmp_path, "it/setup.html")
    assert [(b.text, b.level) for b in doc.blocks if b.kind == "text"] == [
        ("Pick a plan:", 0),
        ("Basic", 1),
        ("Pro, with:", 1),
        ("admin rights", 2),
        ("and a key", 1),
        ("Done.", 0),
    ]


def test_html_headings_are_read_without_their_permalink_marks(tmp_path):
    # As Sphinx and MkDocs write them; a link into the page with words of its own stays.
    _write(
        tmp_path,
        "duties.html",
        '<body><h1>Duties<a class="headerlink" href="#duties" title="Permalink">¶</a></h1>'
        '<h2 id="vac">Vacations<a href="#vac">§</a></h2>'
        '<p>Send a [VAC] mail, as <a href="#duties">the duties</a> say.</p></body>',
    )
    doc = _load(tmp_path, "duties.html")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Duties"),
        ("heading", "Vacations"),
        ("text", "Send a [VAC] mail, as the duties say."),
    ]


def test_a_definition_lists_term_leads_its_definition_and_docbook_chrome_goes(tmp_path):
    # As PostgreSQL's DocBook pages are: a navigation table above and below the text.
    _write(
        tmp_path,
        "auth.html",
        '<body><div class="navheader"><table><tr><td>Prev</td><td>Up</td><td>Next</td></tr>'
        "</table></div><h1>Password Authentication</h1><dl>"
        "<dt>scram-sha-256</dt><dd><p>Performs SCRAM authentication.</p>"
        "<p>This is the most secure method.</p></dd>"
        "<dt>md5</dt><dt>password:</dt><dd>Older methods.</dd><dt>trust</dt></dl>"
        "<dl><dt>There must be an issue.</dt><dd>See more below.</dd></dl>"
        '<p>Choose one.</p><div class="navfooter"><a href="x.html">Home</a></div></body>',
    )
    doc = _load(tmp_path, "auth.html")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Password Authentication"),
        ("text", "scram-sha-256: Performs SCRAM authentication."),
        ("text", "This is the most secure method."),
        ("text", "md5, password: Older methods."),
        ("text", "trust"),  # a term without a definition stands alone
        ("text", "There must be an issue. See more below."),  # a sentence reads on
        ("text", "Choose one."),
    ]


def test_html_without_title_uses_first_h1(tmp_path):
    _write(tmp_path, "page.htm", "<body><h2>Sub</h2><h1>Main &amp; more</h1><p>x</p></body>")
    assert _load(tmp_path, "page.htm").title == "Main & more"


def test_a_pdf_that_places_each_word_is_read_with_the_spaces_between_them(tmp_path):
    # A real page pypdf reads as "installationofuploadedfiles" (tests/data/pdf/SOURCE.md).
    page = Path(__file__).parents[1] / "data" / "pdf" / "debian-policy-control-files.pdf"
    _write(tmp_path, "policy.pdf", page.read_bytes())
    doc = _load(tmp_path, "policy.pdf")
    assert "control the installation of uploaded files." in doc.text
    assert (
        "Parsers may accept lines consisting solely of spaces and tabs as stanza separators, "
        "but control files should use empty lines." in doc.text
    )
    assert ("heading", "5.1 Syntax of control files") in [(b.kind, b.text) for b in doc.blocks]
    assert not re.search(r"[^\W\d_]{25,}", doc.text)  # no run of letters longer than a word


def test_pdf_is_read_page_after_page_with_its_title(tmp_path):
    pdf = make_pdf(
        [["Expense policy", "", "Meals are reimbursed up to 50 USD."], ["Hotels need receipts."]],
        title="Travel and Expenses",
    )
    _write(tmp_path, "finance/expenses.pdf", pdf)
    doc = _load(tmp_path, "finance/expenses.pdf")
    assert doc.title == "Travel and Expenses"
    assert doc.format == "pdf"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("text", "Expense policy"),
        ("text", "Meals are reimbursed up to 50 USD."),
        ("text", "Hotels need receipts."),
    ]


def test_pdf_without_title_uses_file_name(tmp_path):
    _write(tmp_path, "scan.pdf", make_pdf([["Hello."]]))
    assert _load(tmp_path, "scan.pdf").title == "scan"


def test_corrupt_pdf_is_an_error(tmp_path):
    _write(tmp_path, "broken.pdf", b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(WorkspaceError, match="PDF") as caught:
        _load(tmp_path, "broken.pdf")
    assert caught.value.file == "knowledge/broken.pdf"


def test_csv_rows_are_rendered_with_their_headers(tmp_path):
    _write(
        tmp_path,
        "sales/price-list.csv",
        'sku,product,msrp_usd\nNW-1,"Ridgeline 2P Tent, green",449.00\n\nNW-2,Cascade Pack,229.00\n',
    )
    doc = _load(tmp_path, "sales/price-list.csv")
    assert doc.title == "price-list"
    assert doc.id == "sales/price-list"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("row", "NW-1: Product: Ridgeline 2P Tent, green; Msrp (USD): 449.00."),
        ("row", "NW-2: Product: Cascade Pack; Msrp (USD): 229.00."),
    ]


def test_every_csv_row_has_one_layout_with_readable_column_names(tmp_path):
    _write(
        tmp_path,
        "front-desk/price-list.csv",
        "service,price_gbp,notes\n"
        "Microchipping,25.00,\n"
        "Cat vaccination booster,62.50,includes health check\n"
        ",12.00,bring the card\n",
    )
    doc = _load(tmp_path, "front-desk/price-list.csv")
    rows = [b.text for b in doc.blocks]
    assert rows == [
        "Microchipping: Price (GBP): 25.00.",
        "Cat vaccination booster: Price (GBP): 62.50; Notes: includes health check.",
        "Price (GBP): 12.00; Notes: bring the card.",
    ]
    (chunk,) = chunk_blocks(doc.blocks)
    assert [(u.kind, u.text) for u in split_sentences(chunk.text)] == [("row", r) for r in rows]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("price_gbp", "Price (GBP)"),
        ("weight_kg", "Weight (kg)"),
        ("service", "Service"),
        ("first_seen_on", "First seen on"),
        ("Hourly rate 2026 (GBP)", "Hourly rate 2026 (GBP)"),
        ("iPhone model", "iPhone model"),
        ("SKU", "SKU"),
    ],
)
def test_machine_style_column_names_read_as_words(header, name):
    assert column_name(header) == name


def test_a_csv_record_reads_as_one_sentence(tmp_path):
    _write(
        tmp_path,
        "billing/rates.csv",
        "Grade,Hourly rate 2026 (GBP),Hourly rate 2025 (GBP)\n"
        "Partner,695,650\n"
        "Senior Associate,510,\n",
    )
    doc = _load(tmp_path, "billing/rates.csv")
    rows = [b.text for b in doc.blocks]
    assert rows == [
        "Partner: Hourly rate 2026 (GBP): 695; Hourly rate 2025 (GBP): 650.",
        "Senior Associate: Hourly rate 2026 (GBP): 510.",
    ]
    (chunk,) = chunk_blocks(doc.blocks)
    assert [(u.kind, u.text) for u in split_sentences(chunk.text)] == [("row", r) for r in rows]


@pytest.mark.parametrize(
    ("header", "cells", "sentence"),
    [
        (["Region", "Allowance"], ["EMEA", "EUR 60"], "Region: EMEA; Allowance: EUR 60."),
        (["Item", "Note", "Cost"], ["Taxi", "Receipt needed!", ""], "Taxi: Note: Receipt needed!"),
        (["Item", "Note", "Cost"], ["", "Shared", "EUR 5"], "Note: Shared; Cost: EUR 5."),
        (["Item", "", "Cost"], ["Bus", "Day ticket", "EUR 7"], "Bus: Day ticket; Cost: EUR 7."),
        (["Time", "Room", "Host"], ["09:00", "B2", "Ana"], "Time: 09:00; Room: B2; Host: Ana."),
        (["Topic", "A", "B"], ["x" * 61, "1", "2"], f"Topic: {'x' * 61}; A: 1; B: 2."),
        (None, ["Gold", " 1  hour "], "Gold; 1 hour."),
        (["Grade", "Rate"], ["Trainee", ""], "Grade: Trainee."),
        (["Item", "Note", "Cost"], ["Taxi", "", ""], "Item: Taxi."),
        (["Only"], ["a", "b"], "a; b."),
        (["A", "B"], ["", " "], ""),
    ],
)
def test_render_row(header, cells, sentence):
    assert render_row(header, cells) == sentence


def test_semicolon_separated_csv(tmp_path):
    _write(tmp_path, "eu.csv", "Land;Feiertage\nDeutschland;9\n")
    assert _load(tmp_path, "eu.csv").blocks[0].text == "Land: Deutschland; Feiertage: 9."


def test_unsupported_file_type_is_refused(tmp_path):
    _write(tmp_path, "slides.key", b"PK")
    with pytest.raises(WorkspaceError, match="unsupported"):
        _load(tmp_path, "slides.key")


def test_later_headings_in_plain_text_head_their_sections_and_stand_apart(tmp_path):
    _write(
        tmp_path,
        "hr/leave.txt",
        "Staff handbook\n"
        "==============\n\n"
        "Annual leave\n"
        "Staff get 25 days of annual leave a year, plus public\n"
        "holidays, and may carry five days into the next year.\n\n"
        "2. Sick leave\n\n"
        "Tell your manager before 10am on the first day.\n\n"
        "Expenses\n"
        "--------\n"
        "Claims are paid with the next salary.\n",
    )
    doc = _load(tmp_path, "hr/leave.txt")
    assert doc.title == "Staff handbook"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "Staff handbook", 1),
        ("heading", "Annual leave", 2),
        (
            "text",
            "Staff get 25 days of annual leave a year, plus public holidays, and may carry"
            " five days into the next year.",
            0,
        ),
        ("heading", "2. Sick leave", 2),
        ("text", "Tell your manager before 10am on the first day.", 0),
        ("heading", "Expenses", 2),
        ("text", "Claims are paid with the next salary.", 0),
    ]
    chunks = chunk_blocks(doc.blocks, title=doc.title)
    sick = next(c for c in chunks if "10am" in c.text)
    assert sick.heading.endswith("2. Sick leave")
    assert "Tell your manager before 10am on the first day." in [
        u.text for u in split_sentences(sick.text)
    ]


def test_a_text_file_without_a_title_line_is_not_titled_by_a_later_heading(tmp_path):
    _write(tmp_path, "notes.txt", "Opening hours are 9 to 5.\n\nParking\n\nUse the back lot.\n")
    doc = _load(tmp_path, "notes.txt")
    assert doc.title == "notes"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("text", "Opening hours are 9 to 5."),
        ("heading", "Parking"),
        ("text", "Use the back lot."),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # a line with a figure in it is a fact, not a heading
        "Front desk\n\nOpen 8am to 6pm weekdays\n\nThe desk takes parcels.\n",
        # a list written one item per paragraph
        "Front desk\n\nBring your badge\n\nSign the visitor book\n\nWear the lanyard\n",
        # a bullet, and a label with its value
        "Front desk\n\n- Bring your badge\n\nThe desk takes parcels.\n",
        "Front desk\n\nContact: Jane Smith\n\nThe desk takes parcels.\n",
        # a wrapped line that runs on into the next
        "Front desk\n\nParcels are signed for and sent to\nReception by noon each day.\n",
    ],
)
def test_lines_that_may_be_facts_stay_text_in_plain_text(tmp_path, text):
    _write(tmp_path, "desk.txt", text)
    doc = _load(tmp_path, "desk.txt")
    assert [b.kind for b in doc.blocks][0] == "heading"  # the title line
    assert all(b.kind == "text" for b in doc.blocks[1:])


def test_a_word_typeset_across_two_lines_of_plain_text_is_one_word(tmp_path):
    _write(
        tmp_path,
        "adduser.txt",
        "Adduser defaults\n\nNote that chang\u2010\n       ing the default permissions may cause"
        " trouble. A well-\nknown name is kept, and so is a soft hyphen\u00ad\nated word.\n",
    )
    doc = _load(tmp_path, "adduser.txt")
    [text] = [b.text for b in doc.blocks if b.kind == "text"]
    assert "Note that changing the default permissions may cause trouble." in text
    assert "well- known" in text and "hyphenated word." in text


def test_a_text_file_written_in_markdown_is_read_as_markdown(tmp_path):
    _write(
        tmp_path,
        "onboarding.txt",
        "# Onboarding guide\n\nWelcome. This covers your **first week**.\n\n## Accounts\n\n"
        "- Request a laptop from [IT](https://it.example.com).\n- Set up 2FA within 24 hours.\n\n"
        "| Item | When |\n|---|---|\n| Payday | 25th of each month |\n",
    )
    document = _load(tmp_path, "onboarding.txt")
    assert document.title == "Onboarding guide" and document.format == "txt"
    assert [b.text for b in document.blocks if b.kind == "heading"] == [
        "Onboarding guide",
        "Accounts",
    ]
    assert "Request a laptop from IT." in document.text and "**" not in document.text
    assert any(b.kind == "row" and "Payday" in b.text for b in document.blocks)


def test_a_text_file_with_one_hash_line_stays_plain_text(tmp_path):
    _write(tmp_path, "notes.txt", "Leave rules\n\n# not a heading, a note\nStaff get 25 days.\n")
    document = _load(tmp_path, "notes.txt")
    assert document.title == "Leave rules" and "# not a heading" in document.text


def test_a_heading_that_names_a_part_of_any_document_is_no_title(tmp_path):
    _write(
        tmp_path,
        "bash-manual.txt",
        "NAME\n\nbash - GNU Bourne-Again SHell\n\nSYNOPSIS\n\nbash [options]\n",
    )
    _write(tmp_path, "report.md", "# Abstract\n\nWe measured the queue.\n")
    assert _load(tmp_path, "bash-manual.txt").title == "bash-manual"
    assert _load(tmp_path, "report.md").title == "report"


def test_myst_markdown_reads_as_its_readers_see_it(tmp_path):
    _write(
        tmp_path,
        "eng/triage.md",
        "```{note}\nThis page is being [written](https://example.com/6583).\n```\n\n"
        "(triage-target)=\n# Issue triage\n\n% a comment for the page's authors\n"
        "Closed issues are locked after 30 days; see {ref}`the news file <news-file>`.\n\n"
        ":::{warning}\n:class: tip\nNever close a **security** report.\n:::\n\n"
        "```{toctree}\n:maxdepth: 2\nlabels\n```\n\n"
        "```{versionadded} 2.1\nThe triage label.\n```\n\n"
        "Stale\n: An issue with no reply for 14 days.\n\n"
        "```{code-block} python\nprint('kept as code')\n```\n",
    )
    doc = _load(tmp_path, "eng/triage.md")
    assert [b.text for b in doc.blocks] == [
        "This page is being written.",
        "Issue triage",
        "Closed issues are locked after 30 days; see the news file.",
        "Never close a security report.",
        "New in version 2.1: The triage label.",
        "Stale: An issue with no reply for 14 days.",
        "print('kept as code')",
    ]
