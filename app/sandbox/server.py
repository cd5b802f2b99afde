"""`SandboxServer`: one aiohttp application serving the Web API, Socket Mode, response_url
hooks and the browser view over one `SandboxWorkspace`, with what people do there (the
simulation of app.sandbox.simulation) and helpers for tests to read and wait on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from aiohttp import web

from app.sandbox import events
from app.sandbox.browser import BrowserView
from app.sandbox.file_methods import Files
from app.sandbox.http_delivery import HttpDelivery
from app.sandbox.records import ApiCall, Change, Conversation, Ephemeral, Message, View
from app.sandbox.simulation import SlackSimulation
from app.sandbox.socket_mode import EVENTS_API, Delivery, SocketModeGateway
from app.sandbox.state import SandboxWorkspace
from app.sandbox.web_api import WebApi

if TYPE_CHECKING:
    from app.sandbox.systems.standins import StandIns

T = TypeVar("T")


class SandboxServer(SlackSimulation):
    """A local Slack: Web API at `api_url`, Socket Mode behind apps.connections.open."""

    def __init__(
        self,
        workspace: SandboxWorkspace,
        *,
        bot_token: str = "xoxb-sandbox-bot-token",
        app_token: str = "xapp-1-sandbox-app-token",
        host: str = "127.0.0.1",
        port: int = 0,
        ack_timeout: float = 3.0,
        max_retries: int = 3,
        message_shortcuts: list[dict[str, str]] | None = None,
        delivery: Literal["socket_mode", "http"] = "socket_mode",
        signing_secret: str = "sandbox-signing-secret",
    ) -> None:
        # delivery "http": payloads go to the request URL set with `http.set_request_url`.
        self.signing_secret = signing_secret
        self.http = (
            HttpDelivery(
                app_id=workspace.bot.app_id,
                signing_secret=signing_secret,
                ack_timeout=ack_timeout,
                max_retries=max_retries,
            )
            if delivery == "http"
            else None
        )
        gateway = self.http or SocketModeGateway(
            app_id=workspace.bot.app_id, ack_timeout=ack_timeout, max_retries=max_retries
        )
        super().__init__(workspace, gateway)
        self.bot_token = bot_token
        self.app_token = app_token
        self.host = host
        self.port = port
        self.files = Files(workspace, lambda: self.url)
        self.web_api = WebApi(
            workspace,
            bot_token=bot_token,
            app_token=app_token,
            open_socket_url=self.gateway.open_url,
            files=self.files,
        )
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self.web_api.handle)
        self.app.router.add_get("/link/", self.gateway.handle_link)
        self.app.router.add_post("/hooks/{token}", self.web_api.handle_response_url)
        self.files.add_routes(self.app)
        # The browser view at `url`; message_shortcuts: [{"callback_id": …, "name": …}]
        self.browser = BrowserView(self, message_shortcuts=message_shortcuts)
        self.browser.add_routes(self.app)
        self._runner: web.AppRunner | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.gateway.link_url = f"ws://{self.host}:{self.port}/link/"
        self.hooks_url = f"{self.url}hooks/"
        self._unsubscribe = self.workspace.subscribe(self._announce)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.browser.close()
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"{self.url}api/"

    def show_systems(self, stand_ins: StandIns) -> None:
        """List what the downstream stand-ins receive in the browser view's Systems section."""
        self.browser.systems = stand_ins
        stand_ins.subscribe(lambda: self.workspace.notify(Change("systems_changed")))

    # -- controls ---------------------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and Retry-After."""
        self.web_api.rate_limit(method, times=times, retry_after=retry_after)

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 503,
        error: str | None = None,
        carried_out: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` as Slack failing on its side does
        (an HTTP 5xx page, or `error` such as fatal_error), having carried them out or not;
        see `WebApi.fail`."""
        self.web_api.fail(method, times=times, status=status, error=error, carried_out=carried_out)

    def request_refresh(self) -> None:
        """Send `disconnect` / `refresh_requested` on every open Socket Mode connection."""
        self.gateway.request_refresh()

    async def wait_for_connections(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a test helper's deadline
        async with asyncio.timeout(timeout):
            await self.gateway.wait_for_connections(count)

    def deliver_event(
        self, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> Delivery:
        """Send an Events API payload, e.g. one seen before, as Slack's retry would."""
        return self.gateway.deliver(
            EVENTS_API, payload, retry_attempt=retry_attempt, retry_reason=retry_reason
        )

    def redeliver(self, envelope_id: str) -> Delivery:
        return self.gateway.redeliver(envelope_id)

    # -- reading state, waiting -------------------------------------------------------------

    def messages(self, channel_id: str) -> list[Message]:
        """Every message in the channel, thread replies included, oldest first."""
        return list(self.workspace.messages.get(channel_id, []))

    def thread(self, channel_id: str, thread_ts: str) -> list[Message]:
        return self.workspace.thread(channel_id, thread_ts)

    def ephemerals(self, user_id: str, channel_id: str | None = None) -> list[Ephemeral]:
        return [
            e
            for e in self.workspace.ephemerals
            if e.user == user_id and channel_id in (None, e.channel)
        ]

    def open_views(self, user_id: str) -> list[View]:
        return [v for v in self.workspace.views.values() if v.user == user_id]

    def home_view(self, user_id: str) -> View | None:
        return self.workspace.home_views.get(user_id)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.workspace.calls if c.method == method]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
    ) -> ApiCall:
        """The first answered call of `method` (not rate-limited, not failed on Slack's side)
        matching `predicate`."""

        def find() -> ApiCall | None:
            for call in self.workspace.calls:
                answered = call.method == method and call.status < 429
                if answered and (predicate is None or predicate(call)):
                    return call
            return None

        return await self._wait(find, timeout, f"{method} call")

    async def wait_for_message(
        self,
        channel_id: str,
        predicate: Callable[[Message], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
    ) -> Message:
        """The first message in the channel (replies included) matching `predicate`."""

        def find() -> Message | None:
            return next(
                (m for m in self.messages(channel_id) if predicate is None or predicate(m)), None
            )

        return await self._wait(find, timeout, f"message in {channel_id}")

    async def wait_for_ephemeral(
        self,
        user_id: str,
        predicate: Callable[[Ephemeral], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
    ) -> Ephemeral:
        def find() -> Ephemeral | None:
            return next(
                (e for e in self.ephemerals(user_id) if predicate is None or predicate(e)), None
            )

        return await self._wait(find, timeout, f"ephemeral for {user_id}")

    async def wait_until(
        self,
        find: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline
        what: str = "change",
    ) -> T:
        """The first non-None `find()`, re-checked after every change in the workspace."""
        return await self._wait(find, timeout, what)

    async def _wait(self, find: Callable[[], T | None], seconds: float, what: str) -> T:
        found = find()
        if found is not None:
            return found
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def check(_: Change) -> None:
            if future.done():
                return
            try:
                result = find()
            except Exception as error:  # a failing predicate fails the wait, not the notifier
                future.set_exception(error)
                return
            if result is not None:
                future.set_result(result)

        unsubscribe = self.workspace.subscribe(check)
        try:
            async with asyncio.timeout(seconds):
                return await future
        except TimeoutError:
            raise TimeoutError(f"no {what} within {seconds} s") from None
        finally:
            unsubscribe()

    # -- events ---------------------------------------------------------------------------

    def _announce(self, change: Change) -> None:
        """Turn workspace changes into the Events API events Slack would send the app."""
        ws = self.workspace
        message = change.message
        if message is None or change.kind not in (
            "message_posted",
            "message_deleted",
            "message_tombstoned",
            "message_edited",
            *REACTION_KINDS,
        ):
            return
        conversation = ws.conversation(message.channel)
        if conversation is None or ws.bot.user_id not in conversation.members:
            return
        if change.kind in ("message_deleted", "message_tombstoned", "message_edited"):
            event = (
                events.deleted_event(ws, message, conversation)
                if change.kind == "message_deleted"
                else events.changed_event(ws, message, change.previous or message, conversation)
            )
            self._emit(MESSAGE_SUBSCRIPTIONS[conversation.channel_type], event, conversation)
            if change.kind == "message_edited":  # Slack tells of the mention in it again
                self._mentioned(message, conversation)
            return
        if change.kind in REACTION_KINDS:
            event = events.reaction_event(
                change.kind,
                user=change.user or "",
                reaction=change.reaction or "",
                message=message,
                event_ts=ws.next_ts(),
            )
            self._emit(change.kind, event, conversation)
            return
        self._emit(
            MESSAGE_SUBSCRIPTIONS[conversation.channel_type],
            events.message_event(ws, message, conversation),
            conversation,
        )
        self._mentioned(message, conversation)

    def _mentioned(self, message: Message, conversation: Conversation) -> None:
        """`app_mention` for a message that mentions the app (an edited one too, with its
        `edited`, as Slack sends it)."""
        ws = self.workspace
        mentioned = {m.group(1) for m in events.MENTION.finditer(message.text)}
        if (
            conversation.channel_type not in ("im", "mpim")  # Slack sends none in DMs
            and message.user != ws.bot.user_id
            and ws.bot.user_id in mentioned
        ):
            self._emit("app_mention", events.app_mention_event(ws, message), conversation)


REACTION_KINDS = ("reaction_added", "reaction_removed")
MESSAGE_SUBSCRIPTIONS = {
    "channel": "message.channels",
    "group": "message.groups",
    "im": "message.im",
    "mpim": "message.mpim",
}
