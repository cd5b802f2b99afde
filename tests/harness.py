"""The whole Trellis app, running for real against the sandbox.

    async with running_trellis(tmp_path) as trellis:
        ts = await trellis.sandbox.post_message(trellis.user("sam.ortiz@northwind.example"),
                                                trellis.channel("support"), f"<@{trellis.bot}> hi")
        answer = await trellis.answer_in_thread("support", ts)

The Bolt app, the slack_sdk clients, the database and the knowledge index are the real
ones; only Slack itself is the local sandbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import Answerer
from app.config.settings import Settings
from app.config.workspace import Workspace, default_workspace_path, load_workspace
from app.db.migrate import upgrade
from app.db.session import Database
from app.delivery.outbox import OutboxPolicy
from app.delivery.scheduler import Background
from app.knowledge.ingest import ingest
from app.sandbox.company import SandboxDirectory, seed_for, user_id_for
from app.sandbox.records import Message
from app.sandbox.server import SandboxServer
from app.sandbox.state import SandboxWorkspace
from app.services import Services, build_services
from app.slack_api import SlackGateway, retrying_client
from handlers import recovery
from handlers.notifier import SlackNotifier
from handlers.runtime import connect_bolt, serve_bolt_http


@dataclass
class RunningTrellis:
    sandbox: SandboxServer
    services: Services
    workspace: Workspace
    background: Background | None = None
    request_url: str | None = None
    """Where the sandbox POSTs Slack's requests, when running over HTTP."""

    @property
    def bot(self) -> str:
        return self.sandbox.workspace.bot.user_id

    def user(self, email: str) -> str:
        found = self.sandbox.workspace.user_by_email(email)
        return found.id if found else user_id_for(email)

    def dm_with(self, email: str) -> str:
        """The id of the bot's direct message with the person of `email` (once opened)."""
        user = self.user(email)
        ims = self.sandbox.workspace.conversations.values()
        return next(c.id for c in ims if c.is_im and c.im_user == user)

    def channel(self, name: str) -> str:
        for conversation in self.sandbox.workspace.conversations.values():
            if conversation.name == name.lstrip("#") or conversation.id == name:
                return conversation.id
        raise LookupError(name)

    async def ask(
        self,
        email: str,
        channel: str,
        text: str,
        *,
        mention: bool = True,
        thread_ts: str | None = None,
    ) -> str:
        body = f"<@{self.bot}> {text}" if mention else text
        return await self.sandbox.post_message(
            self.user(email), self.channel(channel), body, thread_ts=thread_ts
        )

    async def answer_in_thread(self, channel: str, ts: str, *, timeout: float = 10) -> Message:  # noqa: ASYNC109
        """The bot's finished reply in the thread of `ts` (not the thinking indicator)."""
        channel_id = self.channel(channel)

        def done(message: Message) -> bool:
            return (
                message.bot_id is not None
                and message.thread_ts == ts
                and not message.streaming
                and "Looking through" not in (message.text or "")
            )

        await self.sandbox.wait_for_message(channel_id, done, timeout)
        return next(m for m in self.sandbox.messages(channel_id) if done(m))

    async def reply_after(
        self,
        channel: str,
        ts: str,
        after: str,
        *,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> Message:
        """The bot's finished reply in the thread of `ts` to the message `after` (a
        follow-up): the first one posted after it that is not the thinking indicator."""
        channel_id = self.channel(channel)

        def done(message: Message) -> bool:
            return (
                message.bot_id is not None
                and message.thread_ts == ts
                and message.ts > after
                and not message.streaming
                and "Looking through" not in (message.text or "")
            )

        return await self.sandbox.wait_for_message(channel_id, done, timeout)

    def bot_replies(self, channel: str, ts: str) -> list[Message]:
        channel_id = self.channel(channel)
        return [m for m in self.sandbox.messages(channel_id) if m.bot_id and m.thread_ts == ts]


def shown_text(message: Any) -> str:
    """What a message shows: its text (a streamed answer's text is there alone), then all
    the text in its blocks."""
    return f"{message.text or ''}\n{blocks_text(message.blocks)}"


def blocks_text(blocks: list[dict] | None) -> str:
    """All the text in a message's blocks, for assertions."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks or [])
    return "\n".join(parts)


@asynccontextmanager
async def running_trellis(
    tmp_path: Path,
    *,
    workspace: Path | None = None,
    database: Database | None = None,
    answerer_for: Callable[[Workspace], Answerer] | None = None,
    environ: Mapping[str, str] | None = None,
    background: OutboxPolicy | None = None,
    clock: Callable[[], datetime] | None = None,
    slack_mode: Literal["socket", "http"] = "socket",
    settings: Mapping[str, Any] | None = None,
    **sandbox_options: Any,
) -> AsyncIterator[RunningTrellis]:
    """`settings`: Settings fields that differ from the defaults (and the environment's).
    `background`: also run the outbox worker and the scheduled jobs, with that policy.
    `answerer_for` builds the answerer for the workspace (the extractive one without it);
    `environ` is where connector secrets are read from (the process's without it);
    `slack_mode` "http": the sandbox delivers signed HTTP requests to the app's request URL
    instead of Socket Mode envelopes."""
    loaded = load_workspace(workspace or default_workspace_path())
    own_database = database is None
    if database is None:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trellis.db'}")
        await upgrade(database)
    await ingest(
        database,
        loaded.knowledge_dir,
        workspace_root=loaded.root,
        allowed_url_prefixes=loaded.config.knowledge.allowed_url_prefixes,
    )
    configured = Settings(database_url=database.url, workspace=loaded.root, **(settings or {}))
    if slack_mode == "http":
        sandbox_options["delivery"] = "http"
    sandbox = SandboxServer(SandboxWorkspace.from_seed(seed_for(loaded)), **sandbox_options)
    await sandbox.start()
    client = retrying_client(sandbox.bot_token, base_url=sandbox.api_url)
    try:
        gateway = SlackGateway(client)
        await gateway.connect()
        services = build_services(
            configured,
            loaded,
            database,
            slack=gateway,
            clock=clock,
            environ=environ,
            answerer=answerer_for(loaded) if answerer_for else ExtractiveAnswerer(),
            eval_directory=SandboxDirectory.for_workspace,
            notifier=SlackNotifier,
        )
        async with _connected(services, client, sandbox) as request_url:
            jobs = None
            if background is not None:
                jobs = Background(
                    services,
                    recover=lambda: recovery.answer_abandoned(services),
                    policy=background,
                    drafts_every=3600,
                    outbox_every=max(0.5, background.poll * 10),
                )
                await jobs.start()
            try:
                yield RunningTrellis(sandbox, services, loaded, jobs, request_url)
            finally:
                # As `trellis run` stops: questions still being answered (an owner notice
                # after the answer is shown, say) finish before the database is closed.
                await services.questions.close(grace=10)
                if jobs is not None:
                    await jobs.stop()
    finally:
        await sandbox.stop()
        if own_database:
            await database.dispose()


@asynccontextmanager
async def _connected(
    services: Services, client: Any, sandbox: SandboxServer
) -> AsyncIterator[str | None]:
    """The Bolt app, reached by the sandbox over Socket Mode or at its request URL."""
    if sandbox.http is None:
        async with connect_bolt(services, client=client, app_token=sandbox.app_token):
            await sandbox.wait_for_connections(1)
            yield None
        return
    secret = sandbox.signing_secret
    async with serve_bolt_http(services, client=client, signing_secret=secret) as url:
        assert await sandbox.http.set_request_url(url), "the request URL failed Slack's challenge"
        yield url
