"""An answer's story: `trellis audit show` tells all of it; the "Why this answer?" button
shows the clicker only what they may see."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.cli.operations import offline_services
from app.config.settings import Settings
from app.config.workspace import default_workspace_path, load_workspace
from app.errors import AccessDenied
from app.knowledge.ingest import ingest
from app.pipeline import Question, answer_question
from app.sandbox.records import View
from app.slack_people import SlackChannel
from app.trust import stories
from handlers.views.answers import WHY
from handlers.views.story import story_blocks
from tests.harness import RunningTrellis, blocks_text, running_trellis
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")

SAM = "sam.ortiz@northwind.example"
ROSA = "rosa.delgado@northwind.example"
LIAM = "liam.carter@northwind.example"
GRACE = "grace.adeyemi@northwind.example"
PTO = "How many days of paid time off do full-time employees get per year?"
SALARY = "What is the base salary range for a Senior Software Engineer?"


def why_button(blocks: list[dict] | None) -> dict:
    for block in blocks or []:
        for element in block.get("elements", []):
            if element.get("action_id") == WHY:
                return element
    raise AssertionError("no Why this answer? button")


async def opened_view(trellis: RunningTrellis, user_id: str, within: float = 5) -> View:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (views := trellis.sandbox.open_views(user_id)):
        if loop.time() > deadline:
            raise AssertionError(f"no modal opened for {user_id}")
        await asyncio.sleep(0.05)
    return views[-1]


async def why_shown(trellis: RunningTrellis, user_id: str, channel: str, message) -> str:
    """The text of the story `user_id` opens with "Why this answer?" on `message`."""
    await trellis.sandbox.click_button(
        user_id,
        trellis.channel(channel),
        message.ts,
        WHY,
        value=why_button(message.blocks)["value"],
    )
    return blocks_text((await opened_view(trellis, user_id)).spec["blocks"])


async def test_why_this_answer_opens_the_story_for_a_channel_member(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(SAM, "support", "When is Trail Day in 2026?")
        answer = await trellis.answer_in_thread("support", ts)
        button = why_button(answer.blocks)
        rosa = trellis.user(ROSA)
        await trellis.sandbox.click_button(
            rosa, trellis.channel("support"), answer.ts, WHY, value=button["value"]
        )
        view = await opened_view(trellis, rosa)
        text = blocks_text(view.spec["blocks"])
        assert view.spec["title"]["text"] == "Why this answer?"
        assert "When is Trail Day in 2026?" in text and "Asked by Sam Ortiz" in text
        assert "Company Holidays 2026" in text and "cited" in text
        assert f"version `{trellis.workspace.version}`" in text
        assert "every member of #support" in text


async def test_the_private_fuller_answer_stays_out_of_other_peoples_story(tmp_path):
    # #general has a guest, so Sam's fuller PTO answer came to him alone.
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(SAM, "general", PTO)
        public = await trellis.answer_in_thread("general", ts)
        liam = trellis.user(LIAM)
        seen_by_liam = await why_shown(trellis, liam, "general", public)
        assert "Paid Time Off" not in seen_by_liam and "hr-pto" not in seen_by_liam

        sam = trellis.user(SAM)
        private = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Only you can see" in blocks_text(e.blocks)
        )
        seen_by_sam = await why_shown(trellis, sam, "general", private)
        assert "Paid Time Off Policy" in seen_by_sam and "in your private answer" in seen_by_sam


async def test_documents_a_viewer_may_not_see_are_neither_named_nor_counted(database):
    workspace = load_workspace(default_workspace_path())
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    services = offline_services(Settings(database_url=database.url), workspace, database)
    grace = workspace.directory.by_email(GRACE)
    outcome = await answer_question(
        services,
        Question(
            text=SALARY,
            channel=SlackChannel(id="D0GRACE01", is_im=True),
            person=grace,
            slack_user_id=grace.slack_id,
        ),
    )
    full = await stories.tell(database, outcome.audit_id, directory=workspace.directory)
    assert "Salary Bands 2026" in [d.title for d in full.documents]
    liam = workspace.directory.by_email(LIAM)
    limited = await stories.tell(
        database, outcome.audit_id, directory=workspace.directory, viewer=liam
    )
    assert "Salary Bands 2026" not in [d.title for d in limited.documents]
    assert "hr-salary-bands-2026" not in [d.doc_id for d in limited.documents]
    assert limited.hidden_documents >= 1
    assert len(limited.documents) + limited.hidden_documents == len(full.documents)
    # What Liam is shown says nothing countable about the documents he may not see.
    from dataclasses import replace

    from handlers.views.story import _documents_text

    shown = _documents_text(limited)
    assert shown == _documents_text(replace(limited, hidden_documents=0))
    assert str(limited.hidden_documents) not in shown.replace("2026", "")
    # Grace's answer was a direct message: only she may open its story.
    with pytest.raises(AccessDenied):
        await stories.for_viewer(
            database, answer_id=outcome.public.answer_id, viewer=liam, directory=workspace.directory
        )


def test_audit_show_prints_the_whole_story(tmp_path, monkeypatch):
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}")
    runner = CliRunner()
    asked = runner.invoke(cli, ["ask", "--as", GRACE, "--json", SALARY])
    assert asked.exit_code == 0, asked.output
    audit_id = json.loads(asked.stdout)["audit_id"]
    shown = runner.invoke(cli, ["audit", "show", audit_id])
    assert shown.exit_code == 0, shown.output
    output = " ".join(shown.output.split())
    for expected in (
        SALARY,
        "Grace Adeyemi",
        "grace.adeyemi@northwind.example",
        "Documents considered",
        "hr-salary-bands-2026",
        "Salary Bands 2026",
        "version",
        "cost",
        "latency",
    ):
        assert expected in output
    missing = runner.invoke(cli, ["audit", "show", "no-such-id"])
    assert missing.exit_code == 1
    # A record named by its number in the chain, as `audit verify` names it, tells its story.
    numbered = runner.invoke(cli, ["audit", "show", "--json", audit_id])
    seq = re.search(r"#(\d+) at", numbered.output).group(1)  # type: ignore[union-attr]
    by_number = runner.invoke(cli, ["audit", "show", seq])
    assert by_number.exit_code == 0, by_number.output
    assert " ".join(by_number.output.split()) == output


async def test_the_story_marks_only_what_the_private_answer_cites_and_counts_each_reader_once(
    tmp_path,
):
    # #general has a guest, so Sam's PTO answer came to him alone; his fuller search also
    # found documents that answer did not cite.
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(SAM, "general", PTO)
        await trellis.answer_in_thread("general", ts)
        sam = trellis.user(SAM)
        private = await trellis.sandbox.wait_for_ephemeral(
            sam, lambda e: "Only you can see" in blocks_text(e.blocks)
        )
        shown = await why_shown(trellis, sam, "general", private)
        documents = [line for line in shown.splitlines() if line.startswith("• ")]
        in_private = [line for line in documents if "in your private answer" in line]
        assert len(in_private) == 1 and "Paid Time Off Policy" in in_private[0]
        assert any("considered for your private answer" in line for line in documents)
        # Everyone in the directory and the guest read #general; Trellis itself does not,
        # and Sam is one reader.
        readers = len(trellis.workspace.directory.people) + 1
        assert f"({readers} reader(s), 1 outside the directory)" in shown


def test_a_held_answers_outcome_says_how_its_review_ended():
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    story = stories.Story(audit_id="a1", kind="question.answered", at=at, status="needs_approval")
    assert "*Outcome:* Held for review" in blocks_text(story_blocks(story))
    story.events = [
        stories.StoryEvent("draft.created", at, "Trellis"),
        stories.StoryEvent("draft.approved", at, "Sofia Marino"),
    ]
    assert "*Outcome:* Held for review, then approved by Sofia Marino" in blocks_text(
        story_blocks(story)
    )
