"""`/trellis about` and "About Trellis here" on App Home, through the real Bolt app and the
sandbox: eight answers for the person acting, and nothing about documents they may not see."""

from __future__ import annotations

import re

from app.domain import AccessScope
from app.knowledge.search import get_documents
from tests.harness import RunningTrellis, blocks_text, running_trellis

LIAM = "liam.carter@northwind.example"
ROSA = "rosa.delgado@northwind.example"
QUESTIONS = (
    "Who can access this?",
    "What data can it see?",
    "Can it take action or only draft?",
    "What needs approval?",
    "What gets logged?",
    "What happens when it is wrong?",
    "Who supports it?",
    "How do we know whether it is improving?",
)


async def about_as(trellis: RunningTrellis, email: str) -> str:
    user = trellis.user(email)
    await trellis.sandbox.slash_command(user, trellis.channel("general"), "/trellis", "about")
    shown = await trellis.sandbox.wait_for_ephemeral(
        user, lambda e: "About Trellis at" in blocks_text(e.blocks), 10
    )
    return f"{shown.text}\n{blocks_text(shown.blocks)}"


def named_in_configuration(trellis: RunningTrellis) -> set[str]:
    """Principals the workspace's own settings name, which any reader may be told."""
    workspace = trellis.services.workspace
    config = workspace.config
    named = {*config.admins, *config.flags.flaggers}
    named |= {p for _, p in workspace.rules.principal_refs()}
    return named


async def test_every_demo_person_gets_eight_answers_and_nothing_of_documents_they_may_not_see(
    tmp_path,
):
    async with running_trellis(tmp_path) as trellis:
        services = trellis.services
        everything = await get_documents(services.database)
        configured = named_in_configuration(trellis)
        for person in services.workspace.directory.people:
            text = await about_as(trellis, person.email)
            assert all(question in text for question in QUESTIONS), person.email
            assert person.name in text

            visible = {
                d.id
                for d in await get_documents(
                    services.database, scope=AccessScope.for_person(person)
                )
            }
            seen = [d for d in everything if d.id in visible and d.status != "draft"]
            hidden = [d for d in everything if d.id not in visible]
            assert f"you may see {len(seen)} document" in text, person.email
            folders = re.search(r"By folder: (.*)\.", text)
            assert folders is not None
            shown = dict(item.rsplit(" ", 1) for item in folders.group(1).split(", "))
            assert sum(int(n) for n in shown.values()) == len(seen), person.email
            assert set(shown) == {d.path.split("/")[0] for d in seen}, person.email

            allowed_owners = {d.owner for d in seen} | configured | person.groups
            for document in hidden:
                assert document.title not in text, (person.email, document.title)
                if document.owner and document.owner not in allowed_owners:
                    assert not re.search(rf"\b{re.escape(document.owner)}\b", text), (
                        person.email,
                        document.owner,
                    )


async def test_liam_in_sales_and_rosa_leading_support_are_told_different_things(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        liam = await about_as(trellis, LIAM)
        rosa = await about_as(trellis, ROSA)

    assert "You are Liam Carter (liam.carter@northwind.example), in sales." in liam
    assert (
        "You are Rosa Delgado (rosa.delgado@northwind.example), in support, support-leads" in rosa
    )
    discount = re.compile(r"Discount request \(`/trellis discount_request`.*You may start it\.")
    reply = re.compile(r"Customer reply \(`/trellis customer_reply`.*You may start it\.")
    assert discount.search(liam) and not reply.search(liam)
    assert reply.search(rosa) and not discount.search(rosa)
    assert "You may not flag" in liam and "You may flag." in rosa
    assert "sales 3" in liam and "sales 3" not in rosa
    # The approval tiers are the workspace's, the same for both, in words.
    for text in (liam, rosa):
        assert (
            "Discount more than 10 % and up to 25 %: one of sales-managers (Sofia Marino)" in text
        )
        assert "From: rules.yml workflows.*.approval" in text


async def test_app_home_has_an_about_section_for_the_person_opening_it(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sandbox, liam = trellis.sandbox, trellis.user(LIAM)
        await sandbox.open_home(liam)
        await sandbox.wait_for_call("views.publish", lambda c: c.params.get("user_id") == liam)
        home = blocks_text(sandbox.home_view(liam).spec["blocks"])
    assert "About Trellis here" in home
    assert all(question in home for question in QUESTIONS)
    assert "`/trellis about` shows every answer in full" in home
    # Home shows each answer's summary alone: none points at details that do not follow.
    assert "the tiers below" not in home
    assert "as each workflow's approval tiers in rules.yml say" in home


async def test_someone_outside_the_directory_is_told_why_and_nothing_else(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        guest = trellis.user("gina@contractor.example")
        await trellis.sandbox.slash_command(guest, trellis.channel("general"), "/trellis", "about")
        shown = await trellis.sandbox.wait_for_ephemeral(guest, None, 10)
    assert "can't verify who you are" in shown.text
    assert "About Trellis at" not in f"{shown.text}{blocks_text(shown.blocks)}"


async def test_help_points_to_about(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        ack = await trellis.sandbox.slash_command(
            trellis.user(LIAM), trellis.channel("general"), "/trellis", "help"
        )
    assert "`/trellis about`" in (ack.get("text") or "")


async def test_help_names_nothing_internal_to_a_guest_nor_in_a_channel_a_guest_reads(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        guest, general = trellis.user("gina@contractor.example"), trellis.channel("general")
        internal = ("#help-trellis", "discount_request", "trellis-admins")
        for verb in ("help", "halp"):  # help, and an unknown verb's help
            ack = await trellis.sandbox.slash_command(guest, general, "/trellis", verb)
            shown = f"{ack.get('text')} {ack.get('blocks')}"
            assert "can't verify who you are" in shown
            assert not [name for name in internal if name in shown]

        # Liam is told everything when he alone reads it, not in #general, where Gina reads.
        liam = trellis.user(LIAM)
        ack = await trellis.sandbox.slash_command(liam, general, "/trellis", "help")
        assert all(name in ack["text"] for name in internal)
        ts = await trellis.ask(LIAM, "general", "")
        shown = (await trellis.answer_in_thread("general", ts)).text
        assert "answers the questions of the people in this organisation" in shown
        assert not [name for name in internal if name in shown]
        ts = await trellis.ask(LIAM, "sales", "")
        assert "#help-trellis" in (await trellis.answer_in_thread("sales", ts)).text
