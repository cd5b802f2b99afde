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

from app.config import Settings
from app.operations import ask_as
from tests.question_sets import Case, Corpus, held_out_corpora, problems

CORPORA = {corpus.name: corpus for corpus in held_out_corpora()}


def _params():
    for corpus in CORPORA.values():
        for case in corpus.cases:
            marks = [pytest.mark.xfail(reason=case.known_gap, strict=True)] if case.known_gap else []
            yield pytest.param(corpus.name, case, id=f"{corpus.name}/{case.id}", marks=marks)


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> dict[str, str]:
    """One SQLite database per corpus for the whole module (ask_as indexes it on first use)."""
    folder = tmp_path_factory.mktemp("held-out")
    return {name: f"sqlite+aiosqlite:///{folder / name}.db" for name in CORPORA}


def _settings(corpus: Corpus, database_url: str) -> Settings:
    return Settings(workspace=corpus.workspace, database_url=database_url,
                    anthropic_api_key=None)


@pytest.mark.parametrize(("corpus_name", "case"), list(_params()))
async def test_question_gets_the_expected_answer(databases, corpus_name: str, case: Case):
    corpus = CORPORA[corpus_name]
    result = await ask_as(_settings(corpus, databases[corpus_name]), email=case.asker,
                          question=case.question, channel_id=case.channel)
    assert problems(case, result) == [], result
    for citation in result["citations"]:
        assert citation["quote"] and citation["title"]


def test_corpora_cover_every_kind_of_question():
    for corpus in CORPORA.values():
        kinds = {case.kind for case in corpus.cases}
        assert {"answerable", "restricted", "unanswerable"} <= kinds, corpus.name


# --- the real command ---------------------------------------------------------------------


def _trellis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, capture_output=True,
                          text=True, timeout=110)


@pytest.fixture(scope="module")
def kestrel_cli(tmp_path_factory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("kestrel-cli") / "trellis.db"
    env = {**os.environ, "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
           "TRELLIS_WORKSPACE": str(CORPORA["kestrel"].workspace)}
    env.pop("ANTHROPIC_API_KEY", None)
    result = _trellis(env, "ingest")
    assert result.returncode == 0, result.stderr
    assert "visible to nobody" in result.stdout  # the unsorted data-centre note
    return env


def _cli_case(corpus: str, case_id: str) -> Case:
    return next(c for c in CORPORA[corpus].cases if c.id == case_id)


@pytest.mark.parametrize("case_id", ["laptop-replacement", "forensics-denied", "zoom-licence",
                                     "mixed-desk-hours-and-canteen"])
def test_the_cli_answers_like_the_operation(kestrel_cli, case_id: str):
    case = _cli_case("kestrel", case_id)
    result = _trellis(kestrel_cli, "ask", "--as", case.asker, "--json", case.question)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert problems(case, answer) == [], answer
    assert answer["audit_id"]


def test_a_mixed_question_names_the_part_nothing_answers(kestrel_cli):
    case = _cli_case("kestrel", "mixed-desk-hours-and-canteen")
    answer = json.loads(_trellis(kestrel_cli, "ask", "--as", case.asker, "--json",
                                 case.question).stdout)
    assert "what time does the canteen close" in answer["answer"]
    assert answer["confidence"] < 0.85


def test_the_channel_reply_leaves_out_what_a_member_may_not_see(kestrel_cli):
    case = _cli_case("kestrel", "channel-hides-research")
    result = _trellis(kestrel_cli, "ask", "--as", case.asker, "--channel", case.channel,
                      "--json", case.question)
    answer = json.loads(result.stdout)
    assert answer["status"] == "no_answer" and answer["citations"] == []
    assert "48 hours" not in answer["answer"]
    assert answer["private"]["status"] == "answered"
    assert "48 hours" in answer["private"]["answer"]

