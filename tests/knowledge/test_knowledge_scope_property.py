"""Property: search by words returns exactly the matching documents the whole scope may
see; search by words and meaning returns at least those, and nothing outside the scope.

Random documents with random access lists, statuses and supersedes links; random viewer
sets; random query words. An independent oracle written here in plain Python decides
which documents may come back. Runs on SQLite only, to stay fast.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.migrate import upgrade
from app.db.session import Database
from app.domain import AccessScope
from app.knowledge.ingest import ingest
from app.knowledge.search import RetrievalMode, search

PRINCIPALS = ["everyone", "public", "sales", "support", "hr", "ana@acme.example", "bo@acme.example"]
WORDS = ["apple", "river", "quartz", "mango", "violet"]
# Access lists lean towards groups and people, so scopes that differ actually matter.
GRANTS = [*PRINCIPALS, "sales", "support", "hr", "ana@acme.example", "bo@acme.example"]
STATUSES = ["current", "current", "current", "draft", "deprecated", "deprecated"]


@dataclass(frozen=True)
class Doc:
    access: tuple[str, ...] | None
    words: tuple[str, ...]
    status: str
    supersedes: int | None


def _spelled(principal: str, upper: bool) -> str:
    return principal.upper() if upper and "@" in principal else principal


grant_lists = st.lists(
    st.builds(_spelled, st.sampled_from(GRANTS), st.booleans()), min_size=1, max_size=3, unique=True
).map(tuple)
# None: no `access` key and no `_access.yml`, so nobody may see the document.
access_lists = st.tuples(st.integers(0, 4), grant_lists).map(lambda t: t[1] if t[0] else None)

documents = st.lists(
    st.builds(
        Doc,
        access=access_lists,
        words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(tuple),
        status=st.sampled_from(STATUSES),
        supersedes=st.none() | st.integers(min_value=0, max_value=7),
    ),
    min_size=2,
    max_size=8,
)

people = st.builds(
    lambda email, groups: frozenset({email, "everyone", "public", *groups}),
    st.sampled_from(["ana@acme.example", "bo@acme.example", "cy@acme.example"]),
    st.frozensets(st.sampled_from(["sales", "support", "hr"]), max_size=2),
)
outsiders = st.just(frozenset({"public"}))
anything = st.frozensets(st.sampled_from(PRINCIPALS), max_size=4)
viewer_sets = st.tuples(
    st.integers(0, 9),
    st.lists(st.one_of(people, people, outsiders, anything), min_size=1, max_size=3),
).map(lambda t: tuple(t[1]) if t[0] else ())

NOISE = ["how", "many", "the", "?", "*", '"', "NEAR", ":", "OR", "-", "(", "'"]
questions = st.tuples(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
    st.lists(st.sampled_from(NOISE), max_size=3),
    st.randoms(use_true_random=False),
).map(lambda parts: " ".join(parts[2].sample(parts[0] + parts[1], len(parts[0] + parts[1]))))


def _normalized(access: tuple[str, ...] | None) -> set[str]:
    return {p.lower() if "@" in p else p for p in access or ()}


def _may_see(access: set[str], viewers: tuple[frozenset[str], ...]) -> bool:
    return bool(viewers) and all(any(p in viewer for p in access) for viewer in viewers)


def expected_ids(docs: list[Doc], viewers, question: str) -> set[str]:
    """The searchable documents that contain a word of the question."""
    asked = set(question.lower().split())
    return {f"doc-{i}" for i in _searchable(docs, viewers) if asked & set(docs[i].words)}


def searchable_ids(docs: list[Doc], viewers) -> set[str]:
    return {f"doc-{i}" for i in _searchable(docs, viewers)}


def _searchable(docs: list[Doc], viewers) -> set[int]:
    """In scope, not a draft, not deprecated in favour of a current document in scope."""
    allowed = {i for i, d in enumerate(docs) if _may_see(_normalized(d.access), viewers)}
    result = set()
    for i, doc in enumerate(docs):
        if i not in allowed or doc.status == "draft":
            continue
        replaced = any(
            newer.supersedes == i and newer.status == "current" and j in allowed
            for j, newer in enumerate(docs)
        )
        if doc.status == "deprecated" and replaced:
            continue
        result.add(i)
    return result


def _markdown(index: int, doc: Doc) -> str:
    front = [f"id: doc-{index}", f"title: Doc {index}", f"status: {doc.status}"]
    if doc.access is not None:
        front.append(f"access: [{', '.join(doc.access)}]")
    if doc.supersedes is not None:
        front.append(f"supersedes: doc-{doc.supersedes}")
    body = f"Entry {index}. " + " ".join(doc.words) + "."
    return "---\n" + "\n".join(front) + "\n---\n" + body + "\n"


async def _run(docs: list[Doc], probes, workdir: Path) -> None:
    knowledge = workdir / "knowledge"
    knowledge.mkdir()
    for i, doc in enumerate(docs):
        (knowledge / f"doc{i}.md").write_text(_markdown(i, doc), encoding="utf-8")
    database = Database(f"sqlite+aiosqlite:///{workdir / 'trellis.db'}")
    try:
        await upgrade(database)
        report = await ingest(database, knowledge)
        assert report.errors == []
        assert report.visible_to_nobody == sum(1 for d in docs if not _normalized(d.access))
        for viewers, question in probes:
            scope = AccessScope(viewers=viewers)
            by_words = await search(
                database, query=question, scope=scope, limit=100, mode=RetrievalMode.KEYWORD
            )
            _check(docs, viewers, by_words)
            assert {p.doc_id for p in by_words} == expected_ids(docs, viewers, question)
            # Meaning may add documents that share no word, never one outside the scope.
            by_both = await search(database, query=question, scope=scope, limit=100)
            _check(docs, viewers, by_both)
            assert {p.doc_id for p in by_both} >= expected_ids(docs, viewers, question)
            assert {p.doc_id for p in by_both} <= searchable_ids(docs, viewers)
    finally:
        await database.dispose()


def _check(docs: list[Doc], viewers, passages) -> None:
    for passage in passages:
        doc = docs[int(passage.doc_id.removeprefix("doc-"))]
        assert _may_see(_normalized(doc.access), viewers), passage
        assert set(passage.access) == _normalized(doc.access)
        assert passage.status == doc.status


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents, probes=st.lists(st.tuples(viewer_sets, questions), min_size=4, max_size=10))
def test_search_returns_exactly_what_the_whole_scope_may_see(docs, probes):
    with tempfile.TemporaryDirectory() as workdir:
        asyncio.run(_run(docs, probes, Path(workdir)))
