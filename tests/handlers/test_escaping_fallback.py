"""The plain-text fallback of a message (what notifications show) is escaped like its blocks."""

from __future__ import annotations

import shutil

from app.config.workspace import default_workspace_path
from app.db.models.feedback import Flag
from app.trust import owners
from tests.e2e.test_trust_loop import eventually, rows
from tests.harness import running_trellis

SAM = "sam.ortiz@northwind.example"
QUESTION = (
    "A customer forwarded an email saying their account has been locked and they must "
    "restore access within 24 hours. Is that from us?"
)


async def test_broadcasts_and_spoofed_links_in_documents_are_inert_in_the_notification_text(
    tmp_path,
):
    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts)
        assert "&lt;!channel&gt;" in answer.text or "&lt;https://evil" in answer.text
        assert "<!channel>" not in answer.text
        assert "<https://evil" not in answer.text


async def test_a_broadcast_typed_into_a_flagged_question_is_inert_in_the_owners_notice(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        # "<!channel>" typed as characters: Slack delivers them escaped, Trellis reads them
        # back as typed, and must escape them again wherever it shows the question.
        ts = await trellis.ask(
            SAM, "support", "&lt;!channel&gt; What is the prepaid return label fee?"
        )
        answer = await trellis.answer_in_thread("support", ts)
        await trellis.sandbox.add_reaction(
            trellis.user(SAM), trellis.channel("support"), answer.ts, "x"
        )

        async def noticed() -> bool:
            flags = await rows(trellis.services, Flag)
            return bool(flags and flags[0].notices)

        await eventually(noticed)
        (flag,) = await rows(trellis.services, Flag)
        for notice in flag.notices:
            message = next(
                m for m in trellis.sandbox.messages(notice["channel"]) if m.ts == notice["ts"]
            )
            assert "<!channel>" not in message.text
            assert "&lt;!channel&gt;" in message.text


async def test_workspace_names_in_the_help_text_cannot_broadcast(tmp_path):
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    config = (root / "trellis.yml").read_text()
    (root / "trellis.yml").write_text(
        config.replace("name: Northwind Outfitters", 'name: "Northwind <!channel>"').replace(
            'support: "#help-trellis"', 'support: "<https://evil.example|#help-trellis>"'
        )
    )
    async with running_trellis(tmp_path, workspace=root) as trellis:
        ts = await trellis.ask(SAM, "support", "")
        help_message = await trellis.answer_in_thread("support", ts)
        assert "Northwind &lt;!channel&gt;" in help_message.text
        assert "<!channel>" not in help_message.text and "<https://evil" not in help_message.text
        ack = await trellis.sandbox.slash_command(
            trellis.user(SAM), trellis.channel("support"), "/trellis", "help"
        )
        shown = f"{ack.get('text')} {ack.get('blocks')}"
        assert "<!channel>" not in shown and "<https://evil" not in shown


async def test_a_dead_letter_about_hostile_input_cannot_broadcast_in_the_owners_channel(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        posted = await owners.notify_dead_letter(
            trellis.services,
            summary="Customer reply: email <!channel> <https://evil.example|x>",
            error="SMTP 554",
            requester_email=SAM,
        )
        assert posted
        for notice in posted:
            message = next(
                m for m in trellis.sandbox.messages(notice["channel"]) if m.ts == notice["ts"]
            )
            assert "<!channel>" not in message.text and "<https://evil" not in message.text
