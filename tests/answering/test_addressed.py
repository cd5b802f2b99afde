"""Which replies in a thread Trellis answers in are questions for Trellis."""

from __future__ import annotations

import pytest

from app.answering.addressed import asks_trellis, thanks_or_agreement

BOT = "UTRELLIS"


@pytest.mark.parametrize(
    "text",
    [
        "thanks!",
        "Thanks, that's exactly what I needed!",
        "Thanks, that’s exactly what I needed!",
        "ok :+1:",
        ":thumbsup::skin-tone-2:",
        "perfect, that helps 🙏",
        "🙏",
        "got it, makes sense",
        "Great, that answers my question",
        "thanks so much, this is really helpful",
        "merci",
        f"<@{BOT}> thank you so much",
    ],
)
def test_thanks_and_agreement_are_not_questions(text):
    assert thanks_or_agreement(text)
    assert not asks_trellis(text, bot_user_id=BOT)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks! And for contractors?",
        "thanks, but what about Munich",
        "ok so what about part-timers",
        "Is that also true in Munich?",
        "And for a damaged item",
        "what about the Reno warehouse",
        "tell me more",
        f"<@{BOT}> and for contractors",
        "What's the deadline for contractors? cc <@U0ANA>",
        "thanks <@U0ANA>! does this apply to contractors?",
        "&gt; within 30 days\ndoes that include weekends",
        "Hmm, what about contractors",
        "Quick q: does this apply to contractors",
        # Questions, though every word could go with thanks.
        "is that ok",
        "is this the right answer",
        "what is it for",
        f"<@{BOT}> is that ok",
    ],
)
def test_a_question_or_a_request_in_a_channel_thread_is_for_trellis(text):
    assert not thanks_or_agreement(text)
    assert asks_trellis(text, bot_user_id=BOT)


@pytest.mark.parametrize(
    "text", ["<@U0COLLEAGUE> can you take this one?", "I'll check with finance", "No, I meant EMEA"]
)
def test_talk_between_people_in_a_channel_thread_is_left_to_them(text):
    assert not asks_trellis(text, bot_user_id=BOT)
    # In a direct message with Trellis, everything but thanks is for Trellis.
    assert not thanks_or_agreement(text)


def test_a_message_without_words_is_not_thanks():
    assert not thanks_or_agreement("")
    assert not thanks_or_agreement("   ")
    assert not thanks_or_agreement("2026?")
    assert not thanks_or_agreement(f"<@{BOT}> ")  # a bare mention gets the help text
    assert not thanks_or_agreement(f"<@{BOT}> :wave:")


@pytest.mark.parametrize(
    "text",
    [
        "No, I meant EMEA",
        "sorry, what I meant was the contractor handbook",
        "not the US office, Berlin",
        "hmm, I mean for part-timers",
        "the Berlin office instead",
        "the 2025 plan rather than this year's",
    ],
)
def test_a_correction_by_someone_who_asked_here_is_for_trellis(text):
    assert asks_trellis(text, bot_user_id=BOT, asked_here=True)
    # From anyone else it is talk between people ("No, I meant EMEA" to a colleague).
    assert not asks_trellis(text, bot_user_id=BOT)


@pytest.mark.parametrize(
    "text", ["no worries", "no problem, will do", "sorry, my bad", "I'll check with finance"]
)
def test_a_remark_by_someone_who_asked_here_is_still_a_remark(text):
    assert not asks_trellis(text, bot_user_id=BOT, asked_here=True)
