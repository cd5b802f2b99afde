"""Every held-out corpus's question set through `trellis ask --json`.

Each workspace under tests/data/workspaces/ with a questions.yml (the format is described
in tests/question_sets.py) is ingested once, and every question is asked as its asker
would ask it: allowed questions must cite the right source and state the fact, restricted
ones must come back `no_answer` without the fact anywhere in the output, unanswerable ones
`no_answer`, and a question mixing both must answer the part the sources support. The
questions run in-process through `ask_as` (what the CLI calls); a few also run the real
command in a subprocess. A case marked `known_gap` is expected to fail, strictly, so a
fix shows up as an unexpected pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.cli.operations import ask_as
from app.config.settings import Settings
from tests.question_sets import Case, Corpus, held_out_corpora, problems

CORPORA = {corpus.name: corpus for corpus in held_out_corpora()}


def _params():
    for corpus in CORPORA.values():
        for case in corpus.cases:
            marks = (
                [pytest.mark.xfail(reason=case.known_gap, strict=True)] if case.known_gap else []
            )
            yield pytest.param(corpus.name, case, id=f"{corpus.name}/{case.id}", marks=marks)


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> dict[str, str]:
    """One SQLite database per corpus for the whole module (ask_as indexes it on first use)."""
    folder = tmp_path_factory.mktemp("held-out")
    return {name: f"sqlite+aiosqlite:///{folder / name}.db" for name in CORPORA}


def _settings(corpus: Corpus, database_url: str) -> Settings:
    return Settings(workspace=corpus.workspace, database_url=database_url, anthropic_api_key=None)


@pytest.mark.parametrize(("corpus_name", "case"), list(_params()))
async def test_question_gets_the_expected_answer(databases, corpus_name: str, case: Case):
    corpus = CORPORA[corpus_name]
    (result,) = await ask_as(
        _settings(corpus, databases[corpus_name]),
        email=case.asker,
        questions=[case.question],
        channel_id=case.channel,
    )
    assert problems(case, result) == [], result
    for citation in result["citations"]:
        assert citation["quote"] and citation["title"]


def test_corpora_cover_every_kind_of_question():
    for corpus in CORPORA.values():
        kinds = {case.kind for case in corpus.cases}
        assert {"answerable", "restricted", "unanswerable"} <= kinds, corpus.name


# --- the real command ---------------------------------------------------------------------


def _trellis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=110
    )


@pytest.fixture(scope="module")
def kestrel_cli(tmp_path_factory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("kestrel-cli") / "trellis.db"
    env = {
        **os.environ,
        "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "TRELLIS_WORKSPACE": str(CORPORA["kestrel"].workspace),
    }
    env.pop("ANTHROPIC_API_KEY", None)
    result = _trellis(env, "ingest")
    assert result.returncode == 0, result.stderr
    assert "visible to nobody" in result.stdout  # the unsorted data-centre note
    return env


def _cli_case(corpus: str, case_id: str) -> Case:
    return next(c for c in CORPORA[corpus].cases if c.id == case_id)


@pytest.mark.parametrize(
    "case_id",
    ["laptop-replacement", "forensics-denied", "zoom-licence", "mixed-desk-hours-and-canteen"],
)
def test_the_cli_answers_like_the_operation(kestrel_cli, case_id: str):
    case = _cli_case("kestrel", case_id)
    result = _trellis(kestrel_cli, "ask", "--as", case.asker, "--json", case.question)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert problems(case, answer) == [], answer
    assert answer["audit_id"]


def test_a_mixed_question_names_the_part_nothing_answers(kestrel_cli):
    case = _cli_case("kestrel", "mixed-desk-hours-and-canteen")
    answer = json.loads(
        _trellis(kestrel_cli, "ask", "--as", case.asker, "--json", case.question).stdout
    )
    assert "what time does the canteen close" in answer["answer"]
    assert answer["confidence"] < 0.85


def test_the_channel_reply_leaves_out_what_a_member_may_not_see(kestrel_cli):
    case = _cli_case("kestrel", "channel-hides-research")
    result = _trellis(
        kestrel_cli, "ask", "--as", case.asker, "--channel", case.channel, "--json", case.question
    )
    answer = json.loads(result.stdout)
    assert answer["status"] == "no_answer" and answer["citations"] == []
    assert "48 hours" not in answer["answer"]
    assert answer["private"]["status"] == "answered"
    assert "48 hours" in answer["private"]["answer"]


async def test_the_private_fuller_answer_goes_through_the_review_rules(tmp_path):
    import shutil

    from sqlalchemy import select

    from app.cli.operations import offline_services
    from app.config.workspace import load_workspace
    from app.db.migrate import upgrade
    from app.db.models.approvals import Draft
    from app.db.session import Database
    from app.domain import AnswerStatus
    from app.knowledge.ingest import ingest
    from app.pipeline import Question, answer_question
    from tests.question_sets import WORKSPACES

    workspace_dir = tmp_path / "kestrel"
    shutil.copytree(WORKSPACES / "kestrel", workspace_dir)
    (workspace_dir / "rules.yml").write_text(
        'answers:\n  review_when: "true"\n  reviewers: [it-staff]\n', encoding="utf-8"
    )
    workspace = load_workspace(workspace_dir)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'review.db'}")
    try:
        await upgrade(database)
        await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
        services = offline_services(Settings(workspace=workspace_dir), workspace, database)
        ben = workspace.directory.by_email("ben@kestrel.example")
        channel = await services.slack.channel("C0ITHELP1")
        outcome = await answer_question(
            services,
            Question(
                text="How long can a job run on the Heron cluster?",
                channel=channel,
                person=ben,
                slack_user_id=ben.slack_id or "bench:ben",
            ),
        )
        assert outcome.public.status == AnswerStatus.NO_ANSWER
        assert outcome.private is not None
        assert outcome.private.status == AnswerStatus.NEEDS_APPROVAL
        assert "48 hours" not in outcome.private.text and not outcome.private.citations
        async with database.session() as session:
            held = (await session.execute(select(Draft))).scalars().all()
        assert [(d.kind, d.private) for d in held] == [("answer", True)]
        assert "48 hours" in held[0].text
    finally:
        await database.dispose()
