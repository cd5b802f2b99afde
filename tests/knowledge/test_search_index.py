"""The in-process search index: access before ranking, keyword and meaning fused."""

from __future__ import annotations

import numpy as np

from app.db.repositories.knowledge import IndexRow
from app.knowledge.embeddings import DIMENSIONS, pack
from app.knowledge.index import DENSE_FLOOR, IndexBuilder, SearchIndex, _best, query_terms
from app.text.words import index_terms


def _unit(*hot: int) -> np.ndarray:
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    for i in hot:
        vector[i] = 1.0
    return vector / np.linalg.norm(vector)


def _row(rowid: int, doc_id: str, text: str, *vectors: np.ndarray, title: str = "") -> IndexRow:
    spans = [[0, len(text)]] * len(vectors)
    blob = pack(np.vstack(vectors)) if vectors else None
    return IndexRow(rowid, doc_id, title, "", " ".join(index_terms(text)), spans, blob)


ROWS = [
    _row(1, "pto", "Full-time employees receive 25 days of paid time off.", _unit(0)),
    _row(2, "meals", "Meals are reimbursed up to 50 USD per day.", _unit(1)),
    _row(3, "secret", "Paid time off for the merger team is unlimited.", _unit(0)),
    _row(4, "parking", "Park in lot B after 6 pm.", _unit(2)),
]


def _rank(query, allowed, vector=None, **kwargs):
    return SearchIndex(ROWS, generation=1).rank(
        query=query, allowed_docs=allowed, question_vector=vector, limit=10, **kwargs
    )


def test_chunks_of_documents_outside_the_scope_are_never_scored():
    ranking = _rank("paid time off", ["pto", "meals", "parking"], _unit(0))
    assert "secret" not in [hit.doc_id for hit in ranking.hits]
    everything = _rank("paid time off", ["pto", "meals", "parking", "secret"], _unit(0))
    assert "secret" in [hit.doc_id for hit in everything.hits]


def test_scope_statistics_count_only_allowed_documents():
    ranking = _rank("merger paid", ["pto", "meals"], _unit(0))
    assert ranking.evidence.documents == 2
    assert ranking.evidence.document_frequencies["merger"] == 0


def test_meaning_finds_a_chunk_that_shares_no_word():
    ranking = _rank("dinner allowance on trips", ["pto", "meals", "parking"], _unit(1))
    assert ranking.hits[0].doc_id == "meals"
    assert ranking.hits[0].keyword == 0.0 and ranking.hits[0].similarity > 0.99


def test_words_decide_when_there_is_no_vector():
    ranking = _rank("paid time off", ["pto", "meals", "parking"], None)
    assert [hit.doc_id for hit in ranking.hits] == ["pto"]


def test_a_chunk_neither_matching_words_nor_close_in_meaning_is_no_candidate():
    far = _unit(5)
    ranking = _rank("helicopter", ["pto", "meals", "parking"], far)
    assert ranking.hits == ()
    assert all(hit.similarity >= DENSE_FLOOR or hit.keyword > 0 for hit in ranking.hits)


def test_blend_lets_words_break_a_tie_in_meaning():
    tie = (_unit(0) + _unit(1)) / np.sqrt(2)
    ranking = _rank("meals reimbursed", ["pto", "meals"], tie)
    assert [hit.doc_id for hit in ranking.hits][:2] == ["meals", "pto"]


def test_each_fusion_ranks_only_candidates():
    for fusion in ("blend", "rrf", "dense", "keyword"):
        ranking = _rank("paid time off", ["pto", "parking"], _unit(0), fusion=fusion)
        assert ranking.hits[0].doc_id == "pto"


def test_a_title_match_counts_more_than_the_same_word_in_the_text():
    rows = [
        _row(1, "a", "Ask your manager about onboarding.", title="Team practices"),
        _row(2, "b", "Ask your manager about onboarding.", title="Onboarding guide"),
    ]
    index = SearchIndex(rows, generation=1)
    ranking = index.rank(query="onboarding", allowed_docs=["a", "b"], question_vector=None, limit=5)
    assert ranking.hits[0].doc_id == "b"


