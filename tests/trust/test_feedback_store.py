"""Flags, feedback, curated answers and owner notices in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from app.config.workspace import default_workspace_path, load_workspace
from app.db.models.feedback import OwnerNotice
from app.db.repositories.feedback import (
    AnswerFeedbackRepository,
    CuratedAnswerRepository,
    FlagRepository,
    OwnerNoticeRepository,
)
from app.domain import AccessScope, Citation
from app.knowledge.ingest import ingest
from app.trust.corrections import (
    append_eval_case,
    curated_answer_for,
    eval_case,
    new_curated,
    retire_matching,
    similarity,
    terms_of,
)

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SUPPORT = AccessScope(viewers=(frozenset({"everyone", "public", "support", "sam@x.example"}),))
SALES = AccessScope(viewers=(frozenset({"everyone", "public", "sales", "liam@x.example"}),))
SUPPORT_AND_GUEST = AccessScope(viewers=(*SUPPORT.viewers, frozenset({"public"})))


def flag_values(answer_id: str = "a1", flagger: str = "sam@x.example") -> dict:
    return {
        "id": str(uuid.uuid4()),
        "answer_id": answer_id,
        "audit_id": "au1",
        "flagger_email": flagger,
        "flagger_slack_id": "U1",
        "reactions": ["x"],
        "status": "open",
        "doc_ids": ["support-macros"],
        "owners": ["support-leads"],
        "notices": [],
        "created_at": NOW,
        "updated_at": NOW,
    }


async def test_one_flag_per_answer_and_flagger_even_when_inserted_at_once(database):
    async def insert() -> bool:
        async with database.session() as session:
            return await FlagRepository(session).insert_if_absent(flag_values())

    created = await asyncio.gather(*(insert() for _ in range(5)))
    assert created.count(True) == 1
    async with database.session() as session:
        assert await FlagRepository(session).insert_if_absent(
            flag_values(flagger="kenji@x.example")
        )
        assert (await FlagRepository(session).count_by_status()) == {"open": 2}


async def test_a_flag_is_decided_exactly_once(database):
    values = flag_values()
    async with database.session() as session:
        await FlagRepository(session).insert_if_absent(values)

    async def decide(who: str) -> bool:
        async with database.session() as session:
            return await FlagRepository(session).change_status(
                values["id"], expected=["open"], status="dismissed", now=NOW, decided_by_email=who
            )

    results = await asyncio.gather(*(decide(f"owner{i}@x.example") for i in range(10)))
    assert results.count(True) == 1
    async with database.session() as session:
        flag = await FlagRepository(session).get(values["id"])
        assert flag.status == "dismissed" and flag.decided_by_email.startswith("owner")


async def test_feedback_is_one_row_per_person_and_answer(database):
    async with database.session() as session:
        repo = AnswerFeedbackRepository(session)
        assert (
            await repo.record(
                feedback_id="f1",
                answer_id="a1",
                person_email="sam@x.example",
                helpful=True,
                now=NOW,
            )
            is None
        )
        assert (
            await repo.record(
                feedback_id="f2",
                answer_id="a1",
                person_email="sam@x.example",
                helpful=False,
                now=NOW,
            )
            is True
        )
        assert (
            await repo.record(
                feedback_id="f3",
                answer_id="a1",
                person_email="kim@x.example",
                helpful=True,
                now=NOW,
            )
            is None
        )
    async with database.session() as session:
        repo = AnswerFeedbackRepository(session)
        assert sorted((f.person_email, f.helpful) for f in await repo.for_answer("a1")) == [
            ("kim@x.example", True),
            ("sam@x.example", False),
        ]
        assert await repo.counts(since=NOW - timedelta(days=1)) == {True: 1, False: 1}


async def test_owner_notices_are_claimed_by_one_sender(database):
    async with database.session() as session:
        repo = OwnerNoticeRepository(session)
        for i in range(3):
            await repo.add(
                OwnerNotice(
                    id=str(uuid.uuid4()),
                    kind="no_answer",
                    route="no_answer:hr",
                    payload={"question": f"q{i}"},
                    created_at=NOW,
                )
            )

    async def claim() -> int:
        async with database.session() as session:
            return len(
                await OwnerNoticeRepository(session).claim(
                    "no_answer:hr", claim_id=str(uuid.uuid4()), now=NOW
                )
            )

    assert sorted(await asyncio.gather(claim(), claim(), claim())) == [0, 0, 3]
    async with database.session() as session:
        repo = OwnerNoticeRepository(session)
        assert await repo.count_waiting() == 0 and await repo.routes_waiting() == []
        assert (await repo.last_sent("no_answer:hr")).replace(tzinfo=UTC) == NOW


@pytest.fixture
async def indexed(database):
    workspace = load_workspace(default_workspace_path())
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    return database


SOURCE_QUOTE = "Prepaid labels are free for defective items"
"""A sentence support-macros really says."""


async def _curate(
    database,
    question: str,
    doc_ids: list[str],
    *,
    answer: str = "Curated.",
    at: datetime = NOW,
    quote: str = SOURCE_QUOTE,
) -> str:
    curated_id = str(uuid.uuid4())
    async with database.session() as session:
        repo = CuratedAnswerRepository(session)
        await retire_matching(repo, question)
        await repo.add(
            new_curated(
                curated_id=curated_id,
                flag_id=None,
                question=question,
                answer=answer,
                citations=[Citation(doc_id=d, title=d, quote=quote) for d in doc_ids],
                approver_email="rosa@x.example",
                approver_name="Rosa Delgado",
                now=at,
            )
        )
    return curated_id


async def test_a_curated_answer_matches_the_same_or_a_close_question_within_scope(indexed):
    await _curate(indexed, "What is the prepaid return label fee?", ["support-macros"])
    found = await curated_answer_for(
        indexed, question="what's the prepaid return label fee", scope=SUPPORT
    )
    assert found is not None and found.approved_by == "Rosa Delgado"
    assert found.note.startswith("Curated answer approved by Rosa Delgado")
    assert found.doc_ids == ("support-macros",)
    # Access: sales, and a channel with a guest in it, may not see the source.
    assert (
        await curated_answer_for(
            indexed, question="What is the prepaid return label fee?", scope=SALES
        )
        is None
    )
    assert (
        await curated_answer_for(
            indexed, question="What is the prepaid return label fee?", scope=SUPPORT_AND_GUEST
        )
        is None
    )
    # A different question is not "closely matching".
    assert (
        await curated_answer_for(
            indexed, question="What is the return policy for jackets?", scope=SUPPORT
        )
        is None
    )


async def test_a_curated_answer_resting_on_a_missing_source_is_never_used(indexed):
    await _curate(indexed, "Who approves discounts over 25%?", ["support-macros", "no-such-doc"])
    assert (
        await curated_answer_for(
            indexed, question="Who approves discounts over 25%?", scope=SUPPORT
        )
        is None
    )


async def test_a_curated_answer_whose_quote_is_not_in_its_source_is_never_used(indexed):
    question = "What is the prepaid return label fee?"
    await _curate(indexed, question, ["support-macros"], quote="")
    assert await curated_answer_for(indexed, question=question, scope=SUPPORT) is None
    await _curate(indexed, question, ["support-macros"], quote="Trail Club members pay nothing.")
    assert await curated_answer_for(indexed, question=question, scope=SUPPORT) is None
    await _curate(indexed, question, ["support-macros"])
    assert await curated_answer_for(indexed, question=question, scope=SUPPORT) is not None


async def test_a_newer_correction_replaces_the_older_one_for_the_same_question(indexed):
    await _curate(
        indexed, "What is the prepaid return label fee?", ["support-macros"], answer="Old."
    )
    await _curate(
        indexed,
        "What's the prepaid return label fee?",
        ["support-macros"],
        answer="New.",
        at=NOW + timedelta(hours=1),
    )
    found = await curated_answer_for(
        indexed, question="What is the prepaid return label fee?", scope=SUPPORT
    )
    assert found.text == "New."
    async with indexed.session() as session:
        assert len(await CuratedAnswerRepository(session).active()) == 1


def test_matching_compares_content_words_and_keeps_figures_apart():
    assert (
        similarity(
            terms_of("Who approves a discount over 25%?"),
            terms_of("who approves a discount over 25 %"),
        )
        == 1.0
    )
    assert (
        similarity(
            terms_of("Who approves a discount over 25%?"),
            terms_of("Who approves a discount over 10%?"),
        )
        < 0.75
    )
    assert similarity(terms_of("?"), terms_of("?")) == 0.0


def test_corrections_are_appended_to_a_valid_eval_file(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "evals").mkdir(parents=True)
    first = eval_case(
        case_id="correction-1", question="Q one?", asker="Sam@X.example", doc_ids=["support-macros"]
    )
    append_eval_case(workspace, first)
    append_eval_case(
        workspace,
        eval_case(
            case_id="correction-2", question="Q two?", asker="sam@x.example", doc_ids=["a", "b"]
        ),
    )
    append_eval_case(workspace, {**first, "question": "Q one, edited?"})
    data = yaml.safe_load((workspace / "evals" / "corrections.yml").read_text())
    assert [c["id"] for c in data["cases"]] == ["correction-2", "correction-1"]
    assert data["cases"][1]["question"] == "Q one, edited?"
    assert not [p for p in (workspace / "evals").iterdir() if p.name.startswith(".")]
    # readable as the workspace's other files are, not by its writer alone (mkstemp's 0600)
    made = workspace / "made.txt"
    made.write_text("x")
    mode = (workspace / "evals" / "corrections.yml").stat().st_mode & 0o777
    assert mode == made.stat().st_mode & 0o777


def test_the_demo_workspace_loads_with_a_corrections_file(tmp_path):
    import shutil

    folder = tmp_path / "ws"
    shutil.copytree(default_workspace_path(), folder)
    append_eval_case(
        folder,
        eval_case(
            case_id="correction-abc",
            question="What is the fee?",
            asker="sam.ortiz@northwind.example",
            doc_ids=["support-macros"],
        ),
    )
    cases = load_workspace(folder).evals
    assert [c.id for c in cases if c.id == "correction-abc"] == ["correction-abc"]
