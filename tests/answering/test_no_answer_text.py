"""What someone is told when nothing answers their question: who owns the topic, and
where to ask, in words that match where their question really goes."""

from __future__ import annotations

from app.answering.declined import PassedOn, no_answer_text
from app.config.workspace import TrellisConfig


def test_a_channel_is_named_as_where_to_ask_not_as_the_people_told():
    said = no_answer_text((), TrellisConfig(support="#general"))
    assert "You can also ask in #general." in said
    assert "who own this topic are: #general" not in said
    assert "pass your question on to the Trellis admins" in said
    channel = TrellisConfig(support="#general", owners_channel="#trellis-owners")
    said = no_answer_text((), channel)
    assert "pass your question on to the document owners in #trellis-owners" in said


def test_owners_who_are_people_are_named_and_told():
    said = no_answer_text(("hr-team", "#help"), TrellisConfig(support="#general"))
    assert "The people who own this topic are: hr-team." in said
    assert "You can also ask in #help." in said
    assert "pass your question on to them" in said


def test_a_question_from_the_command_line_is_not_passed_on():
    said = no_answer_text(
        ("hr-team",), TrellisConfig(), passed_on=PassedOn.NOT_FROM_THE_COMMAND_LINE
    )
    assert "not passed on" in said and "pass your question on" not in said


def test_where_outsiders_read_it_no_internal_channel_is_named():
    config = TrellisConfig(support="#help", owners_channel="#trellis-owners")
    said = no_answer_text((), config, outsiders=True)
    assert "#" not in said
    assert "pass your question on to the document owners as you wrote it" in said
    said = no_answer_text(("hr-team", "#help"), config, outsiders=True)
    assert "The people who own this topic are: hr-team." in said and "#help" not in said


def test_the_channel_asked_in_is_not_suggested_as_where_to_ask():
    config = TrellisConfig(support="#general")
    said = no_answer_text(("hr-team", "#general", "#help"), config, here="general")
    assert "#general" not in said and "You can also ask in #help." in said
    assert "You can also ask" not in no_answer_text((), config, here="general")
    assert "You can also ask in #general." in no_answer_text((), config, here="random")
