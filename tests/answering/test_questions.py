"""What a question asks, and how the extractive answerer weighs what the sources lack."""

from __future__ import annotations

import pytest

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.corpus import CorpusStatistics, RetrievedPassages, corpus_of
from app.answering.questions import answer_kind, question_parts, states_kind
from app.domain import Passage
from app.text.words import question_terms, question_words, stem

MIN_CONFIDENCE = 0.35

BERTHS = Passage(
    chunk_id="ops-berths#0",
    doc_id="ops-berths",
    title="Berth Booking Procedure",
    text="Vessels must request a berth at least 72 hours before arrival through the port "
    "community system. The harbour master confirms the berth window within 12 hours.",
)
PASSWORDS = Passage(
    chunk_id="it-passwords#0",
    doc_id="it-passwords",
    title="Passwords",
    text="After 10 failed sign-in attempts your account is locked for 30 minutes.",
)
MFA = Passage(
    chunk_id="it-passwords#1",
    doc_id="it-passwords",
    title="Passwords",
    heading="Passwords > Lost or replaced phone",
    text="If you lose the phone that holds your authenticator, call the Service Desk. After "
    "checking your photo ID they issue a one-time bypass code that is valid for 24 hours.",
)
SOFTWARE = Passage(
    chunk_id="software#0",
    doc_id="software/catalogue",
    title="Software Catalogue",
    text="| Software | Who can use it | Cost |\n|---|---|---|\n"
    "| MATLAB | Students and staff | Free |\n"
    "| Adobe Creative Cloud | Staff only | 240 pounds a year |",
)
QUOTAS = Passage(
    chunk_id="storage/quotas#0",
    doc_id="storage/quotas",
    title="quotas",
    text="Service: OneDrive; Who: Students; Quota: 100 GB; Kept after you leave: 90 days",
)
DESK = Passage(
    chunk_id="service-desk#0",
    doc_id="it-service-desk",
    title="IT Service Desk",
    heading="IT Service Desk > Opening hours",
    text="- Monday to Friday: 08:00 to 18:00\n- Saturday, during term only: 10:00 to 14:00",
)
LIBRARY = Passage(
    chunk_id="printing#0",
    doc_id="printing-faq",
    title="Printing FAQ",
    text="Every library floor and every computer lab has a multifunction printer.",
)


async def ask(question: str, passages, **kw):
    return await ExtractiveAnswerer().answer(question=question, passages=passages, **kw)


# --- reading the question -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "When is the desk open on Saturdays, and what time does the canteen close?",
            ["When is the desk open on Saturdays", "what time does the canteen close"],
        ),
        (
            "What SLA tier is Alpine Co. on and when is their renewal date?",
            ["What SLA tier is Alpine Co. on", "when is their renewal date"],
        ),
        (
            "How many days of PTO and sick leave do I get?",
            ["How many days of PTO and sick leave do I get"],
        ),
        (
            "Who approves overtime, and how long does it take?",
            ["Who approves overtime, how long does it take"],
        ),
        (
            "Is it real? What should I do with the email?",
            ["Is it real", "What should I do with the email"],
        ),
        # Slack's emoji are no part of what is asked; a time or a ratio is
        ("When is Trail Day? :palm_tree:", ["When is Trail Day"]),
        ("Does it start at 10:30:00? :+1:", ["Does it start at 10:30:00"]),
    ],
)
def test_a_question_splits_into_the_questions_it_asks(question, parts):
    assert question_parts(question) == parts


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How far ahead must a vessel request a berth?", "time"),
        ("When is crane 4 out of service?", "time"),
        ("How often are laptops replaced?", "frequency"),
        ("How much does Adobe Creative Cloud cost?", "amount"),
        ("What is the starting salary for a trainee?", "money"),
        ("Who has to approve a discount of more than 25%?", "person"),
        ("Where can I find the service desk?", "place"),
        ("What number do I call to reach the benefits advocates?", "contact"),
        ("How do I contact the service desk after hours?", "contact"),
        ("Who do I contact about payroll?", "person"),
        ("How do I call a function by name?", None),
        ("What address do I post the laptop to?", None),
        ("Can a student sponsor a guest account?", None),
    ],
)
def test_the_first_question_word_says_what_kind_of_answer_is_wanted(question, kind):
    assert answer_kind(question) == kind


def test_a_sentence_states_a_kind_of_answer_or_not():
    assert states_kind("Lost badges must be reported within one hour.", "time")
    assert states_kind("Laptops are replaced every four years.", "frequency")
    assert not states_kind("Every library floor has a multifunction printer.", "person")
    assert states_kind("The General Counsel decides whether it can be managed.", "person")
    assert states_kind("The Service Desk is on the ground floor, room G.14.", "place")
    assert states_kind("Grade: Partner; Hourly rate 2026 (GBP): 695", "money")
    assert not states_kind("Engagement letters are sent within five business days.", "money")
    assert states_kind("Call the advocates on 1-844-891-3044.", "contact")
    assert states_kind("Ask in #it-help or write to help@kestrel.example.", "contact")
    assert not states_kind("The advocates help with surprise medical bills.", "contact")
    assert not states_kind("The policy changed from 2020-2021 onwards.", "contact")


