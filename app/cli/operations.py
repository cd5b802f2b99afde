"""Operator tasks behind the CLI: each opens what it needs, does one thing, closes."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console

from app.answering.base import NOTE_ASKER_OWNS
from app.answering.compose import NOTE_ASKER_ONLY, Reply
from app.answering.declined import PassedOn, no_answer_text
from app.cli.common import given_path
from app.config.settings import Settings
from app.config.workspace import Workspace, load_workspace
from app.db.migrate import open_database
from app.db.models.records import AuditRecord
from app.db.session import Database
from app.domain import AnswerStatus, Person
from app.errors import AccessDenied, SetupError, WorkspaceError
from app.knowledge.report import IngestReport, could_not_read
from app.knowledge.search import count_chunks, count_documents
from app.knowledge.sync import WorkspaceIdentity, check_served, sync_knowledge
from app.knowledge.sync import take_over as take_over_database
from app.pipeline import Outcome, Question, answer_question
from app.services import Services, build_answerer, build_services, check_anthropic_key
from app.slack_api import SlackGateway, retrying_client
from app.slack_people import SlackChannel, SlackDirectory
from app.trust import serving
from app.trust.anchors import Anchor, verify_against_anchor
from app.trust.audit import AuditLog, ChainReport
from app.trust.evals import EvalReport, record_run, run_evals
from app.trust.serving import Served
from app.trust.versions import Verdict, refusal_text

log = structlog.get_logger(__name__)


async def upgrade_database(settings: Settings) -> None:
    async with open_database(settings.database_url):
        pass


def workspace_for(settings: Settings) -> Workspace:
    """The settings' workspace; a broken one raises every mistake found (`load_workspace`)."""
    return load_workspace(settings.workspace_path())


@dataclass(frozen=True)
class Ingested:
    report: IngestReport
    documents: int
    """What the index holds afterwards."""
    chunks: int
    taken_from: WorkspaceIdentity | None = None
    """The workspace the database served until this ingest took it over."""


async def ingest_workspace(
    settings: Settings,
    *,
    only: Path | None = None,
    console: Console | None = None,
    take_over: bool = False,
    max_document_chars: int | None = None,
) -> Ingested:
    workspace = workspace_for(settings)
    async with open_database(settings.database_url) as database:
        taken_from = await take_over_database(database, workspace) if take_over else None
        if taken_from is not None:
            await AuditLog(database).record(
                kind="workspace.taken_over",
                subject_id=WorkspaceIdentity.of(workspace).folder,
                payload={
                    "workspace": asdict(WorkspaceIdentity.of(workspace)),
                    "before": asdict(taken_from),
                },
            )
        report = await sync_knowledge(
            database, workspace, only=only, console=console, max_document_chars=max_document_chars
        )
        async with database.reading() as session:
            documents, chunks = await count_documents(session), await count_chunks(session)
    return Ingested(report, documents, chunks, taken_from)


def offline_directory(workspace: Workspace) -> SlackDirectory:
    """The workspace's people and channels as its sandbox seats them, standing in for Slack
    (channels found by name too)."""
    from app.sandbox.company import SandboxDirectory

    return SandboxDirectory.for_workspace(workspace)


def offline_services(settings: Settings, workspace: Workspace, database: Database) -> Services:
    """Services with the sandbox's people and channels standing in for Slack, answering
    as the settings say (`build_answerer`)."""
    return build_services(
        settings,
        workspace,
        database,
        slack=offline_directory(workspace),
        answerer=build_answerer(settings, workspace),
    )


async def served_for_cli(
    settings: Settings, database: Database, *, by: str, evaluate: bool = True, trial: bool = False
) -> Served:
    """The version a command that answers serves (`serving.choose`, `trial` as there); a
    refusal decided now is told to the owners channel when Slack is set up."""
    gate = serving.gate(settings, database, directory_for=offline_directory)
    served = await serving.choose(
        gate, settings.workspace_path(), by=by, evaluate=evaluate, trial=trial
    )
    verdict = served.verdict
    if verdict is not None and verdict.outcome != "live" and not verdict.repeated:
        await tell_owners_from_cli(settings, verdict, live=served.previous)
    return served


