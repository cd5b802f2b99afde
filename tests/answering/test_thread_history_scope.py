"""Follow-ups in a thread: earlier turns reach the model only when the current audience may
see every source they were built from."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import anthropic
import pytest

from app.answering.base import Answerer
from app.config.settings import Settings
from app.config.workspace import Workspace
from app.db.repositories.records import AnswerRepository
from app.services import anthropic_client, build_answerer
from tests.fakes import FakeAnthropic
from tests.harness import running_trellis

LIAM = "liam.carter@northwind.example"  # sales
GINA = "gina@contractor.example"  # guest, not in the directory


@pytest.fixture
async def with_claude() -> AsyncIterator[tuple[FakeAnthropic, Callable[[Workspace], Answerer]]]:
    clients: list[anthropic.AsyncAnthropic] = []
    async with FakeAnthropic(min_cache_tokens=0) as claude:

        def answerer_for(workspace: Workspace) -> Answerer:
            settings = Settings(
                anthropic_api_key=claude.api_key, anthropic_base_url=claude.base_url
            )
            client = anthropic_client(settings)
            clients.append(client)
            return build_answerer(settings, workspace, client)

        yield claude, answerer_for
        for client in clients:
            await client.close()


async def test_a_follow_up_does_not_give_the_model_an_earlier_answer_a_new_member_may_not_see(
    tmp_path, with_claude
):
    claude, answerer_for = with_claude
    async with running_trellis(tmp_path, answerer_for=answerer_for) as trellis:
        ts = await trellis.ask(LIAM, "sales", "Who approves a wholesale discount of up to 10%?")
        first = await trellis.answer_in_thread("sales", ts)
        assert "Wholesale Discount Guidelines" in json.dumps(first.blocks)
        async with trellis.services.database.session() as session:
            (earlier,) = await AnswerRepository(session).in_thread(trellis.channel("sales"), ts)
        assert "wholesale" in earlier.answer
        asked = len(claude.message_requests)

        # A guest joins the channel; the next answer in the thread is read by them too.
        sales = trellis.sandbox.workspace.conversation(trellis.channel("sales"))
        sales.members.append(trellis.user(GINA))
        follow = await trellis.ask(
            LIAM,
            "sales",
            "Can a customer return unused gear after 30 days?",
            mention=False,
            thread_ts=ts,
        )
        await trellis.sandbox.wait_for_message(
            sales.id,
            lambda m: (
                m.bot_id is not None
                and m.thread_ts == ts
                and m.ts > follow
                and "Looking through" not in (m.text or "")
            ),
            10,
        )

        # The first request after the follow-up is the channel's answer (the asker's fuller
        # private answer may draw on the earlier turn; the channel's may not).
        channel_prompt = json.dumps(claude.message_requests[asked].body)
        assert "Return Policy" in channel_prompt
        assert json.dumps(earlier.answer)[1:-1] not in channel_prompt
        assert "wholesale" not in channel_prompt.lower()


async def test_a_follow_up_does_not_give_the_model_an_answer_still_held_for_review(
    tmp_path, with_claude
):
    claude, answerer_for = with_claude
    daniel = "daniel.okafor@northwind.example"
    async with running_trellis(tmp_path, answerer_for=answerer_for) as trellis:
        shared = trellis.channel("partners-shared")  # shared with a partner: answers are held
        ts = await trellis.ask(
            daniel, "partners-shared", "Can a customer return unused gear after 30 days?"
        )
        held = await trellis.answer_in_thread("partners-shared", ts)
        assert "needs a check by a reviewer" in held.text
        async with trellis.services.database.session() as session:
            answers = await AnswerRepository(session).in_thread(shared, ts)
        (earlier,) = [a for a in answers if not a.private]
        assert earlier.answer.strip() and earlier.status == "answered"
        asked = len(claude.message_requests)

        follow = await trellis.ask(
            daniel,
            "partners-shared",
            "And can they return gear used outdoors?",
            mention=False,
            thread_ts=ts,
        )
        await trellis.sandbox.wait_for_message(
            shared,
            lambda m: (
                m.bot_id is not None
                and m.thread_ts == ts
                and m.ts > follow
                and "Looking through" not in (m.text or "")
            ),
            10,
        )

        prompt = json.dumps(claude.message_requests[asked].body)
        assert json.dumps(earlier.answer)[1:-1] not in prompt
