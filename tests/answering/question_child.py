"""Trellis answering questions in its own process, for the kill -9 tests to stop at one step.

    python -m tests.answering.question_child DATABASE_URL SLACK_API_URL STEP

It connects to the sandbox at SLACK_API_URL over Socket Mode with the tokens in
SLACK_BOT_TOKEN and SLACK_APP_TOKEN, answers with the offline answerer and runs the
background jobs (so it also takes over questions other processes left). STEP is where the
process announces itself on stdout and then stops working, to be killed:

    received   the question is stored; its thinking indicator is about to be posted, or its
               stream about to start with the answer's text, before it is recorded
    composing  the answer is being written (the indicator showing; no stream yet)
    recorded   the answer is recorded; its stream is about to stop with the rest of it
               (or it is about to replace the indicator)
    shown      the answer is shown (the stream stopped); the question is not yet settled
    resume     a restarted process: it only answers, and takes over what was left

TRELLIS_STREAM_ANSWERS in its environment says whether it streams (`always`) or answers with
the thinking indicator (`never`).

Every process announces "ready" once connected.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.config.workspace import default_workspace_path, load_workspace
from app.db.session import Database
from app.delivery.scheduler import Background
from app.domain import ModelAnswer, Passage, Turn
from app.services import build_services
from app.slack_api import SlackGateway, retrying_client
from handlers import recovery
from handlers.notifier import SlackNotifier
from handlers.runtime import connect_bolt
from handlers.views import answers

LEASE_SECONDS = 1.0


def announce(step: str) -> None:
    print(step, flush=True)


async def stop_here(step: str) -> None:
    announce(step)
    await asyncio.Event().wait()


class SteppingAnswerer(ExtractiveAnswerer):
    def __init__(self, step: str) -> None:
        super().__init__()
        self.step = step

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        if self.step == "composing":
            await stop_here("composing")
        return await super().answer(
            question=question,
            passages=passages,
            history=history,
            instructions=instructions,
            model=model,
        )


class SteppingSlack(SlackGateway):
    def __init__(self, client: Any, step: str) -> None:
        super().__init__(client)
        self.step = step

    async def post(self, **kwargs: Any) -> str:
        if self.step == "received" and kwargs.get("text") == answers.THINKING:
            await stop_here("received")
        return await super().post(**kwargs)

    async def update(self, **kwargs: Any) -> None:
        if self.step == "recorded":
            await stop_here("recorded")
        await super().update(**kwargs)
        if self.step == "shown":
            await stop_here("shown")


class SteppingClient(AsyncWebClient):
    """The streaming calls, stopping at `step`."""

    step = ""

    async def chat_startStream(self, **kwargs: Any) -> AsyncSlackResponse:  # noqa: N802
        if self.step == "received":
            await stop_here("received")
        return await super().chat_startStream(**kwargs)

    async def chat_stopStream(self, **kwargs: Any) -> AsyncSlackResponse:  # noqa: N802
        if self.step == "recorded":  # the answer's text and blocks come with the stop
            await stop_here("recorded")
        response = await super().chat_stopStream(**kwargs)
        if self.step == "shown":
            await stop_here("shown")
        return response


def stepping_client(token: str, api_url: str, step: str) -> SteppingClient:
    client = SteppingClient(token=token, base_url=api_url)
    client.retry_handlers = retrying_client(token, base_url=api_url).retry_handlers
    client.step = step
    return client


async def main(url: str, api_url: str, step: str) -> None:
    workspace = load_workspace(default_workspace_path())
    database = Database(url)
    settings = Settings(
        database_url=url, workspace=workspace.root, question_lease_seconds=LEASE_SECONDS
    )
    client = stepping_client(os.environ["SLACK_BOT_TOKEN"], api_url, step)
    slack = SteppingSlack(client, step)
    await slack.connect()
    services = build_services(
        settings,
        workspace,
        database,
        slack=slack,
        answerer=SteppingAnswerer(step),
        notifier=SlackNotifier,
    )
    async with connect_bolt(services, client=client, app_token=os.environ["SLACK_APP_TOKEN"]):
        jobs = Background(services, recover=lambda: recovery.answer_abandoned(services))
        await jobs.start()
        announce("ready")
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