async def tell_owners_from_cli(settings: Settings, verdict: Verdict, *, live: str | None) -> None:
    """Post why a version did not go live to the owners channel; a failure is logged."""
    token = settings.slack_bot_token
    if not settings.slack_enabled or token is None:
        return
    try:
        channel = load_workspace(settings.workspace_path()).config.owners_channel
    except WorkspaceError:
        channel = None
    if not channel:
        return
    client = retrying_client(token.get_secret_value(), base_url=settings.slack_api_url)
    text = refusal_text(verdict, live_version=live or "the last good one")
    try:
        await SlackGateway(client).post(channel=channel, text=text)
    except Exception:
        log.exception("owners_notice_failed", channel=channel)


async def ask_as(
    settings: Settings,
    *,
    email: str,
    questions: Sequence[str],
    channel_id: str | None = None,
    thread: bool = False,
    tell: Callable[[str], None] = lambda _note: None,
) -> list[dict[str, Any]]:
    """The answers `email` gets from the version Trellis serves, one per question, asked
    one after the other (the workspace, the index and the models are made ready once);
    with `thread`, each question after the first is a follow-up in the first's thread, as
    in Slack. `tell` hears which version answers when it is not simply the folder's (see
    `served_for_cli`), and each file of knowledge/ that could not be read (its last good
    version answers)."""
    folder = workspace_for(settings)  # a broken folder stops here, every mistake listed
    channel: SlackChannel = CommandLine()
    if channel_id:  # before anything is evaluated; the channels are always the folder's
        asker = folder.directory.by_email(email)
        channel = await _channel_to_ask_in(offline_directory(folder), channel_id, asker)
    await check_anthropic_key(settings)
    results = []
    async with open_database(settings.database_url) as database:
        await check_served(database, folder)  # before the eval gate records anything in it
        served = await served_for_cli(settings, database, by="ask", trial=True)
        for note in served.notes():
            tell(note)
        workspace = served.workspace
        person = workspace.directory.by_email(email)
        knowledge = await sync_knowledge(database, workspace)
        for error in knowledge.errors:
            tell(f"{could_not_read(1)} {error}")
        services = offline_services(settings, workspace, database)
        root = f"cli-{uuid.uuid4().hex}" if thread else None
        for turn, text in enumerate(questions):
            outcome = await answer_question(
                services,
                Question(
                    text=text,
                    channel=channel,
                    person=person,
                    slack_user_id=person.slack_id if person else f"cli:{email}",
                    thread_ts=root if turn else None,
                    message_ts=f"{root}.{turn}" if root and turn else root,
                    answer_ts=f"{root}.answer.{turn}" if root else None,
                ),
            )
            results.append(_asked_result(outcome, workspace, services))
    return results


def _asked_result(outcome: Outcome, workspace: Workspace, services: Services) -> dict[str, Any]:
    """One answer of `ask_as` as its JSON reads."""
    public = outcome.public
    # No owner hears of it, and there is no button; a reply that stands for the asker's
    # private answer reads as it does in Slack.
    if public.status == AnswerStatus.NO_ANSWER and not {NOTE_ASKER_ONLY, NOTE_ASKER_OWNS} & set(
        public.notes
    ):
        public = replace(
            public,
            text=no_answer_text(
                public.owners,
                workspace.config,
                passed_on=PassedOn.NOT_FROM_THE_COMMAND_LINE,
                names=workspace.directory.people_named,
            ),
        )
    result = _reply_json(public, status=public.status)
    result["audit_id"] = outcome.audit_id
    result["answerer"] = services.answerer.name
    result["version"] = workspace.version
    if outcome.private is not None:
        result["private"] = {
            **_reply_json(outcome.private, status=outcome.private.status),
            "audit_id": outcome.audit_id,
        }
    return result


