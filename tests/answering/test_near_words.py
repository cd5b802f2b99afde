"""A question asked in other words than its source's: the word model credits a question
word the sentence writes another way ("food" for "meals", "trip" for "travelling"), so
the sentence that answers is quoted and counts as covering the question; unrelated words
get no credit. The real embedding model runs (it ships in a package, nothing is fetched)."""

from __future__ import annotations

from dataclasses import replace

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.near_words import WORDS, NearTable, surfaces
from app.domain import Passage

EXPENSES = Passage(
    chunk_id="finance/expenses#claimed",
    doc_id="finance/expenses",
    title="Expense claims",
    score=5.0,
    text=(
        "## What can be claimed\n\n"
        "Travel to a client site by train in second class is reimbursed in full. "
        "Taxis are reimbursed only after 22:00 or when carrying equipment. "
        "Conference tickets need a partner's agreement before booking. "
        "Meals while travelling are reimbursed up to 35 EUR per day. "
        "Receipts are kept for seven years by the finance team.\n"
    ),
)
MEALS = "Meals while travelling are reimbursed up to 35 EUR per day."


def with_meaning(passage: Passage, similarity: float) -> Passage:
    """The passage as hybrid retrieval returns it: one segment compared with the question."""
    return replace(passage, segment_scores=((0, len(passage.text), similarity),))


def test_near_words_credit_synonyms_and_not_unrelated_words():
    asked = surfaces("What's the daily limit for food on a trip?")
    sentence = surfaces(MEALS)
    WORDS.prepare([*asked.values(), *sentence.values()])
    credits = NearTable(asked).credits(sentence)
    assert {"food", "trip"} <= credits.keys(), credits
    assert credits["food"] > 0.5 and credits["trip"] > 0.5
    unrelated = surfaces("Receipts are kept for seven years by the finance team.")
    WORDS.prepare(unrelated.values())
    assert "food" not in NearTable(asked).credits(unrelated)


def test_a_paraphrased_question_quotes_the_sentence_that_answers_it():
    question = "What's the daily limit for food when I'm on a trip?"
    answerer = ExtractiveAnswerer()
    answer = answerer.compose(question=question, passages=[with_meaning(EXPENSES, 0.45)])
    assert answer.text.startswith(MEALS) or f" {MEALS}" in answer.text, answer.text
    # Without the word model (a keyword-only index has no vectors) nothing in the
    # sentence meets the question's words.
    words_only = answerer.compose(question=question, passages=[EXPENSES])
    assert answer.confidence > words_only.confidence + 0.2, (answer, words_only)


def test_a_question_about_something_else_gains_nothing_from_near_words():
    question = "Which laptop models can staff choose from?"
    answer = ExtractiveAnswerer().compose(question=question, passages=[with_meaning(EXPENSES, 0.2)])
    assert answer.confidence < 0.35, answer


def test_one_questions_comparisons_are_kept_but_not_a_word_still_without_a_vector():
    asked = surfaces("What's the daily limit for food on a trip?")
    WORDS.prepare(asked.values())
    table = NearTable.of(asked)
    assert NearTable.of(asked) is table  # the same question read again
    sentence = "Nourishment on a voyage is covered by the company."
    terms = set(surfaces(sentence))
    # Before its words have vectors the sentence gets no credit, and that is not kept...
    assert table.sentence_credits(sentence, terms) == {}
    WORDS.prepare(surfaces(sentence).values())
    # ...so once they have, it is credited as a fresh table credits it.
    kept = table.sentence_credits(sentence, terms)
    assert kept == NearTable(asked).credits(surfaces(sentence), terms)
    assert kept, "nourishment/voyage should be near food/trip"


def test_a_credit_is_the_nearest_sentence_words_similarity_on_the_scale():
    """Each lacking question word is credited for the sentence word nearest to it:
    (cosine - NEAR_FROM) / (NEAR_FULL - NEAR_FROM), clipped to 0..1; the words are
    compared all at once, and the figures are those of comparing them one by one."""
    import numpy as np

    from app.answering.near_words import NEAR_FROM, NEAR_FULL

    asked = surfaces("What's the daily limit for food on a trip?")
    sentence = surfaces(MEALS)
    WORDS.prepare([*asked.values(), *sentence.values()])
    credits = NearTable(asked).credits(sentence)
    for term, word in asked.items():
        if term in sentence:
            assert term not in credits
            continue
        mine = WORDS.get(word).astype(np.float32)
        nearest = max(float(mine @ WORDS.get(w).astype(np.float32)) for w in sentence.values())
        expected = min(1.0, (nearest - NEAR_FROM) / (NEAR_FULL - NEAR_FROM))
        if expected > 0:
            assert abs(credits[term] - expected) < 1e-5, (term, credits, expected)
        else:
            assert term not in credits
