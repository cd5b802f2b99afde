"""End to end with a slow Claude (the fake Messages API holding its replies): a question
waiting on the model gives its place in the queue to the next, so the model is asked about
many questions at once while only a few run the chain.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import anthropic
import pytest
from aiohttp import web

from app.answering.base import Answerer
from app.config.settings import Settings
from app.config.workspace import Workspace
from app.services import anthropic_client, build_answerer
from tests.fakes import FakeAnthropic
from tests.harness import running_trellis

ASKERS = (  # the members of #support
    "sam.ortiz@northwind.example",
    "rosa.delgado@northwind.example",
    "kenji.watanabe@northwind.example",
)
QUESTIONS = (
    "When is Trail Day in 2026?",
    "How many days of paid time off do full-time employees get per year?",
    "What apology code can I add to a delayed shipment reply?",
)
COUNT = 8
PLACES = 2
HOLD_S = 10.0


class SlowClaude(FakeAnthropic):
    """Replies only once COUNT requests are under way at once, or after HOLD_S seconds: a
    model slow enough that every question is waiting on it before the first is answered,
    without the test depending on how fast this machine is."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.all_asked = asyncio.Event()

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if self.in_flight >= COUNT:
            self.all_asked.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_asked.wait(), HOLD_S)
        return await super()._messages(request)


@pytest.fixture
async def slow_claude() -> AsyncIterator[SlowClaude]:
    fake = SlowClaude(min_cache_tokens=0)
    async with fake:
        yield fake


@pytest.fixture
async def with_claude(slow_claude: SlowClaude) -> AsyncIterator[Callable[[Workspace], Answerer]]:
    clients: list[anthropic.AsyncAnthropic] = []

    def answerer_for(workspace: Workspace) -> Answerer:
        settings = Settings(
            anthropic_api_key=slow_claude.api_key, anthropic_base_url=slow_claude.base_url
        )
        client = anthropic_client(settings)
        assert client is not None
        clients.append(client)
        return build_answerer(settings, workspace, client)

    yield answerer_for
    for client in clients:
        await client.close()


async def test_questions_waiting_on_the_model_leave_their_places_to_others(
    tmp_path, monkeypatch, slow_claude, with_claude
):
    monkeypatch.setenv("TRELLIS_QUESTION_CONCURRENCY", str(PLACES))
    async with running_trellis(tmp_path, answerer_for=with_claude) as trellis:
        assert trellis.services.questions.limit == PLACES
        asked = [
            await trellis.ask(ASKERS[n % len(ASKERS)], "support", QUESTIONS[n % len(QUESTIONS)])
            for n in range(COUNT)
        ]
        answers = await asyncio.gather(
            *(trellis.answer_in_thread("support", ts, timeout=60) for ts in asked)
        )
    assert all("Something went wrong" not in (a.text or "") for a in answers)
    # Had the questions held their places through the model call, no more than PLACES
    # requests could have been under way at once (and each would have waited HOLD_S).
    assert slow_claude.most_in_flight >= COUNT
