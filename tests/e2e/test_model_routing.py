"""End to end with Claude (the fake Messages API): routing, budgets and model failures.

The real Bolt app answers through the sandbox; the answerer is the one `trellis run`
builds from Settings(anthropic_api_key, anthropic_base_url).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anthropic
import pytest

from app.answering.backends.resilient import ResilientAnswerer
from app.answering.base import Answerer
from app.config.settings import Settings
from app.config.workspace import Workspace, default_workspace_path, load_workspace
from app.services import anthropic_client, build_answerer
from tests.fakes import FakeAnthropic
from tests.harness import blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"
LIAM = "liam.carter@northwind.example"
PRIYA = "priya.nair@northwind.example"
QUESTION = "When is Trail Day in 2026?"
DEADLINE_S = 5.0
ANSWER_MODEL, CHEAPER_MODEL = "claude-sonnet-4-6", "claude-haiku-4-5"


@pytest.fixture
async def claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(min_cache_tokens=0, hang_s=30) as fake:
        yield fake


@pytest.fixture
async def with_claude(claude: FakeAnthropic) -> AsyncIterator[Callable[[Workspace], Answerer]]:
    """An `answerer_for` for running_trellis: the answerer `trellis run` builds for Claude."""
    clients: list[anthropic.AsyncAnthropic] = []

    def answerer_for(workspace: Workspace) -> Answerer:
        settings = Settings(anthropic_api_key=claude.api_key, anthropic_base_url=claude.base_url)
        client = anthropic_client(settings)
        clients.append(client)
        answerer = build_answerer(settings, workspace, client)
        assert isinstance(answerer, ResilientAnswerer)
        answerer.deadline_s = DEADLINE_S
        answerer.base_delay_s = 0.05
        return answerer

    yield answerer_for
    for client in clients:
        await client.close()


def workspace_with(tmp_path: Path, *, models: str = "", budgets: str = "") -> Path:
    """The demo workspace with its own model routing and budgets (trellis.yml ends with them)."""
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    config = (root / "trellis.yml").read_text()
    head = config[: config.index("models:")]
    models = models or f"models:\n  answer: {ANSWER_MODEL}\n  classify: {CHEAPER_MODEL}\n"
    (root / "trellis.yml").write_text(head + models + budgets)
    return root


def requests_for(fake: FakeAnthropic, model: str) -> int:
    return sum(1 for r in fake.message_requests if (r.body or {}).get("model") == model)


async def test_answers_use_the_answer_model_and_their_cost_is_recorded(
    tmp_path, claude, with_claude
):
    async with running_trellis(
        tmp_path, workspace=workspace_with(tmp_path), answerer_for=with_claude
    ) as trellis:
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts)
        assert "[1]" in blocks_text(answer.blocks)
        assert requests_for(claude, ANSWER_MODEL) == 1
        metrics = trellis.services.metrics.exposition().decode()
        assert f'trellis_model_cost_usd_total{{kind="input",model="{ANSWER_MODEL}"}}' in metrics


async def test_over_the_personal_budget_the_answer_comes_from_the_sources_and_says_so(
    tmp_path, claude, with_claude
):
    root = workspace_with(tmp_path, budgets="budgets:\n  per_person_daily_usd: 0.0001\n")
    async with running_trellis(tmp_path, workspace=root, answerer_for=with_claude) as trellis:
        first = await trellis.answer_in_thread(
            "support", await trellis.ask(SAM, "support", QUESTION)
        )
        assert "budget" not in blocks_text(first.blocks)
        assert requests_for(claude, ANSWER_MODEL) == 1
        ts = await trellis.ask(SAM, "support", QUESTION)
        second = blocks_text((await trellis.answer_in_thread("support", ts)).blocks)
        assert "today's AI budget" in second and "composed directly from the sources" in second
        assert "[1]" in second
        assert requests_for(claude, ANSWER_MODEL) == 1  # the model was not called again
        metrics = trellis.services.metrics.exposition().decode()
        assert 'trellis_budget_fallbacks_total{task="answer"} 1.0' in metrics


async def test_a_team_over_its_budget_falls_back_for_every_member(tmp_path, claude, with_claude):
    root = workspace_with(tmp_path, budgets="budgets:\n  per_group_daily_usd:\n    sales: 0.0001\n")
    async with running_trellis(tmp_path, workspace=root, answerer_for=with_claude) as trellis:
        await trellis.answer_in_thread("sales", await trellis.ask(LIAM, "sales", QUESTION))
        ts = await trellis.ask(PRIYA, "sales", QUESTION)
        text = blocks_text((await trellis.answer_in_thread("sales", ts)).blocks)
        assert "the sales team has used today's AI budget" in text
        # Someone outside sales still gets the model.
        ts = await trellis.ask(SAM, "support", QUESTION)
        assert "budget" not in blocks_text((await trellis.answer_in_thread("support", ts)).blocks)
        assert requests_for(claude, ANSWER_MODEL) == 2


@pytest.mark.parametrize(
    ("fault", "times", "note"),
    [
        ("429", 3, "rate limit reached"),
        ("529", 3, "overloaded"),
        ("500", 3, "server error"),
        ("timeout", 1, "timed out"),
        ("billing", 2, "spending limit reached"),
    ],
)
async def test_model_faults_end_in_a_clear_answer_within_the_deadline(
    tmp_path, claude, with_claude, fault, times, note
):
    claude.fail_next(fault, times=times, retry_after=0.1)
    async with running_trellis(
        tmp_path, workspace=workspace_with(tmp_path), answerer_for=with_claude
    ) as trellis:
        started = time.monotonic()
        ts = await trellis.ask(SAM, "support", QUESTION)
        answer = await trellis.answer_in_thread("support", ts, timeout=DEADLINE_S + 5)
        elapsed = time.monotonic() - started
        text = blocks_text(answer.blocks)
        assert f"The AI model was unavailable ({note})" in text
        assert "[1]" in text and "Trail Day" in text
        assert elapsed < DEADLINE_S + 2
        assert requests_for(claude, ANSWER_MODEL) <= 3
        if fault == "billing":  # a spend cap is not retried, and the cheaper model hit it too
            assert requests_for(claude, ANSWER_MODEL) == 1
            assert "composed directly from the sources" in text
        else:
            assert "backup AI model" in text


async def test_the_answer_model_follows_the_workspace(tmp_path, claude, with_claude):
    root = workspace_with(tmp_path, models="models:\n  answer: claude-opus-4-6\n")
    assert load_workspace(root).config.models.answer == "claude-opus-4-6"
    async with running_trellis(tmp_path, workspace=root, answerer_for=with_claude) as trellis:
        await trellis.answer_in_thread("support", await trellis.ask(SAM, "support", QUESTION))
        assert requests_for(claude, "claude-opus-4-6") == 1
        assert requests_for(claude, ANSWER_MODEL) == 0
