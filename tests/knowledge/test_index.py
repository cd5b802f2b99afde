"""Ingest keeps the index in line with the files; search never leaves the AccessScope."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db.migrate import upgrade
from app.db.session import Database
from app.domain import OUTSIDER_PRINCIPALS, AccessScope, Person
from app.errors import WorkspaceError
from app.knowledge.embeddings import DIMENSIONS, Embedder
from app.knowledge.ingest import ingest
from app.knowledge.search import (
    RetrievalMode,
    count_documents,
    get_document,
    get_documents,
    search,
    visible_document_count,
)

ANA = Person(email="ana@acme.example", name="Ana", groups=frozenset({"support"}))
BO = Person(email="bo@acme.example", name="Bo", groups=frozenset({"sales"}))
CY = Person(email="cy@acme.example", name="Cy", groups=frozenset({"sales", "support"}))
OUTSIDER = AccessScope(viewers=(OUTSIDER_PRINCIPALS,), label="guest")

PTO = """---
id: hr-pto-2025
title: Paid Time Off Policy
url: https://wiki.acme.example/hr/pto
owner: people-ops
updated: 2025-01-15
supersedes: hr-pto-2023
tags: [hr, leave]
---
# Paid Time Off Policy

## Allowance

Full-time employees receive 25 days of paid time off (PTO) per year. PTO accrues monthly.

## Carry-over

Up to five unused PTO days carry over into the next year.
"""

PTO_OLD = """---
id: hr-pto-2023
title: Paid Time Off Policy (2023)
status: deprecated
---
# PTO 2023

Full-time employees received 20 days of paid time off (PTO) per year.
"""

EXPENSES = """# Travel and Expense Policy

