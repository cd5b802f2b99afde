"""End to end: a question nobody could answer. Its asker is told that it goes to the topic's
owners and may keep it from them with a button while it waits; with trellis.yml
`answers.owner_notice: redacted` the owners hear counts, never words (real Bolt app, sandbox)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from app.answering.base import NOTE_ASKER_OWNS
from app.answering.compose import Reply
from app.config.workspace import AnswersConfig
from app.db.models.feedback import OwnerNotice
from app.domain import AnswerStatus
from app.pipeline import Outcome
from app.trust import digest, home, owners
from handlers.views.answers import DONT_FORWARD
from tests.e2e.test_trust_loop import KENJI, SAM, ask_and_wait, eventually, rows, workspace_copy
from tests.harness import blocks_text, running_trellis, shown_text

BRAZIL = "What is the parental leave policy in Brazil?"
PTO = "How many days of paid time off do full-time employees get per year?"
GRACE = "grace.adeyemi@northwind.example"  # people-ops: owns the HR documents


def owner_notices(trellis) -> list:
    channel = trellis.channel("trellis-owners")
    return [
        m for m in trellis.sandbox.messages(channel) if "could not answer" in blocks_text(m.blocks)
    ]


def buttons(message) -> list[dict]:
    return [e for b in message.blocks or [] if b.get("type") == "actions" for e in b["elements"]]


async def waiting(services, count: int) -> None:
    async def notices_waiting() -> bool:
        found = await rows(services, OwnerNotice, OwnerNotice.sent_at.is_(None))
        return len(found) == count

    await eventually(notices_waiting)


def after_the_delay(services):
    return services.clock() + timedelta(seconds=services.settings.owner_notice_delay_seconds)


async def press(trellis, email: str, answer, words: str):
    """Press "Don't forward my question" under `answer` as `email`; the ephemeral reply."""
    user, channel = trellis.user(email), trellis.channel("support")
    await trellis.sandbox.click_button(user, channel, answer.ts, DONT_FORWARD)
    return await trellis.sandbox.wait_for_ephemeral(user, lambda e: words in e.text)


async def test_the_asker_is_told_and_pressing_the_button_in_time_keeps_the_question_from_the_owners(
    tmp_path,
):
    async with running_trellis(tmp_path) as trellis:
        services = trellis.services
        answer = await ask_and_wait(trellis, SAM, "support", BRAZIL)
        text = shown_text(answer)
        assert "The people who own this topic are:" in text
        assert "pass your question on to them as you wrote it" in text
        assert ("Don't forward my question", DONT_FORWARD) in [
            (b["text"]["text"], b["action_id"]) for b in buttons(answer)
        ]
        await waiting(services, 1)

        await press(trellis, KENJI, answer, "Only the person who asked")
        [notice] = await rows(services, OwnerNotice)
        assert notice.withdrawn_at is None  # someone else's press changed nothing

        await press(trellis, SAM, answer, "I won't forward it")
        assert await owners.flush_notices(services, now=after_the_delay(services)) == 0
        assert await owners.flush_notices(services, now=services.clock() + timedelta(hours=1)) == 0
        assert owner_notices(trellis) == []
        [notice] = await rows(services, OwnerNotice)
        assert notice.withdrawn_at is not None and notice.sent_at is None
        week = await digest.build_digest(services)
        assert week.board.top_unanswered == ()  # nor is it quoted in the owners' digest

        await press(trellis, SAM, answer, "I won't forward it")  # pressing again: the same


async def test_pressing_the_button_after_the_owners_heard_says_it_was_already_sent(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        services = trellis.services
        answer = await ask_and_wait(trellis, SAM, "support", BRAZIL)
        await waiting(services, 1)
        assert await owners.flush_notices(services, now=after_the_delay(services)) == 1
        [notice] = owner_notices(trellis)
        assert "parental leave policy in Brazil" in blocks_text(notice.blocks)

        await press(trellis, SAM, answer, "already passed on")
        [row] = await rows(services, OwnerNotice)
        assert row.withdrawn_at is None and row.sent_at is not None


async def test_redacted_notices_give_the_owners_counts_and_names_but_no_question_text(tmp_path):
    workspace = workspace_copy(tmp_path)
    config = workspace / "trellis.yml"
    config.write_text(
        config.read_text().replace(
            "  min_confidence: 0.5\n", "  min_confidence: 0.5\n  owner_notice: redacted\n", 1
        )
    )
    async with running_trellis(tmp_path, workspace=workspace) as trellis:
        services = trellis.services
        assert services.workspace.config.answers.owner_notice == "redacted"
        answer = await ask_and_wait(trellis, SAM, "support", BRAZIL)
        assert "without your words" in shown_text(answer)
        await ask_and_wait(trellis, SAM, "support", "What is the parental leave policy on Mars?")
        await waiting(services, 2)

        assert await owners.flush_notices(services, now=after_the_delay(services)) == 1
        [notice] = owner_notices(trellis)
        shown = f"{notice.text}\n{blocks_text(notice.blocks)}"
        assert "2 questions" in shown and f"<@{trellis.user(GRACE)}>" in shown
        assert "redacted" in shown
        for words in ("Brazil", "Mars", "parental", "leave"):
            assert words not in shown
        week = await digest.build_digest(services)
        assert week.board.top_unanswered == ()

        # Documents that disagree are named, the question that found them is not.
        reply = Reply(
            AnswerStatus.ANSWERED, "Both.", notes=("conflict: hr-pto-2025, company-handbook",)
        )
        outcome = Outcome("audit-1", AnswerStatus.ANSWERED, reply)
        await owners.after_question(services, outcome=outcome, question="How many PTO days?")
        conflict = await trellis.sandbox.wait_for_message(
            trellis.channel("trellis-owners"),
            lambda m: "Documents disagree" in blocks_text(m.blocks),
        )
        shown = blocks_text(conflict.blocks)
        assert "Paid Time Off" in shown and "PTO days" not in shown


def test_owner_notice_is_full_or_redacted():
    assert AnswersConfig().owner_notice == "full"
    assert AnswersConfig(owner_notice="redacted").owner_notice == "redacted"
    with pytest.raises(ValidationError):
        AnswersConfig(owner_notice="partial")  # type: ignore[arg-type]


async def test_a_question_answered_for_its_asker_alone_is_not_among_the_unanswered(tmp_path):
    # #general has a guest, so the channel is not answered about PTO; Sam is
    # answered in full, privately. The Brazil question is answered for nobody.
    async with running_trellis(tmp_path) as trellis:
        services = trellis.services
        public = await ask_and_wait(trellis, SAM, "general", PTO)
        assert "couldn't find a well-supported answer" in shown_text(public)
        assert "pass your question on" not in shown_text(public)
        await trellis.sandbox.wait_for_ephemeral(
            trellis.user(SAM), lambda e: "Only you can see" in blocks_text(e.blocks)
        )
        await ask_and_wait(trellis, SAM, "support", BRAZIL)
        board = await home.dashboard(services)
        assert [question for question, _ in board.top_unanswered] == [BRAZIL]
        week = await digest.build_digest(services)
        assert [question for question, _ in week.board.top_unanswered] == [BRAZIL]


async def test_a_question_the_topics_only_owner_asks_is_not_passed_on_to_them(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        # Grace alone is people-ops, which owns the HR documents; she asks in a DM.
        ts = await trellis.sandbox.post_message(trellis.user(GRACE), trellis.bot, BRAZIL)
        answer = await trellis.answer_in_thread(trellis.dm_with(GRACE), ts)
        text = shown_text(answer)
        assert "You own this topic's documents, so the question is not passed on" in text
        assert DONT_FORWARD not in str(answer.blocks)  # nothing to keep from anyone


async def test_no_notice_is_queued_for_a_question_its_asker_alone_owns(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        services = trellis.services
        owned = Reply(AnswerStatus.NO_ANSWER, "…", notes=(NOTE_ASKER_OWNS,), answer_id="a-1")
        await owners.after_question(
            services, outcome=Outcome("audit-1", AnswerStatus.NO_ANSWER, owned), question=BRAZIL
        )
        assert await rows(services, OwnerNotice) == []
        # The same reply without the note is passed on: the check above could fail.
        other = Reply(AnswerStatus.NO_ANSWER, "…", owners=("people-ops",), answer_id="a-2")
        await owners.after_question(
            services, outcome=Outcome("audit-2", AnswerStatus.NO_ANSWER, other), question=BRAZIL
        )
        assert [n.id for n in await rows(services, OwnerNotice)] == ["a-2"]
