"""One explicit container of Trellis's services, built once; no module-level singletons.

Everything from outside (the Slack client, the Anthropic client, the database, the clock)
is passed in, so tests swap in local servers at the same seams. `Services` is frozen; the
one thing that changes while Trellis runs is the live version (`LiveVersion`), which a
reload switches as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app import answering
from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import Answerer
from app.answering.prompts import answer_system_prompt
from app.approvals.service import Approvals
from app.config.settings import Settings
from app.config.workspace import Workspace
from app.db.session import Database
from app.identity.resolver import IdentityResolver
from app.knowledge.search import RetrievalMode
from app.notifications import Notifier, QuietNotifier
from app.slack_api import SlackDirectory, SlackGateway
from app.trust.audit import AuditLog
from app.trust.metrics import Metrics

if TYPE_CHECKING:
    import anthropic

RETRIEVAL_LIMIT = 8
DEFAULT_ANSWER_MODEL = "claude-sonnet-4-6"


@dataclass
class LiveVersion:
    """The workspace version Trellis answers with: its files, the identity resolver over
    its directory, and its answerer. `switch` replaces all three with no await between
    them, so a question sees one version or the next, never a mix (app/trust/reload.py)."""

    workspace: Workspace
    identity: IdentityResolver
    answerer: Answerer

    def switch(
        self, *, workspace: Workspace, identity: IdentityResolver, answerer: Answerer
    ) -> None:
        self.workspace, self.identity, self.answerer = workspace, identity, answerer


@dataclass(frozen=True)
class Services:
    settings: Settings
    live: LiveVersion
    database: Database
    audit: AuditLog
    approvals: Approvals
    slack: SlackGateway | SlackDirectory | None = None
    """Slack: its Web API, or offline (the CLI, eval runs) a stand-in that only knows who's
    who, the workspace's people and channels. What posts to Slack uses `gateway`."""
    eval_directory: Callable[[Workspace], SlackDirectory] | None = None
    """Who eval runs of a workspace version ask as: its people and channels as Slack would
    show them, never the live Slack (the composition root passes the sandbox's)."""
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    retrieval_limit: int = RETRIEVAL_LIMIT
    notifier: Notifier = field(default_factory=QuietNotifier)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    """Where connector secrets (`*_env` settings in rules.yml) are read from."""

    @property
    def gateway(self) -> SlackGateway | None:
        """Slack's Web API, or None without one (no Slack, or only a stand-in directory)."""
        return self.slack if isinstance(self.slack, SlackGateway) else None

    @property
    def workspace(self) -> Workspace:
        return self.live.workspace

    @property
    def identity(self) -> IdentityResolver:
        return self.live.identity

    @property
    def answerer(self) -> Answerer:
        return self.live.answerer

    @property
    def min_confidence(self) -> float:
        return self.live.workspace.config.answers.min_confidence

    @property
    def retrieval_mode(self) -> RetrievalMode:
        return RetrievalMode(self.live.workspace.config.retrieval)


def build_identity(workspace: Workspace, slack: SlackDirectory | None) -> IdentityResolver:
    return IdentityResolver(workspace.directory, slack, admins_hint=workspace.config.admins_hint)


def build_services(
    settings: Settings,
    workspace: Workspace,
    database: Database,
    *,
    slack: SlackGateway | SlackDirectory | None = None,
    answerer: Answerer | None = None,
    clock: Callable[[], datetime] | None = None,
    environ: Mapping[str, str] | None = None,
    notifier: Callable[[Services], Notifier] | None = None,
    eval_directory: Callable[[Workspace], SlackDirectory] | None = None,
) -> Services:
    """`notifier` builds the Slack side from the other services (handlers' SlackNotifier);
    without it people are not told anything (`QuietNotifier`). `eval_directory` is needed
    only where versions are put through the eval gate (`trellis run`)."""
    clock = clock or (lambda: datetime.now(UTC))
    audit = AuditLog(database, clock=clock)
    metrics = Metrics()
    services = Services(
        settings=settings,
        live=LiveVersion(
            workspace, build_identity(workspace, slack), answerer or ExtractiveAnswerer()
        ),
        database=database,
        audit=audit,
        approvals=Approvals(database, audit, clock=clock, metrics=metrics),
        slack=slack,
        eval_directory=eval_directory,
        metrics=metrics,
        clock=clock,
        environ=os.environ if environ is None else environ,
    )
    return replace(services, notifier=notifier(services)) if notifier else services


def anthropic_client(settings: Settings) -> anthropic.AsyncAnthropic | None:
    """An AsyncAnthropic client when a key is set (imported only then: the SDK is large)."""
    key = settings.anthropic_api_key
    if key is None or not settings.anthropic_enabled:
        return None
    import anthropic

    return anthropic.AsyncAnthropic(
        api_key=key.get_secret_value(),
        base_url=settings.anthropic_base_url or None,
        max_retries=0,  # ResilientAnswerer counts and paces the attempts
    )


def build_answerer(
    settings: Settings, workspace: Workspace, client: anthropic.AsyncAnthropic | None = None
) -> Answerer:
    """Claude with fallbacks when a key is set, otherwise the offline extractive answerer."""
    client = client or anthropic_client(settings)
    if client is None:
        return ExtractiveAnswerer()
    models = workspace.config.models
    prompt = answer_system_prompt(
        workspace.prompts.get("answer"), company=workspace.config.name or "the company"
    )
    return answering.build_answerer(
        client=client,
        model=models.answer or DEFAULT_ANSWER_MODEL,
        fallback_model=models.classify,
        system_prompt=prompt,
    )
