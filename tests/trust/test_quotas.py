"""Quotas: one person asking too much, or too long a question, is told so politely, and
everyone else is still answered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from app.config.settings import Settings
from app.db.models.approvals import Draft
from app.db.repositories.records import AnswerRepository
from app.trust.metrics import Metrics
from app.trust.quotas import SLACK_MESSAGE_LIMIT, Limit, Quotas
from tests.harness import blocks_text, running_trellis, shown_text

SAM = "sam.ortiz@northwind.example"
ROSA = "rosa.delgado@northwind.example"  # support lead
DANIEL = "daniel.okafor@northwind.example"
QUESTION = "What apology code can I add to a delayed shipment reply?"


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def quotas(database, ticks: Ticks, *, person: int = 3, workspace: int = 0) -> Quotas:
    return Quotas(
        questions_per_minute=person,
        workspace_questions_per_minute=workspace,
        held_cards_per_hour=0,
        database=database,
        metrics=Metrics(),
        clock=lambda: datetime.now(UTC),
        monotonic=ticks,
    )


def test_quota_settings_come_from_the_environment(monkeypatch):
    for name in (
        "TRELLIS_QUESTIONS_PER_MINUTE",
        "TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE",
        "TRELLIS_HELD_CARDS_PER_HOUR",
    ):
        monkeypatch.delenv(name)  # tests/conftest.py turns them off for other tests
    defaults = Settings()
    assert (defaults.questions_per_minute, defaults.workspace_questions_per_minute) == (10, 240)
    assert defaults.held_cards_per_hour == 10
    monkeypatch.setenv("TRELLIS_QUESTIONS_PER_MINUTE", "3")
    monkeypatch.setenv("TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE", "0")
    monkeypatch.setenv("TRELLIS_HELD_CARDS_PER_HOUR", "2")
    settings = Settings()
    assert settings.questions_per_minute == 3
    assert settings.workspace_questions_per_minute == 0
    assert settings.held_cards_per_hour == 2
    monkeypatch.setenv("TRELLIS_QUESTIONS_PER_MINUTE", "-1")
    with pytest.raises(ValidationError, match="questions_per_minute"):
        Settings()


async def test_a_person_over_the_minute_is_told_when_to_ask_again(sqlite_database):
    ticks = Ticks()
    limits = quotas(sqlite_database, ticks)
    for _ in range(3):
        assert limits.refusal(team_id="T1", slack_user_id="U1", text=QUESTION) is None
        ticks.now += 10
    refusal = limits.refusal(team_id="T1", slack_user_id="U1", text=QUESTION)
    assert refusal is not None and refusal.limit == Limit.PERSON
    assert refusal.retry_after_s == pytest.approx(30)
    assert "3 questions in the last minute" in refusal.message
    assert "again in 30 seconds" in refusal.message
    # Someone else, in the same workspace, is not affected.
    assert limits.refusal(team_id="T1", slack_user_id="U2", text=QUESTION) is None
    # Declined questions do not count: once the oldest is a minute old, one more is answered.
    ticks.now += 30
    assert limits.refusal(team_id="T1", slack_user_id="U1", text=QUESTION) is None
    assert limits.refusal(team_id="T1", slack_user_id="U1", text=QUESTION) is not None
    assert limits.metrics.questions_declined.labels(limit="person_per_minute")._value.get() == 2


async def test_a_workspace_over_the_minute_is_declined_for_everyone_in_it(sqlite_database):
    ticks = Ticks()
    limits = quotas(sqlite_database, ticks, person=0, workspace=2)
    assert limits.refusal(team_id="T1", slack_user_id="U1", text=QUESTION) is None
    assert limits.refusal(team_id="T1", slack_user_id="U2", text=QUESTION) is None
    refusal = limits.refusal(team_id="T1", slack_user_id="U3", text=QUESTION)
    assert refusal is not None and refusal.limit == Limit.WORKSPACE
    assert limits.refusal(team_id="T2", slack_user_id="U9", text=QUESTION) is None


async def test_length_is_checked_before_anything_else(sqlite_database):
    limits = quotas(sqlite_database, Ticks(), person=0)
    assert limits.refusal(team_id="T1", slack_user_id="U1", text="x" * SLACK_MESSAGE_LIMIT) is None
    refusal = limits.refusal(team_id="T1", slack_user_id="U1", text="x" * (SLACK_MESSAGE_LIMIT + 1))
    assert refusal is not None and refusal.limit == Limit.LENGTH
    assert "40,001 characters" in refusal.message and "40,000" in refusal.message


async def test_one_person_over_the_minute_gets_a_polite_reply_and_others_are_answered(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TRELLIS_QUESTIONS_PER_MINUTE", "2")
    async with running_trellis(tmp_path) as trellis:
        asked = [await trellis.ask(SAM, "support", QUESTION) for _ in range(3)]
        for ts in asked[:2]:
            answer = await trellis.answer_in_thread("support", ts)
            assert "apology" in blocks_text(answer.blocks).lower()
        declined = await trellis.answer_in_thread("support", asked[2])
        assert "2 questions in the last minute" in declined.text
        assert "Please ask it again in" in declined.text
        # No thinking indicator and no answer for the declined question: only the reply.
        assert len(trellis.bot_replies("support", asked[2])) == 1
        async with trellis.services.database.reading() as session:
            answers = AnswerRepository(session)
            assert not await answers.in_thread(trellis.channel("support"), asked[2])
        # Someone else asking meanwhile is answered as usual.
        ts = await trellis.ask(ROSA, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts)
        assert "apology" in blocks_text(answer.blocks).lower()


async def test_a_question_longer_than_slack_allows_is_declined_without_being_answered(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        huge = "why " * 250_000  # a million characters
        ts = await trellis.ask(SAM, "support", huge)
        declined = await trellis.answer_in_thread("support", ts, timeout=30)
        assert "more than Slack lets a message be (40,000)" in declined.text
        assert len(trellis.bot_replies("support", ts)) == 1
        async with trellis.services.database.reading() as session:
            assert not await AnswerRepository(session).in_thread(trellis.channel("support"), ts)
        declined_total = trellis.services.metrics.questions_declined
        assert declined_total.labels(limit="length")._value.get() == 1


async def test_past_the_hourly_held_cards_a_question_is_declined_not_held_again(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TRELLIS_HELD_CARDS_PER_HOUR", "1")
    async with running_trellis(tmp_path) as trellis:
        # #partners-shared is shared with a partner: its answers are held for review.
        first = await trellis.ask(
            DANIEL, "partners-shared", "Can a customer return unused gear after 30 days?"
        )
        held = await trellis.answer_in_thread("partners-shared", first)
        assert "needs a check by a reviewer" in shown_text(held)
        second = await trellis.ask(
            DANIEL, "partners-shared", "How long does a refund take after a return?"
        )
        declined = await trellis.answer_in_thread("partners-shared", second)
        text = shown_text(declined)
        assert "gone to the reviewers in the last hour" in text
        assert "needs a check by a reviewer" not in text
        async with trellis.services.database.reading() as session:
            cards = await session.scalar(select(func.count(Draft.id)).where(Draft.kind == "answer"))
        assert cards == 1
        # A question whose answer needs no review (here, in a direct message) is still
        # answered at once.
        dm = trellis.sandbox.workspace.open_im(trellis.user(DANIEL)).id
        ts = await trellis.ask(DANIEL, dm, "When is Trail Day in 2026?")
        answer = await trellis.answer_in_thread(dm, ts)
        assert "gone to the reviewers" not in blocks_text(answer.blocks)
        async with trellis.services.database.reading() as session:
            (shown,) = await AnswerRepository(session).in_thread(dm, ts)
        assert shown.status == "answered"