def test_words_are_read_with_how_they_were_written():
    words = {w.term: w for w in question_words("How many GPU hours does a project get on Heron?")}
    assert words["gpu"].name_like and words["heron"].name_like
    assert not words["project"].name_like
    assert question_terms("How long am I locked out?") == ["long", "lockedout"]
    assert question_words("Who signs the sign-in sheet?")[-2].surface == "sign in"


def test_the_stemmer_meets_irregular_verbs_adverbs_and_nouns_in_ness():
    assert stem("kept") == stem("keep") and stem("paid") == stem("pay")
    assert stem("hourly") == stem("hours") and stem("weekly") == stem("week")
    assert stem("sickness") == stem("sick")
    assert stem("supplies") == stem("supply")


# --- weighing what the sources lack ---------------------------------------------------------


async def test_question_words_are_never_missing_content():
    result = await ask("How far ahead must a vessel request a berth?", [BERTHS])
    assert result.confidence >= 0.7
    assert "72 hours" in result.text


async def test_a_compound_the_source_writes_apart_falls_back_to_its_words():
    result = await ask(
        "How long am I locked out after too many failed sign-in attempts?", [PASSWORDS]
    )
    assert result.confidence >= 0.7
    assert "30 minutes" in result.text


async def test_a_missing_name_sinks_the_answer():
    result = await ask("How do I get a Zoom Pro licence?", [SOFTWARE])
    assert result.confidence < MIN_CONFIDENCE


async def test_a_sentence_of_the_wrong_kind_is_not_an_answer():
    result = await ask("Who replaces the toner in the library printers?", [LIBRARY])
    assert result.confidence < MIN_CONFIDENCE


async def test_a_word_the_whole_corpus_uses_everywhere_counts_for_little():
    question = "How much OneDrive space do students get?"
    onedrive, student, space = stem("OneDrive".lower()), stem("students"), stem("space")
    rare = CorpusStatistics(documents=40, frequencies={onedrive: 1, student: 30, space: 0})
    common = CorpusStatistics(documents=40, frequencies={onedrive: 30, student: 30, space: 0})
    with_rare = await ask(question, RetrievedPassages([QUOTAS], rare))
    with_common = await ask(question, RetrievedPassages([QUOTAS], common))
    assert with_rare.confidence > with_common.confidence


def test_retrieved_passages_carry_their_corpus_and_stay_a_sequence():
    corpus = CorpusStatistics(documents=3, frequencies={"berth": 1, "toner": 0})
    retrieved = RetrievedPassages([BERTHS], corpus)
    assert list(retrieved) == [BERTHS] and retrieved[0] is BERTHS
    assert corpus_of(retrieved) is corpus and corpus_of([BERTHS]) is None
    assert corpus.idf("toner") > corpus.idf("berth") and corpus.idf("unknown") is None


# --- composing the answer -------------------------------------------------------------------


async def test_a_sentence_that_continues_the_best_one_is_quoted_with_it():
    result = await ask("I lost my phone with the authenticator app on it, what do I do?", [MFA])
    assert "bypass code" in result.text
    assert len(result.citations) == 1


async def test_a_mixed_question_answers_the_supported_part_and_names_the_other():
    whole = await ask("Is the service desk open on Saturdays?", [DESK])
    mixed = await ask(
        "Is the service desk open on Saturdays, and what time does the canteen close?", [DESK]
    )
    assert mixed.confidence >= MIN_CONFIDENCE
    assert "10:00 to 14:00" in mixed.text
    assert '"what time does the canteen close"' in mixed.text
    assert mixed.confidence < whole.confidence


async def test_each_part_of_a_question_gets_its_own_quote():
    result = await ask(
        "How much does Adobe Creative Cloud cost, and when is the desk open on Saturdays?",
        [SOFTWARE, DESK],
    )
    assert "240 pounds" in result.text and "10:00 to 14:00" in result.text
    assert {c.doc_id for c in result.citations} == {"software/catalogue", "it-service-desk"}


def test_kept_readings_are_handed_out_fresh():
    """The words of a question, the sentences of a text and their terms are kept across
    readings: what a caller is handed can be changed without changing what the next
    caller gets."""
    from app.text.sentences import split_sentences
    from app.text.words import content_term_set, content_terms

    question = "How many unused PTO days carry over?"
    words = question_words(question)
    words.clear()
    assert [w.term for w in question_words(question)] == question_terms(question) != []
    text = "Up to 5 unused days carry over. Days above that expire."
    sentences = split_sentences(text)
    sentences.pop()
    assert [s.text for s in split_sentences(text)] == [
        "Up to 5 unused days carry over.",
        "Days above that expire.",
    ]
    terms = content_terms(text)
    terms.clear()
    assert content_terms(text) == content_term_set(text) != set()