def test_a_question_of_only_stopwords_has_no_terms_and_no_hits():
    assert query_terms("What is it, and how do I get it?") == []
    assert _rank("What is it, and how do I get it?", ["pto"], _unit(0)).hits == ()


def test_standing_measures_how_far_the_best_segment_is_above_the_rest():
    ranking = _rank("paid time off", ["pto", "meals", "parking"], _unit(0))
    evidence = ranking.evidence
    assert evidence.best_similarity > evidence.typical_similarity
    assert evidence.standing > 0


def test_the_best_scores_come_in_the_order_of_a_stable_sort_of_them_all() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        # Few distinct values, so ties at the cut are common; zeros are never returned.
        scores = rng.integers(0, 6, size=int(rng.integers(0, 40))).astype(np.float32)
        limit = int(rng.integers(1, 12))
        expected = [i for i in np.argsort(-scores, kind="stable") if scores[i] > 0][:limit]
        assert _best(scores, limit).tolist() == [int(i) for i in expected]


def test_an_audience_asking_again_gets_the_same_chunks_and_cannot_change_them() -> None:
    index = SearchIndex(ROWS, generation=1)
    first = index.rank(query="paid time off", allowed_docs=["pto"], question_vector=None, limit=5)
    again = index.rank(query="paid time off", allowed_docs=["pto"], question_vector=None, limit=5)
    wider = index.rank(
        query="paid time off", allowed_docs=["pto", "secret"], question_vector=None, limit=5
    )
    assert [h.doc_id for h in first.hits] == [h.doc_id for h in again.hits] == ["pto"]
    assert {h.doc_id for h in wider.hits} == {"pto", "secret"}
    allowed, documents = index._allowed_chunks(["pto"])
    assert documents == 1 and not allowed.flags.writeable


def test_an_index_built_batch_by_batch_ranks_exactly_like_one_built_at_once() -> None:
    rows = [
        *ROWS,
        _row(5, "pto", "Unused days carry over to March.", _unit(0, 3), _unit(3)),
        _row(6, "no-vectors", "Paid time off requests go to your manager."),
    ]
    whole = SearchIndex(rows, generation=1)
    # One row per batch and no room foreseen: the vectors' room grows as they come.
    builder = IndexBuilder(segments=0)
    for row in rows:
        builder.add([row])
    batched = builder.build(generation=1)
    allowed = ["pto", "meals", "parking", "secret", "no-vectors"]
    for query, vector in (("paid time off", _unit(0)), ("carry over", _unit(3)), ("lot", None)):
        a = whole.rank(query=query, allowed_docs=allowed, question_vector=vector, limit=10)
        b = batched.rank(query=query, allowed_docs=allowed, question_vector=vector, limit=10)
        assert a == b and a.hits
    assert len(batched.vectors) == len(whole.vectors) == 6


def test_postings_list_each_terms_chunks_in_order_with_their_counts() -> None:
    rng = np.random.default_rng(11)
    words = [f"word{i}" for i in range(40)]
    rows = [
        IndexRow(n, f"doc{n // 3}", "", "", " ".join(rng.choice(words, size=25)), [], None)
        for n in range(300)
    ]
    index = SearchIndex(rows, generation=1)
    for term, number in index.vocabulary.items():
        start, end = index.indptr[number], index.indptr[number + 1]
        chunks, counts = index.post_chunk[start:end], index.post_tf[start:end]
        got = list(zip(chunks.tolist(), counts.tolist(), strict=True))
        expected = [(n, float(row.terms.split().count(term))) for n, row in enumerate(rows)]
        assert got == [(n, tf) for n, tf in expected if tf]
    assert index.indptr[-1] == len(index.post_chunk) == len(index.post_tf)
