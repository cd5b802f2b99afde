"""Citation links are limited to trellis.yml `knowledge.allowed_url_prefixes` (http and https
only when unset): a document's front-matter `url` outside them is dropped at ingest with a
warning naming the file, `trellis check` lists it, and its citations show no link."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.config.links import url_allowed
from app.config.workspace import default_workspace_path, load_workspace
from app.db.migrate import upgrade
from app.db.session import Database
from app.knowledge.ingest import ingest
from tests.harness import blocks_text, running_trellis
from tests.logging_state import restore_logging  # noqa: F401

SAM = "sam.ortiz@northwind.example"
WIKI = "https://wiki.northwind.example/"
LOOKALIKE = "https://wiki.northwind.example.evil.test/hr/pto"
PTO = "knowledge/hr/pto-2025.md"


def workspace_with(tmp_path: Path, *, url: str, prefixes: list[str] | None) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    pto = root / PTO
    pto.write_text(
        pto.read_text().replace("url: https://wiki.northwind.example/hr/pto", f"url: {url}")
    )
    if prefixes is not None:
        config = root / "trellis.yml"
        config.write_text(
            config.read_text()
            + "knowledge:\n  allowed_url_prefixes: ["
            + ", ".join(f'"{p}"' for p in prefixes)
            + "]\n"
        )
    return root


@pytest.mark.parametrize(
    ("url", "prefixes", "allowed"),
    [
        ("https://wiki.northwind.example/hr/pto", None, True),
        ("http://wiki.northwind.example/hr/pto", None, True),
        ("javascript:alert(1)", None, False),
        ("data:text/html,<b>hi</b>", None, False),
        ("JavaScript:alert(1)", None, False),
        ("https://", None, False),
        ("https://wiki.northwind.example/hr/pto", [WIKI], True),
        ("HTTPS://Wiki.Northwind.Example/hr/pto", [WIKI], True),
        (LOOKALIKE, [WIKI], False),
        ("https://wiki.northwind.example.evil.test/", ["https://wiki.northwind.example"], False),
        ("https://wiki.northwind.example@evil.test/", ["https://wiki.northwind.example"], False),
        ("https://wiki.northwind.example/x", ["https://wiki.northwind.example"], True),
        ("https://intranet.northwind.example/hr", [WIKI], False),
        ("https://wiki.northwind.example/hr\n", [WIKI], False),
    ],
)
def test_which_links_a_citation_may_carry(url, prefixes, allowed):
    assert url_allowed(url, prefixes) is allowed


def test_a_prefix_must_be_a_web_address(tmp_path):
    root = workspace_with(tmp_path, url=WIKI + "hr/pto", prefixes=["javascript:"])
    done = CliRunner().invoke(cli, ["check", "--workspace", str(root)])
    assert done.exit_code == 1
    assert "is not an http:// or https:// address" in " ".join(done.output.split())


async def test_a_link_outside_the_prefixes_is_dropped_at_ingest_with_a_warning(tmp_path):
    root = workspace_with(tmp_path, url=LOOKALIKE, prefixes=[WIKI])
    workspace = load_workspace(root)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'links.db'}")
    try:
        await upgrade(database)
        report = await ingest(
            database,
            workspace.knowledge_dir,
            workspace_root=root,
            retrieval="keyword",
            allowed_url_prefixes=workspace.config.knowledge.allowed_url_prefixes,
        )
    finally:
        await database.dispose()
    assert report.ok
    assert [str(w).split(":")[0] for w in report.warnings] == [PTO]
    assert "url not allowed" in str(report.warnings[0])


async def test_without_prefixes_only_web_links_are_kept(tmp_path):
    root = workspace_with(tmp_path, url="javascript:alert(1)", prefixes=None)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'links.db'}")
    try:
        await upgrade(database)
        report = await ingest(
            database, root / "knowledge", workspace_root=root, retrieval="keyword"
        )
    finally:
        await database.dispose()
    assert [str(w).split(":")[0] for w in report.warnings] == [PTO]


def test_check_lists_a_link_that_is_not_allowed(tmp_path):
    root = workspace_with(tmp_path, url=LOOKALIKE, prefixes=[WIKI])
    done = CliRunner().invoke(cli, ["check", "--workspace", str(root)])
    said = " ".join(done.output.split())
    assert f"{PTO}: url not allowed" in said, done.output


@pytest.mark.usefixtures("restore_logging")
async def test_the_citation_of_such_a_document_shows_no_link(tmp_path):
    root = workspace_with(tmp_path, url=LOOKALIKE, prefixes=[WIKI])
    async with running_trellis(tmp_path, workspace=root) as trellis:
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(
            sam, trellis.bot, "How many days of paid time off do full-time employees get per year?"
        )
        im = trellis.dm_with(SAM)
        answer = await trellis.answer_in_thread(im, ts)
        shown = blocks_text(answer.blocks)
        assert "Paid Time Off Policy" in shown
        assert "evil.test" not in shown
        assert "evil.test" not in str(answer.blocks)