def questions_in(path: Path) -> list[str]:
    """The questions of a file (or standard input, for '-'), one a line."""
    with given_path("--file", path, "read"):
        try:
            text = sys.stdin.read() if str(path) == "-" else path.read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise SetupError("--file", f"{path} is not UTF-8 text") from exc
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@dataclass(frozen=True)
class CommandLine(SlackChannel):
    """Where `trellis ask` without --channel asks: read by the asker alone, as a direct
    message is, and recorded in the audit trail as asked from the command line."""

    id: str = "cli"
    name: str = "cli"
    is_im: bool = True

    @property
    def label(self) -> str:
        return "the command line"


async def _channel_to_ask_in(
    directory: SlackDirectory, channel_id: str, person: Person | None
) -> SlackChannel:
    """The channel --channel names. Slack lets nobody post in a private channel they are not
    a member of, so a question from outside one is refused as it would be there."""
    try:
        channel = await directory.channel(channel_id)
    except LookupError as exc:
        raise SetupError(
            "--channel",
            f"there is no channel {channel_id} in the workspace; name one of its channels "
            "by id or by name",
        ) from exc
    if channel.is_private and person is not None:
        for member in await directory.members(channel.id):
            user = await directory.user(member)
            if user is not None and (user.email or "").lower() == person.email.lower():
                return channel
        raise AccessDenied(
            f"{person.email} is not a member of the private channel #{channel.name}, so Slack "
            "would not let them ask there."
        )
    return channel


def _reply_json(reply: Reply, *, status: AnswerStatus) -> dict[str, Any]:
    return {
        "status": status.value,
        "answer": reply.text,
        "citations": [c.as_dict() for c in reply.citations],
        "confidence": round(reply.confidence, 4),
        "notes": list(reply.notes),
        "backend": reply.backend,
        "model": reply.model,
        "nearest": reply.nearest,
    }


async def evaluate(settings: Settings) -> EvalReport:
    """`trellis eval`: the workspace's golden set against its own configuration."""
    workspace = load_workspace(settings.workspace_path())
    await check_anthropic_key(settings)
    async with open_database(settings.database_url) as database:
        await check_served(database, workspace)  # its runs go in this database's audit trail
        report = await run_evals(
            settings,
            workspace,
            directory=offline_directory(workspace),
            answerer=build_answerer(settings, workspace),
            production=database,
        )
        await record_run(AuditLog(database), report, purpose="cli")
    return report


async def verify_audit(settings: Settings, *, expected_head: tuple[int, str] | None) -> ChainReport:
    async with open_database(settings.database_url) as database:
        return await AuditLog(database).verify(expected_head=expected_head)


async def audit_story(settings: Settings, record_id: str) -> list[AuditRecord]:
    async with open_database(settings.database_url) as database:
        return await AuditLog(database).story(record_id)


async def verify_audit_against_anchor(
    settings: Settings,
) -> tuple[ChainReport, Anchor | None, str | None]:
    """Verify the chain against the latest anchor: the bot's own message in the owners
    channel when a Slack bot token is set, else the anchor recorded in the database."""
    slack: SlackGateway | None = None
    owners_channel: str | None = None
    token = settings.slack_bot_token.get_secret_value().strip() if settings.slack_bot_token else ""
    if token:
        owners_channel = load_workspace(settings.workspace_path()).config.owners_channel
        slack = SlackGateway(retrying_client(token, base_url=settings.slack_api_url))
    async with open_database(settings.database_url) as database:
        note = None
        if slack is not None:
            try:
                await slack.connect()
            except Exception as exc:
                slack, note = None, f"Slack could not be reached ({exc})"
        report, anchor, slack_note = await verify_against_anchor(
            database, slack=slack, owners_channel=owners_channel
        )
        return report, anchor, note or slack_note
