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

import structlog

from app import answering
from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import Answerer
from app.answering.intake import Intake
from app.answering.prompts import answer_system_prompt
from app.answering.queue import QuestionQueue
from app.approvals.service import Approvals
from app.config.settings import Settings
from app.config.workspace import Workspace
from app.db.claims import DeliveryClaims
from app.db.session import Database
from app.errors import SetupError
from app.identity.resolver import IdentityResolver
from app.knowledge.search import RetrievalMode
from app.notifications import Notifier, QuietNotifier
from app.slack_api import SlackGateway
from app.slack_people import SlackDirectory
from app.trust.audit import AuditLog
from app.trust.metrics import Metrics
from app.trust.quotas import Quotas

if TYPE_CHECKING:
    import anthropic

log = structlog.get_logger(__name__)

RETRIEVAL_LIMIT = 8
KEY_CHECK_TIMEOUT_S = 10.0
DEFAULT_ANSWER_MODEL = "claude-sonnet-4-6"


@dataclass
class LiveVersion:
    """The workspace version Trellis answers with: its files, the identity resolver over
    its directory, and its answerer. `switch` replaces all three with no await between
    them, so a question sees one version or the next, never a mix (app/trust/reload.py)."""

    workspace: Workspace
    identity: IdentityResolver
    answerer: Answerer
    adapt: Callable[[Workspace], Workspace] | None = None
    """Applied to every version as it goes live, the first included (the sandbox points the
    connectors at its local stand-ins this way)."""

    def __post_init__(self) -> None:
        if self.adapt is not None:
            self.workspace = self.adapt(self.workspace)

    def switch(
        self, *, workspace: Workspace, identity: IdentityResolver, answerer: Answerer
    ) -> None:
        if self.adapt is not None:
            workspace = self.adapt(workspace)
        self.workspace, self.identity, self.answerer = workspace, identity, answerer


@dataclass(frozen=True)
class Services:
    settings: Settings
    live: LiveVersion
    database: Database
    audit: AuditLog
    approvals: Approvals
    claims: DeliveryClaims
    """Slack deliveries taken on, so a redelivered one is not answered twice."""
    intake: Intake
    """The questions taken on and not yet answered, kept so none is lost."""
    quotas: Quotas
    """How much a person and a workspace may ask (app/trust/quotas.py)."""
    slack: SlackGateway | SlackDirectory | None = None
    """Slack: its Web API, or offline (the CLI, eval runs) a stand-in that only knows who's
    who, the workspace's people and channels. What posts to Slack uses `gateway`."""
    eval_directory: Callable[[Workspace], SlackDirectory] | None = None
    """Who eval runs of a workspace version ask as: its people and channels as Slack would
    show them, never the live Slack (the composition root passes the sandbox's)."""
    metrics: Metrics = field(default_factory=Metrics)
    questions: QuestionQueue = field(default_factory=QuestionQueue)
    """Whose question is answered next: a few at once, in turns across the people asking."""
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
    answerer: Answerer,
    clock: Callable[[], datetime] | None = None,
    environ: Mapping[str, str] | None = None,
    notifier: Callable[[Services], Notifier] | None = None,
    eval_directory: Callable[[Workspace], SlackDirectory] | None = None,
    adapt_workspace: Callable[[Workspace], Workspace] | None = None,
) -> Services:
    """`answerer` is what `build_answerer` makes of the settings (a test may pass its own);
    `notifier` builds the Slack side from the other services (handlers' SlackNotifier);
    without it people are not told anything (`QuietNotifier`). `eval_directory` is needed
    only where versions are put through the eval gate (`trellis run`). `adapt_workspace`
    changes each version as it goes live (`LiveVersion.adapt`)."""
    clock = clock or (lambda: datetime.now(UTC))
    audit = AuditLog(database, clock=clock)
    metrics = Metrics()
    live = LiveVersion(workspace, build_identity(workspace, slack), answerer, adapt=adapt_workspace)
    services = Services(
        settings=settings,
        live=live,
        database=database,
        audit=audit,
        approvals=Approvals(
            database,
            audit,
            clock=clock,
            metrics=metrics,
            names=lambda principal: live.workspace.directory.name_of(principal),
        ),
        claims=DeliveryClaims(database),
        intake=Intake(database, lease_seconds=settings.question_lease_seconds, clock=clock),
        slack=slack,
        eval_directory=eval_directory,
        metrics=metrics,
        questions=QuestionQueue(
            limit=settings.question_concurrency,
            model_limit=settings.model_concurrency,
            metrics=metrics,
        ),
        quotas=Quotas(
            questions_per_minute=settings.questions_per_minute,
            workspace_questions_per_minute=settings.workspace_questions_per_minute,
            held_cards_per_hour=settings.held_cards_per_hour,
            database=database,
            metrics=metrics,
            clock=clock,
        ),
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
    """Claude with fallbacks when a key is set, otherwise the offline extractive answerer.
    Every entry point (run, ask, eval, demo, the reload gate) gets its answerer here."""
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


async def check_anthropic_key(settings: Settings) -> None:
    """Stop with one line naming ANTHROPIC_API_KEY when the API refuses the key (401, 403).
    Anything else (a slow or unreachable API) is left to the answerer's retries and
    fallbacks, which tell each asker."""
    client = anthropic_client(settings)
    if client is None:
        return
    import anthropic

    where = settings.anthropic_base_url or "the Anthropic API"
    try:
        await client.with_options(timeout=KEY_CHECK_TIMEOUT_S).models.list(limit=1)
    except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
        raise SetupError(
            "ANTHROPIC_API_KEY",
            f"{where} refused the key (HTTP {exc.status_code}); set a valid key, "
            "or unset ANTHROPIC_API_KEY to answer with the offline answerer",
        ) from exc
    except anthropic.APIError as exc:
        log.warning("anthropic_key_not_checked", where=where, error=type(exc).__name__)
    finally:
        await client.close()