Book flights through the travel desk. Meals are reimbursed up to 50 USD per day.
Employees may take a day off after long-haul travel.
"""


def _write(knowledge: Path, relative: str, content: str) -> Path:
    path = knowledge / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def workspace(tmp_path) -> Path:
    knowledge = tmp_path / "knowledge"
    _write(knowledge, "_access.yml", "default: [everyone]\n")
    _write(knowledge, "hr/pto-2025.md", PTO)
    _write(knowledge, "hr/pto-2023.md", PTO_OLD)
    _write(knowledge, "finance/expenses.md", EXPENSES)
    _write(knowledge, "sales/_access.yml", "default: [sales]\n")
    _write(
        knowledge,
        "sales/discounts.md",
        "# Discounts\n\nDiscounts above 10 percent need approval.\n",
    )
    _write(knowledge, "support/_access.yml", "default: [support]\n")
    _write(
        knowledge,
        "support/macros.txt",
        "Refund macro: apologise and offer a refund within 30 days.\n",
    )
    _write(knowledge, "shared/_access.yml", "default: [sales, support]\n")
    _write(
        knowledge, "shared/sla.csv", "tier,response\nGold,1 hour refund review\nSilver,8 hours\n"
    )
    _write(
        knowledge,
        "public/returns.md",
        "---\naccess: [public]\n---\n# Returns\n\nReturn any item within 30 days for a refund.\n",
    )
    return tmp_path


def json_list(value) -> list:
    return json.loads(value) if isinstance(value, str) else value


def _ids(passages) -> list[str]:
    return [p.doc_id for p in passages]


async def _search(database, question: str, *people: Person, limit: int = 8):
    scope = AccessScope.for_viewers(p.principals for p in people)
    return await search(database, query=question, scope=scope, limit=limit)


# --- schema -------------------------------------------------------------------------------


async def test_ingest_stores_stems_and_one_vector_per_segment(database, workspace):
    await ingest(database, workspace / "knowledge", workspace_root=workspace)
    async with database.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT terms, segments, vectors, embedder FROM chunks WHERE doc_id = 'hr-pto-2025'"
                )
            )
        ).all()
    assert rows
    for terms, segments, vectors, embedder in rows:
        assert terms and embedder == Embedder.model_id
        assert len(vectors) == len(json_list(segments)) * DIMENSIONS * 2  # float16


async def test_keyword_retrieval_stores_no_vectors(database, workspace):
    await ingest(database, workspace / "knowledge", workspace_root=workspace, retrieval="keyword")
    async with database.session() as session:
        vectors = (await session.execute(text("SELECT vectors FROM chunks"))).scalars().all()
    assert vectors and all(v is None for v in vectors)
    found = await search(
        database,
        query="How many days of paid time off?",
        scope=AccessScope.for_person(ANA),
        mode=RetrievalMode.KEYWORD,
    )
    assert found[0].doc_id == "hr-pto-2025" and found[0].similarity == 0.0


async def test_meaning_finds_a_passage_that_shares_no_word_with_the_question(database, workspace):
    await ingest(database, workspace / "knowledge", workspace_root=workspace)
    question = "How much will the company cover for dinner on a business trip?"
    scope = AccessScope.for_person(ANA)
    by_words = await search(database, query=question, scope=scope, mode=RetrievalMode.KEYWORD)
    by_both = await search(database, query=question, scope=scope)
    assert by_words == ()
    assert by_both[0].doc_id == "finance/expenses"
    assert "Meals are reimbursed" in by_both[0].text
    assert by_both[0].similarity > 0.4


# --- ingest -------------------------------------------------------------------------------


async def test_first_ingest_adds_everything_and_skips_access_files(database, workspace):
    (workspace / "knowledge" / "deck.key").write_bytes(b"PK")
    (workspace / "knowledge" / ".hidden.md").write_text("# secret\n")
    ticks: list[tuple[int, int]] = []
    report = await ingest(
        database, workspace / "knowledge", progress=lambda done, total: ticks.append((done, total))
    )
    assert report.errors == []
    assert (report.added, report.updated, report.unchanged, report.removed) == (7, 0, 0, 0)
    assert report.skipped == 1
    (unread,) = report.warnings
    assert unread.file == "knowledge/deck.key" and "is not read: Trellis reads" in str(unread)
    assert report.chunks >= 7
    assert ticks[-1] == (7, 7)
    assert await count_documents(database) == 7
    ids = {d.id for d in await get_documents(database)}
    assert ids == {
        "hr-pto-2025",
        "hr-pto-2023",
        "finance/expenses",
        "sales/discounts",
        "support/macros",
        "shared/sla",
        "public/returns",
    }


async def test_reingest_without_changes_touches_nothing(database, workspace):
    await ingest(database, workspace / "knowledge")
    report = await ingest(database, workspace / "knowledge")
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 0, 7, 0)
    assert report.chunks == 0


async def test_a_file_is_not_read_again_while_its_stamp_is_as_last_read(
    database, workspace, monkeypatch
):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    ingest_module = importlib.import_module("app.knowledge.ingest")  # `ingest` is its function
    read: list[str] = []
    real_load = ingest_module.load_document

    def counted(path, **kwargs):
        read.append(path.relative_to(knowledge).as_posix())
        return real_load(path, **kwargs)

    monkeypatch.setattr(ingest_module, "load_document", counted)
    report = await ingest(database, knowledge)
    assert read == [] and report.unchanged == 7  # nothing read to learn nothing changed

    _write(knowledge, "finance/expenses.md", EXPENSES.replace("50 USD", "65 USD"))
    _write(knowledge, "sales/_access.yml", "default: [sales]\n# reviewed in May\n")
    report = await ingest(database, knowledge)
    # The changed file, and the one under the edited _access.yml, whose access is as it was
    assert sorted(read) == ["finance/expenses.md", "sales/discounts.md"]
    assert (report.updated, report.unchanged) == (1, 6)

    read.clear()
    report = await ingest(database, knowledge)
    assert read == [] and report.unchanged == 7


async def test_files_a_pattern_rule_governs_are_read_every_time(database, workspace, tmp_path):
    # What a `files:` rule decides depends on which other files exist: a pattern that
    # names a file no longer there withholds the file it was most likely written for.
    knowledge = workspace / "knowledge"
    _write(knowledge, "hr/_access.yml", "default: [everyone]\nfiles:\n  salaries.md: [hr]\n")
    _write(knowledge, "hr/salaries.md", "# Salaries\n\nBands are reviewed yearly.\n")
    _write(knowledge, "hr/salaries-faq.md", "# Salaries FAQ\n\nAsk your manager.\n")
    await ingest(database, knowledge)
    (knowledge / "hr" / "salaries.md").unlink()
    await ingest(database, knowledge)
    fresh = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    await upgrade(fresh)
    await ingest(fresh, knowledge)
    for doc_id in ("hr/salaries-faq",):
        kept, anew = await get_document(database, doc_id), await get_document(fresh, doc_id)
        assert kept is not None and anew is not None and kept.access == anew.access, doc_id
    await fresh.dispose()


async def test_changed_file_is_updated_and_deleted_file_removed(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    _write(knowledge, "finance/expenses.md", EXPENSES.replace("50 USD", "65 USD"))
    (knowledge / "support" / "macros.txt").unlink()
    report = await ingest(database, knowledge)
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 1, 5, 1)
    assert await get_document(database, "support/macros") is None
    [passage] = await _search(database, "meals reimbursed", ANA, limit=1)
    assert "65 USD" in passage.text
    assert not await _search(database, "apologise macro", ANA)


async def test_access_file_change_reindexes_what_it_governs(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    assert _ids(await _search(database, "discounts approval", BO)) == ["sales/discounts"]
    _write(knowledge, "sales/_access.yml", "default: [sales-managers]\n")
    report = await ingest(database, knowledge)
    assert (report.updated, report.unchanged) == (1, 6)
    assert not await _search(database, "discounts approval", BO)
    document = await get_document(database, "sales/discounts")
    assert document is not None and document.access == ("sales-managers",)


async def test_broken_file_keeps_its_previous_version(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    _write(
        knowledge,
        "hr/pto-2025.md",
        PTO.replace("owner: people-ops", "owner: people-ops\nstatus: gone"),
    )
    report = await ingest(database, knowledge)
    [error] = report.errors
    assert error.file == "knowledge/hr/pto-2025.md"
    assert error.line == 6
    assert "status" in error.problem
    assert report.removed == 0
    assert _ids(await _search(database, "How many PTO days do I get?", ANA, limit=1)) == [
        "hr-pto-2025"
    ]


async def test_broken_access_file_keeps_the_documents_it_governs(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    _write(knowledge, "sales/_access.yml", "default: [sales\n")
    _write(knowledge, "sales/discounts.md", "# Discounts\n\nEverything is free now.\n")
    report = await ingest(database, knowledge)
    assert [e.file for e in report.errors] == ["knowledge/sales/_access.yml"]
    assert (report.updated, report.removed) == (0, 0)
    [passage] = await _search(database, "discounts", BO)
    assert "approval" in passage.text


async def test_duplicate_ids_are_an_error_naming_both_files(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    _write(knowledge, "hr/copy.md", PTO.replace("25 days", "99 days"))
    report = await ingest(database, knowledge)
    [error] = report.errors
    assert "hr-pto-2025" in error.problem
    assert "knowledge/hr/copy.md" in str(error) and "knowledge/hr/pto-2025.md" in str(error)
    assert report.removed == 0
    [passage] = await _search(database, "PTO days per year", ANA, limit=1)
    assert "25 days" in passage.text


async def test_only_limits_ingest_and_removal_to_a_folder(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    (knowledge / "finance" / "expenses.md").unlink()
    _write(knowledge, "hr/parental.md", "# Parental leave\n\nSixteen weeks of paid leave.\n")
    report = await ingest(database, knowledge, only=Path("hr"))
    assert (report.added, report.unchanged, report.removed) == (1, 2, 0)
    assert await get_document(database, "finance/expenses") is not None
    report = await ingest(database, knowledge, only=knowledge / "finance")
    assert report.removed == 1
    assert await get_document(database, "finance/expenses") is None


async def test_only_must_name_a_file_or_folder_that_is_inside_knowledge(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    (knowledge / "hr" / "pto-2023.md").unlink()
    # Nothing would be indexed, and every count would read zero, as if all were well.
    with pytest.raises(WorkspaceError, match="knowledge/hr/pto-2032.md: does not exist"):
        await ingest(database, knowledge, only=Path("hr/pto-2032.md"))
    with pytest.raises(WorkspaceError, match="is not inside knowledge/"):
        await ingest(database, knowledge, only=workspace / "elsewhere")
    assert await get_document(database, "hr-pto-2023") is not None
    report = await ingest(database, knowledge, only=Path("knowledge/hr"))  # from the workspace
    assert (report.unchanged, report.removed) == (1, 1)


async def test_only_still_sees_a_duplicate_id_outside_its_folder(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    before = await get_document(database, "hr-pto-2025")
    _write(knowledge, "finance/pto-copy.md", PTO.replace("25 days", "99 days"))
    report = await ingest(database, knowledge, only=Path("finance"))
    [error] = report.errors
    assert "knowledge/finance/pto-copy.md" in str(error)
    assert "knowledge/hr/pto-2025.md" in str(error)
    assert await get_document(database, "hr-pto-2025") == before


async def test_a_moved_file_keeps_its_id_and_follows_its_path(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    (knowledge / "hr" / "pto-2025.md").rename(knowledge / "finance" / "pto-2025.md")
    report = await ingest(database, knowledge)
    assert (report.updated, report.removed) == (1, 0)
    document = await get_document(database, "hr-pto-2025")
    assert document is not None and document.path == "finance/pto-2025.md"


async def test_a_folders_owner_owns_its_documents_unless_their_front_matter_names_one(
    database, workspace
):
    knowledge = workspace / "knowledge"
    _write(knowledge, "support/_access.yml", "default: [support]\nowner: support-leads\n")
    _write(knowledge, "support/sub/refunds.csv", "tier,refund window\nGold,60 days\n")
    _write(
        knowledge,
        "support/escalation.md",
        "---\nowner: Rosa@Acme.example\n---\n# Escalation\n\nPage the lead on call.\n",
    )
    await ingest(database, knowledge)
    owners = {
        doc_id: (await get_document(database, doc_id)).owner
        for doc_id in (
            "support/macros",
            "support/sub/refunds",
            "support/escalation",
            "sales/discounts",
        )
    }
    assert owners == {
        "support/macros": "support-leads",  # the folder's
        "support/sub/refunds": "support-leads",  # a folder below it
        "support/escalation": "rosa@acme.example",  # its own
        "sales/discounts": None,  # no owner anywhere
    }
    _write(knowledge, "support/_access.yml", "default: [support]\nowner: support-team\n")
    report = await ingest(database, knowledge)  # the owner is part of what is indexed
    assert report.updated == 2  # escalation.md keeps its own owner
    assert (await get_document(database, "support/macros")).owner == "support-team"


async def test_documents_whose_access_names_nobody_the_directory_knows_are_counted(
    database, workspace
):
    # The directory knows the support and sales groups, not "legal" (a misspelt or
    # missing group): a document only legal may read is seen by nobody.
    knowledge = workspace / "knowledge"
    _write(knowledge, "legal/_access.yml", "default: [legal]\n")
    _write(knowledge, "legal/msa.md", "# MSA\n\nLiability is capped at fees paid.\n")
    groups = {"everyone", "public", "sales", "support"}
    report = await ingest(database, knowledge, admits=groups.__contains__)
    assert report.errors == [], report.summary()
    assert (report.visible_to_nobody, report.nobody) == (1, ["legal/msa.md"])
    # Without a directory to ask, only a document with no access at all is counted.
    _write(knowledge, "legal/msa.md", "# MSA\n\nLiability is capped at twice the fees.\n")
    assert (await ingest(database, knowledge)).visible_to_nobody == 0


async def test_documents_without_any_rule_are_indexed_but_visible_to_nobody(database, workspace):
    knowledge = workspace / "knowledge"
    (knowledge / "_access.yml").unlink()
    report = await ingest(database, knowledge)
    assert report.visible_to_nobody == 3
    assert report.nobody == ["finance/expenses.md", "hr/pto-2023.md", "hr/pto-2025.md"]
    assert await count_documents(database) == 7
    everyone = (ANA, BO, CY)
    for person in everyone:
        assert not await _search(database, "paid time off meals reimbursed", person)
    assert await visible_document_count(database, AccessScope.for_person(CY)) == 4


# --- search -------------------------------------------------------------------------------


async def test_natural_question_ranks_the_right_document_first(database, workspace):
    await ingest(database, workspace / "knowledge")
    passages = await _search(database, "How many PTO days do I get?", ANA)
    assert passages[0].doc_id == "hr-pto-2025"
    assert passages[0].score >= passages[-1].score
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    top = passages[0]
    assert top.chunk_id.startswith("hr-pto-2025#")
    assert top.title == "Paid Time Off Policy"
    assert top.url == "https://wiki.acme.example/hr/pto"
    assert top.owner == "people-ops"
    assert top.updated.isoformat() == "2025-01-15"
    assert top.supersedes == "hr-pto-2023"
    assert top.tags == ("hr", "leave")
    assert top.access == ("everyone",)
    assert top.status == "current"
    assert top.heading == "Allowance"


async def test_question_of_only_stopwords_finds_nothing(database, workspace):
    await ingest(database, workspace / "knowledge")
    assert not await _search(database, "What is it, and how do I get it?", ANA)


async def test_scope_filters_by_group(database, workspace):
    await ingest(database, workspace / "knowledge")
    assert "support/macros" in _ids(await _search(database, "refund", ANA))
    assert "support/macros" not in _ids(await _search(database, "refund", BO))
    assert "sales/discounts" not in _ids(await _search(database, "discounts", ANA))


async def test_several_viewers_see_only_what_all_of_them_may_see(database, workspace):
    await ingest(database, workspace / "knowledge")
    together = set(_ids(await _search(database, "refund", ANA, BO, limit=20)))
    assert together == {"shared/sla", "public/returns"}
    assert "support/macros" in _ids(await _search(database, "refund", ANA, CY, limit=20))


async def test_public_documents_reach_outsiders_and_everyone_documents_do_not(database, workspace):
    await ingest(database, workspace / "knowledge")
    passages = await search(database, query="refund days", scope=OUTSIDER)
    assert _ids(passages) == ["public/returns"]
    assert not await search(database, query="PTO allowance", scope=OUTSIDER)


async def test_empty_scope_returns_nothing(database, workspace):
    await ingest(database, workspace / "knowledge")
    assert not await search(database, query="PTO", scope=AccessScope(viewers=()))
    empty_viewer = AccessScope(viewers=(frozenset(),))
    assert not await search(database, query="PTO", scope=empty_viewer)
    assert await visible_document_count(database, AccessScope(viewers=())) == 0


async def test_superseded_document_is_left_out_when_its_replacement_is_visible(database, workspace):
    await ingest(database, workspace / "knowledge")
    ids = _ids(await _search(database, "paid time off PTO", ANA, limit=20))
    assert "hr-pto-2025" in ids and "hr-pto-2023" not in ids


async def test_deprecated_document_returns_when_its_replacement_is_not_visible(database, workspace):
    knowledge = workspace / "knowledge"
    _write(
        knowledge,
        "hr/pto-2025.md",
        PTO.replace("tags: [hr, leave]", "tags: [hr]\naccess: [people-ops]"),
    )
    await ingest(database, knowledge)
    passages = await _search(database, "paid time off PTO", ANA, limit=20)
    assert _ids(passages) == ["hr-pto-2023"]
    assert passages[0].status == "deprecated"
    hr = Person(email="hr@acme.example", name="Hr", groups=frozenset({"people-ops"}))
    assert _ids(await _search(database, "paid time off PTO", hr, limit=20))[0] == "hr-pto-2025"
    assert "hr-pto-2023" not in _ids(await _search(database, "paid time off PTO", hr, limit=20))


async def test_drafts_are_never_returned(database, workspace):
    knowledge = workspace / "knowledge"
    _write(
        knowledge, "hr/sabbatical.md", "---\nstatus: draft\n---\n# Sabbatical\n\nSabbatical plan.\n"
    )
    await ingest(database, knowledge)
    assert not await _search(database, "sabbatical", ANA)
    document = await get_document(database, "hr/sabbatical")
    assert document is not None and document.status == "draft"


HOSTILE_QUESTIONS = [
    'refund" OR "x',
    "refund NEAR(days, 3)",
    "refund*",
    "title:refund",
    "refund'; DROP TABLE documents; --",
    "refund & !days | (x <-> y)",
    '"unterminated',
    "^refund + -days {}[]",
    "NOT AND OR",
    "\x00 refund \\ \u2019s",
    "🙂 refund",
]


async def test_hostile_query_text_is_just_words(database, workspace):
    await ingest(database, workspace / "knowledge")
    for question in HOSTILE_QUESTIONS:
        passages = await _search(database, question, BO, limit=20)
        assert all(AccessScope.for_person(BO).allows(p.access) for p in passages), question
        if "refund" in question:
            assert "shared/sla" in _ids(passages), question
    assert await count_documents(database) == 7


async def test_search_accepts_an_open_session(database, workspace):
    await ingest(database, workspace / "knowledge")
    async with database.session() as session:
        passages = await search(session, query="meals", scope=AccessScope.for_person(ANA))
    assert _ids(passages) == ["finance/expenses"]


async def test_document_listings_respect_the_scope(database, workspace):
    await ingest(database, workspace / "knowledge")
    visible = {d.id for d in await get_documents(database, scope=AccessScope.for_person(BO))}
    assert visible == {
        "hr-pto-2025",
        "hr-pto-2023",
        "finance/expenses",
        "sales/discounts",
        "shared/sla",
        "public/returns",
    }
    assert await visible_document_count(database, AccessScope.for_person(BO)) == 6
    assert await visible_document_count(database, OUTSIDER) == 1
    assert await get_document(database, "support/macros", scope=AccessScope.for_person(BO)) is None
    document = await get_document(database, "support/macros")
    assert document is not None and document.chunks == 1 and document.path == "support/macros.txt"


async def test_removed_documents_leave_nothing_searchable_behind(database, workspace):
    knowledge = workspace / "knowledge"
    await ingest(database, knowledge)
    _write(knowledge, "finance/expenses.md", "# Travel\n\nTrains only.\n")
    await ingest(database, knowledge)
    assert not await _search(database, "meals reimbursed", ANA)
    assert _ids(await _search(database, "trains", ANA)) == ["finance/expenses"]
    for path in knowledge.rglob("*.*"):
        if path.name != "_access.yml":
            path.unlink()
    report = await ingest(database, knowledge)
    assert report.removed == 7
    assert not await _search(database, "trains refund PTO discounts", CY)
    async with database.session() as session:
        leftover = await session.execute(text("SELECT count(*) FROM chunks"))
        assert leftover.scalar_one() == 0


async def test_a_match_in_the_title_outranks_the_same_match_in_the_text(database, tmp_path):
    knowledge = tmp_path / "knowledge"
    _write(knowledge, "_access.yml", "default: [everyone]\n")
    body = "Ask your manager about the first week and the onboarding buddy programme.\n"
    _write(knowledge, "a.md", f"---\ntitle: Team Practices\n---\n{body}")
    _write(knowledge, "b.md", f"---\ntitle: Onboarding Guide\n---\n{body}")
    _write(knowledge, "c.md", "---\ntitle: Lunch\n---\nThe canteen opens at noon.\n")
    await ingest(database, knowledge)
    assert _ids(await _search(database, "onboarding", ANA)) == ["b", "a"]


async def test_words_that_are_only_stopwords_to_the_database_are_harmless(database, workspace):
    await ingest(database, workspace / "knowledge")
    assert not await _search(database, "ll ve re ma", ANA)


@pytest.mark.postgres
async def test_sqlite_and_postgresql_rank_exactly_alike(tmp_path, workspace):
    from tests.conftest import _create_postgres_database, _drop_postgres_database

    name, url = await _create_postgres_database()
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'alike.db'}")
    postgres = Database(url)
    try:
        rankings = []
        for database in (sqlite, postgres):
            await upgrade(database)
            await ingest(database, workspace / "knowledge", workspace_root=workspace)
            found = []
            for question in (
                "How many days of paid time off?",
                "dinner on a business trip",
                "refund within 30 days",
                "discounts approval",
            ):
                passages = await search(database, query=question, scope=AccessScope.for_person(CY))
                found.append([(p.chunk_id, round(p.score, 6)) for p in passages])
            rankings.append(found)
        assert rankings[0] == rankings[1]
        assert any(rankings[0])
    finally:
        await sqlite.dispose()
        await postgres.dispose()
        await _drop_postgres_database(name)


async def test_a_link_to_a_file_outside_the_knowledge_folder_is_not_read(database, workspace):
    outside = workspace / "host-secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (workspace / "knowledge" / "passwd.txt").symlink_to(outside)
    report = await ingest(database, workspace / "knowledge", workspace_root=workspace)
    assert any(
        "passwd.txt" in str(e) and "outside the knowledge folder" in str(e) for e in report.errors
    )
    assert not any("host-secret" in str(e) for e in report.errors)
    assert await get_document(database, "passwd") is None
    found = await search(database, query="root bin bash", scope=AccessScope.for_person(CY))
    assert all("root:x" not in p.text for p in found)


async def test_control_characters_are_removed_the_same_way_on_both_databases(database, workspace):
    knowledge = workspace / "knowledge"
    (knowledge / "binary-ish.md").write_bytes(
        "# Lockers\n\nLockers are\x00 emptied every Friday\u202e at 6 pm.\n".encode()
    )
    report = await ingest(database, knowledge, workspace_root=workspace)
    assert report.errors == []
    [passage] = await search(
        database, query="when are lockers emptied", scope=AccessScope.for_person(CY), limit=1
    )
    assert passage.doc_id == "binary-ish"
    assert "Lockers are emptied every Friday at 6 pm." in passage.text
