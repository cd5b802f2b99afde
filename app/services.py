"""One explicit container that wires Trellis's services; no module-level singletons.

Everything from outside (the Slack client, the Anthropic client, the database, the clock)
is passed in, so tests swap in local servers at the same seams.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app import answering
from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import Answerer
from app.answering.prompts import answer_system_prompt
from app.approvals.service import Approvals
from app.config.settings import Settings
from app.config.workspace import Workspace
from app.db.repositories.records import AnswerRepository, HandledEventRepository
from app.db.session import Database
from app.identity.resolver import IdentityResolver
from app.notifications import Notifier, QuietNotifier
from app.slack_api import SlackGateway
from app.trust.audit import AuditLog
from app.trust.metrics import Metrics

RETRIEVAL_LIMIT = 8
DEFAULT_ANSWER_MODEL = "claude-sonnet-4-6"


@dataclass
class Services:
    settings: Settings
    workspace: Workspace
    database: Database
    identity: IdentityResolver
    answerer: Answerer
    audit: AuditLog
    slack: SlackGateway | None = None
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    retrieval_limit: int = RETRIEVAL_LIMIT
    approvals: Approvals | None = None
    notifier: Notifier = field(default_factory=QuietNotifier)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    """Where connector secrets (`*_env` settings in rules.yml) are read from."""

    # Answering settings, read from the workspace so a reload takes effect at once.

    @property
    def min_confidence(self) -> float:
        return self.workspace.config.answers.min_confidence

    @property
    def retrieval_mode(self) -> str:
        return self.workspace.config.retrieval

    @property
    def answer_model(self) -> str | None:
        return self.workspace.config.models.answer

    @property
    def admins_hint(self) -> str:
        return admins_hint(self.workspace)

    @property
    def default_owners(self) -> tuple[str, ...]:
        config = self.workspace.config
        return tuple(x for x in (config.support,) if x) or tuple(config.admins)

    async def remember_message(self, answer_id: str | None, *, message_ts: str,
                               thread_ts: str | None) -> None:
        """Link a stored answer to the Slack message that shows it."""
        if answer_id is None:
            return
        async with self.database.session() as session:
            await AnswerRepository(session).set_message(answer_id, message_ts=message_ts,
                                                        thread_ts=thread_ts)

    async def claim_event(self, keys: list[str]) -> bool:
        """True the first time any Slack delivery with these keys is seen."""
        async with self.database.session() as session:
            return await HandledEventRepository(session).claim(keys)

    async def is_answer_thread(self, channel_id: str, thread_ts: str) -> bool:
        """A thread Trellis answered in, or whose first message it is answering right now."""
        async with self.database.session() as session:
            return bool(await AnswerRepository(session).in_thread(channel_id, thread_ts)) or (
                await HandledEventRepository(session).taken(f"msg:{channel_id}:{thread_ts}"))

    def no_answer_message(self, owners: tuple[str, ...]) -> str:
        who = ", ".join(owners) if owners else self.admins_hint
        return (
            "I couldn't find a well-supported answer in the documents available here, "
            "and I'd rather say so than guess. "
            f"The people who own this topic are: {who}. They can help, or add the missing document."
        )

    def help_text(self) -> str:
        """Slack mrkdwn; the workspace's own names in it are escaped."""
        config = self.workspace.config
        return (
            f"*Trellis for {_escape(config.name or 'your company')}* answers questions from documents "
            "you are allowed to see, and cites every source.\n"
            "• Mention me in a channel or send me a direct message with your question.\n"
            "• `/trellis ask QUESTION` asks privately.\n"
            "• In a channel, I only use sources every member may see; if you could see more, "
            "I send you the fuller answer privately.\n"
            "• Reply in the thread of my answer to ask a follow-up.\n"
            f"{self._workflows_help()}"
            f"Owned by: {_escape(', '.join(config.admins) or 'the Trellis admins')}. "
            f"Help and questions: {_escape(config.support or 'ask an admin')}."
        )

    def _workflows_help(self) -> str:
        slugs = sorted(self.workspace.rulebook.workflows)
        if not slugs:
            return ""
        return ("• `/trellis WORKFLOW field=value …` starts a workflow ("
                + ", ".join(f"`{s}`" for s in slugs) + "); leave fields out to get a form, or "
                "use the “Start Trellis workflow” shortcut on a message.\n")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def admins_hint(workspace: Workspace) -> str:
    config = workspace.config
    return config.support or ", ".join(config.admins) or "your Trellis admins"


def build_services(settings: Settings, workspace: Workspace, database: Database, *,
                   slack: SlackGateway | None = None, answerer: Answerer | None = None,
                   clock: Callable[[], datetime] | None = None) -> Services:
    identity = IdentityResolver(workspace.directory, slack, admins_hint=admins_hint(workspace))
    clock = clock or (lambda: datetime.now(UTC))
    audit = AuditLog(database, clock=clock)
    metrics = Metrics()
    return Services(
        settings=settings,
        workspace=workspace,
        database=database,
        identity=identity,
        answerer=answerer or ExtractiveAnswerer(),
        audit=audit,
        slack=slack,
        metrics=metrics,
        clock=clock,
        approvals=Approvals(database, audit, clock=clock, metrics=metrics),
    )


def anthropic_client(settings: Settings):
    """An AsyncAnthropic client when a key is set (imported only then: the SDK is large)."""
    if not settings.anthropic_enabled:
        return None
    import anthropic

    return anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url or None,
        max_retries=0,  # ResilientAnswerer counts and paces the attempts
    )


def build_answerer(settings: Settings, workspace: Workspace,
                   client=None) -> Answerer:
    """Claude with fallbacks when a key is set, otherwise the offline extractive answerer."""
    client = client or anthropic_client(settings)
    if client is None:
        return ExtractiveAnswerer()
    models = workspace.config.models
    prompt = answer_system_prompt(workspace.prompts.get("answer"),
                                  company=workspace.config.name or "the company")
    return answering.build_answerer(client=client, model=models.answer or DEFAULT_ANSWER_MODEL,
                                    fallback_model=models.classify, system_prompt=prompt)
