"""The admins' dashboard and the owners' digest name only documents their readers may see."""

from __future__ import annotations

from app.db.models.feedback import Flag
from app.domain import AccessScope
from app.knowledge.search import get_documents
from app.trust import digest
from handlers.views.digest import digest_blocks
from tests.e2e.test_trust_loop import ROSA, SAM, ask_and_wait, eventually, rows
from tests.harness import blocks_text, running_trellis

JONAS = "jonas.berg@northwind.example"  # engineering and a Trellis admin: no support documents
QUESTION = "What apology code can I add to a delayed shipment reply?"


async def _flag_a_support_only_answer(trellis) -> list[str]:
    """Sam flags an answer in #support; the titles of its support-only sources."""
    answer = await ask_and_wait(trellis, SAM, "support", QUESTION)
    await trellis.sandbox.add_reaction(
        trellis.user(SAM), trellis.channel("support"), answer.ts, "x"
    )

    async def flagged() -> bool:
        return bool(await rows(trellis.services, Flag))

    await eventually(flagged)
    (flag,) = await rows(trellis.services, Flag)
    jonas = trellis.services.workspace.directory.by_email(JONAS)
    documents = await get_documents(trellis.services.database, doc_ids=flag.doc_ids)
    hidden = [d.title for d in documents if not AccessScope.for_person(jonas).allows(d.access)]
    assert hidden, "the flagged answer should rest on a document Jonas may not see"
    return hidden


async def test_an_admin_dashboard_does_not_name_flagged_documents_the_admin_may_not_see(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        hidden = await _flag_a_support_only_answer(trellis)
        sandbox = trellis.sandbox
        for email in (JONAS, ROSA):
            user = trellis.user(email)
            await sandbox.open_home(user)
            await sandbox.wait_for_call(
                "views.publish", lambda c, u=user: c.params.get("user_id") == u
            )

        jonas_home = blocks_text(sandbox.home_view(trellis.user(JONAS)).spec["blocks"])
        assert "Dashboard" in jonas_home and "Open flags:* 1" in jonas_home
        assert not any(title in jonas_home for title in hidden)
        rosa_home = blocks_text(sandbox.home_view(trellis.user(ROSA)).spec["blocks"])
        assert "Most-flagged documents" in rosa_home
        assert all(title in rosa_home for title in hidden)


async def test_the_weekly_digest_does_not_name_flagged_documents_the_owners_channel_may_not_see(
    tmp_path,
):
    async with running_trellis(tmp_path) as trellis:
        hidden = await _flag_a_support_only_answer(trellis)
        sent = await digest.send_weekly_digest(trellis.services)
        assert sent is not None and "1 still open" in blocks_text(digest_blocks(sent.board))
        posted = [
            m
            for m in trellis.sandbox.messages(trellis.channel("trellis-owners"))
            if "Trellis this week" in blocks_text(m.blocks)
        ]
        assert len(posted) == 1
        assert not any(title in blocks_text(posted[0].blocks) for title in hidden)
