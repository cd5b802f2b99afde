"""Running Trellis: the Bolt app over Socket Mode or HTTP, on Slack or on the local sandbox.

`connect_bolt` (Socket Mode) and `serve_bolt_http` (HTTP) are what both `trellis run` and the
end-to-end tests use, so the tests drive exactly the app that runs in production.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from rich.console import Console
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.answering.judge import shared_judge
from app.config.logging import configure_logging
from app.config.settings import Settings
from app.config.workspace import Workspace, load_workspace
from app.db.migrate import connect, upgrade
from app.db.one_process import the_only_run
from app.delivery.actions import check_rules
from app.delivery.scheduler import Background
from app.errors import SetupError
from app.knowledge.embeddings import shared_embedder
from app.knowledge.sync import check_served, knowledge_marks, sync_knowledge
from app.services import Services, build_answerer, build_services, check_anthropic_key
from app.slack_api import SlackGateway, kept_alive_session, retrying_client
from app.slack_people import SlackDirectory
from app.trust import reload, serving, tracing
from app.trust.digest import add_owner_jobs
from handlers import http_mode, preflight, recovery, register
from handlers.errors import report_unexpected
from handlers.notifier import SlackNotifier

if TYPE_CHECKING:
    from app.sandbox.server import SandboxServer
    from app.sandbox.systems.standins import StandIns

log = structlog.get_logger(__name__)


def build_bolt_app(
    services: Services, client: AsyncWebClient, *, signing_secret: str | None = None
) -> AsyncApp:
    """With a `signing_secret`, the app for Slack's HTTP requests: signatures checked by
    Bolt, replays refused (handlers.http_mode), before any listener runs."""
    app = AsyncApp(
        client=client, ignoring_self_events_enabled=True, signing_secret=signing_secret or ""
    )
    if signing_secret:
        http_mode.guard_replays(app, services)
    register(app, services)
    app.error(report_unexpected)
    return app


@asynccontextmanager
async def connect_bolt(
    services: Services, *, client: AsyncWebClient, app_token: str
) -> AsyncIterator[AsyncApp]:
    """The Bolt app, connected over Socket Mode until the block ends."""
    app = build_bolt_app(services, client)
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt
    try:
        yield app
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt
        await finish_acknowledged()


@asynccontextmanager
async def serve_bolt_http(
    services: Services,
    *,
    client: AsyncWebClient,
    signing_secret: str,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[str]:
    """The Bolt app answering Slack's HTTP requests at the request URL it yields, until the
    block ends."""
    web_app = web.Application()
    http_mode.add_request_route(
        web_app, build_bolt_app(services, client, signing_secret=signing_secret)
    )
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield http_mode.request_url(host, runner.addresses[0][1])
    finally:
        await runner.cleanup()
        await finish_acknowledged()


async def finish_acknowledged(grace: float = 10) -> None:
    """What Slack was already told is in hand finishes before Trellis stops taking events:
    Bolt runs a listener on after its ack (a flag's correction saved, a card updated), in a
    task of its own that nothing else waits for. Up to `grace` seconds."""
    running = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "").endswith(_BOLT_LISTENER)
    ]
    if running:
        await asyncio.wait(running, timeout=grace)


_BOLT_LISTENER = "run_ack_function_asynchronously"  # slack_bolt's AsyncioListenerRunner


async def _ops_server(
    services: Services, host: str, port: int, *, slack: AsyncApp | None = None
) -> web.AppRunner:
    """/healthz and /metrics on a small HTTP port, and Slack's request URL when `slack`."""

    async def healthz(_request: web.Request) -> web.Response:
        async with services.database.session() as session:
            await session.connection()
        return web.json_response({"status": "ok", "version": services.workspace.version})

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(
            body=services.metrics.exposition(),
            headers={"Content-Type": services.metrics.content_type},
        )

    ops = web.Application()
    ops.router.add_get("/healthz", healthz)
    ops.router.add_get("/metrics", metrics)
    if slack is not None:
        http_mode.add_request_route(ops, slack)
    runner = web.AppRunner(ops, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise preflight.bind_error(exc, "TRELLIS_HTTP", host, port) from exc
    return runner


async def _settle(task: asyncio.Task[object]) -> None:
    with suppress(Exception):
        await task


async def _start_sandbox(
    settings: Settings, workspace: Workspace, *, signing_secret: str
) -> SandboxServer:
    """The local Slack stand-in, seated with the workspace's people and channels, listening."""
    from app.sandbox.company import MESSAGE_SHORTCUTS, seed_for
    from app.sandbox.server import SandboxServer
    from app.sandbox.state import SandboxWorkspace

    sandbox = SandboxServer(
        SandboxWorkspace.from_seed(seed_for(workspace)),
        host=settings.sandbox_host,
        port=settings.sandbox_port,
        message_shortcuts=MESSAGE_SHORTCUTS,
        delivery="http" if settings.slack_mode == "http" else "socket_mode",
        signing_secret=signing_secret,
    )
    try:
        await sandbox.start()
    except OSError as exc:
        await sandbox.stop()
        raise preflight.bind_error(
            exc, "TRELLIS_SANDBOX", settings.sandbox_host, settings.sandbox_port
        ) from exc
    return sandbox


async def _deliver_over_http(sandbox: SandboxServer, url: str) -> None:
    """Point the sandbox's deliveries at Trellis's request URL, as a Slack app's settings do."""
    assert sandbox.http is not None  # started with delivery="http"
    if not await sandbox.http.set_request_url(url):
        raise SetupError("TRELLIS_HTTP_PORT", f"{url} did not answer Slack's url_verification")


def _stand_ins(
    workspace: Workspace, sandbox: SandboxServer
) -> AbstractAsyncContextManager[StandIns | None]:
    """The demo's downstream systems on the sandbox (app.sandbox.systems), when wanted."""
    from app.sandbox.systems.standins import stand_ins_for

    return stand_ins_for(workspace, sandbox)


def _sandbox_directory(workspace: Workspace) -> SlackDirectory:
    """Who eval runs ask as, on Slack too: the workspace's people as its sandbox seats them."""
    from app.sandbox.company import SandboxDirectory

    return SandboxDirectory.for_workspace(workspace)


def _keep_what_start_built() -> None:
    """What starting built (the workspace, the index, the eval gate's run, the clients)
    lives as long as the process: it is moved out of the garbage collector's reach, so the
    full collections a burst of questions triggers do not walk it again and again, holding
    every ack meanwhile (bench/RESULTS.md: ack p99 131 -> 57 ms). A workspace reloaded later
    is collected as usual; the one it replaces, if frozen, stays in memory."""
    gc.collect()
    gc.freeze()


async def serve(settings: Settings, *, console: Console, stop: asyncio.Event | None = None) -> None:
    """`trellis run`: everything up, then wait for Ctrl-C / SIGTERM (or `stop`), and stop
    in order with one line saying so. A mistake
    in the set-up (a busy port, a token of the wrong kind or without the scopes Trellis
    needs, a database that does not answer, a key Anthropic refuses) stops it before
    anything starts, with a SetupError naming what to change."""
    configure_logging(settings)
    workspace = load_workspace(settings.workspace_path())
    connector_warnings = check_rules(workspace.rules, os.environ)
    preflight.check_ports(settings)
    over_http = settings.slack_mode == "http"
    signing_secret = preflight.signing_secret(settings) if over_http else ""
    if settings.slack_enabled:
        bot_token, app_token = preflight.slack_tokens(settings)
        await preflight.check_slack_app(retrying_client(bot_token, base_url=settings.slack_api_url))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        stack.enter_context(the_only_run(settings.database_url))  # SQLite serves one process
        if provider := tracing.setup(content=settings.trace_content):  # OTEL_* variables
            stack.callback(tracing.shutdown, provider)  # last: after the outbox has stopped
        database = await connect(settings.database_url)
        stack.push_async_callback(database.dispose)
        await check_anthropic_key(settings)
        await upgrade(database)
        await check_served(database, workspace)  # before the eval gate records anything
        # The folder's files answer only once the eval gate let them go live.
        gate = serving.gate(settings, database, directory_for=_sandbox_directory)
        served = await serving.choose(gate, workspace.root, by="run")
        workspace = served.workspace
        connector_warnings = check_rules(workspace.rules, os.environ)
        for note in served.notes():
            console.print(note, style="yellow", markup=False, highlight=False)
        # Taken before indexing: a document saved from here on is indexed by the watcher.
        indexed = await asyncio.to_thread(knowledge_marks, workspace.knowledge_dir)
        report = await sync_knowledge(database, workspace, console=console)
        console.print(
            f"Knowledge: {report.added + report.updated + report.unchanged} documents "
            f"({report.added} new, {report.updated} updated, {report.removed} removed)."
        )
        for error in report.errors:
            console.print(f"[yellow]skipped[/yellow] {error.summary()}", highlight=False)
        for notice in report.warnings:
            console.print(f"[yellow]warning[/yellow] {notice}", highlight=False)

        stand_ins = None  # the downstream systems standing in on the sandbox, if any
        if settings.slack_enabled:
            api_url = settings.slack_api_url
            where = "Slack"
        else:
            sandbox = await _start_sandbox(settings, workspace, signing_secret=signing_secret)
            stack.push_async_callback(sandbox.stop)
            bot_token, app_token, api_url = sandbox.bot_token, sandbox.app_token, sandbox.api_url
            where = f"the local sandbox at {sandbox.url}"
            stand_ins = await stack.enter_async_context(_stand_ins(workspace, sandbox))

        # Closed last, after everything that calls Slack has stopped.
        http = await stack.enter_async_context(kept_alive_session())
        client = retrying_client(bot_token, base_url=api_url, session=http)
        gateway = SlackGateway(client)
        await gateway.connect()
        services = build_services(
            settings,
            workspace,
            database,
            slack=gateway,
            answerer=build_answerer(settings, workspace),
            eval_directory=_sandbox_directory,
            notifier=SlackNotifier,
            environ=stand_ins.environ if stand_ins else None,
            adapt_workspace=stand_ins.adapt if stand_ins else None,
        )
        if stand_ins is not None:  # the connectors deliver to the stand-ins, with their secrets
            connector_warnings = check_rules(services.workspace.rules, services.environ)
        slack_app = None
        if over_http:
            slack_app = build_bolt_app(services, client, signing_secret=signing_secret)
        else:
            try:
                await stack.enter_async_context(
                    connect_bolt(services, client=client, app_token=app_token)
                )
            except SlackApiError as exc:
                raise preflight.slack_refusal(exc, preflight.APP_TOKEN) from exc
        # Runs before the connection closes: waiting questions are told, running ones finish.
        stack.push_async_callback(services.questions.close)
        ops = await _ops_server(services, settings.http_host, settings.http_port, slack=slack_app)
        if over_http:  # once the port is closed, what it acknowledged finishes
            stack.push_async_callback(finish_acknowledged)
        stack.push_async_callback(ops.cleanup)
        ops_port = ops.addresses[0][1] if ops.addresses else settings.http_port
        if over_http:
            url = http_mode.request_url(settings.http_host, ops_port)
            log.info("slack.request_url", url=url)
            console.print(f"Slack request URL: {url} (behind your public HTTPS address)")
            if not settings.slack_enabled:
                await _deliver_over_http(sandbox, url)
        watcher = await reload.start(
            services, stop=stop, served=served, indexed=indexed, knowledge=report
        )
        stack.push_async_callback(reload.finish, watcher)
        if workspace.config.retrieval == "hybrid":
            # The model loads beside the running app, so no ack or first answer waits on it.
            warm = asyncio.create_task(asyncio.to_thread(shared_embedder().warm_up))
            stack.push_async_callback(_settle, warm)
            judge = asyncio.create_task(asyncio.to_thread(shared_judge().warm_up))
            stack.push_async_callback(_settle, judge)
        # The outbox worker, reminders, escalations, expiry, and questions left unanswered.
        background = Background(services, recover=lambda: recovery.answer_abandoned(services))
        add_owner_jobs(background.scheduler, services)  # the owners' digest and batched notices
        await background.start()
        stack.push_async_callback(background.stop)
        for warning in connector_warnings:
            console.print(f"[yellow]rules.yml[/yellow] {warning}", highlight=False)
        _keep_what_start_built()
        console.print(
            f"Trellis is running on {where} (workspace {workspace.config.name or workspace.root}, "
            f"version {workspace.version}{'' if served.from_folder else ' from its stored files'}, "
            f"answers by {services.answerer.name})."
        )
        console.print(f"Health: http://{settings.http_host}:{ops_port}/healthz  ·  Ctrl-C stops.")
        if stand_ins is not None:
            console.print(stand_ins.summary(), highlight=False)
        if not settings.slack_enabled:
            console.print(
                f"\n[bold]Open {sandbox.url} in your browser[/bold] to try Trellis: pick anyone "
                "under “Acting as”, mention @trellis with a question, approve as a manager."
            )
        await stop.wait()
    # Everything has stopped in order, the reverse of starting: questions in hand answered,
    # the outbox's action in hand finished (or left for the next start, its row kept).
    console.print("Trellis stopped.")
