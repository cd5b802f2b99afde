"""`SandboxServer`: one aiohttp application serving the Web API, Socket Mode and response_url
hooks over one `SandboxWorkspace`, plus the simulation API (what a person does in Slack) and
helpers for tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from app.sandbox import payloads
from app.sandbox.browser import BrowserView
from app.sandbox.socket_mode import EVENTS_API, Delivery, SocketModeGateway, new_event_id
from app.sandbox.state import (
    ApiCall,
    Change,
    Conversation,
    Ephemeral,
    Message,
    ResponseTarget,
    SandboxWorkspace,
    SlackError,
    User,
    View,
)
from app.sandbox.web_api import WebApi, view_spec

T = TypeVar("T")


class SimulationError(ValueError):
    """A simulated person tried something Slack's own client would not let them do."""


class OperationTimeout(RuntimeError):
    """The app did not acknowledge an interactive payload in time (Slack: operation_timeout)."""


class SandboxServer:
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
    ) -> None:
        self.workspace = workspace
        self.bot_token = bot_token
        self.app_token = app_token
        self.host = host
        self.port = port
        self.gateway = SocketModeGateway(
            app_id=workspace.bot.app_id, ack_timeout=ack_timeout, max_retries=max_retries
        )
        self.web_api = WebApi(
            workspace,
            bot_token=bot_token,
            app_token=app_token,
            open_socket_url=self.gateway.open_url,
        )
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self.web_api.handle)
        self.app.router.add_get("/link/", self.gateway.handle_link)
        self.app.router.add_post("/hooks/{token}", self.web_api.handle_response_url)
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

    # -- controls ---------------------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and Retry-After."""
        self.web_api.rate_limit(method, times=times, retry_after=retry_after)

    def request_refresh(self) -> None:
        """Send `disconnect` / `refresh_requested` on every open Socket Mode connection."""
        self.gateway.request_refresh()

    async def wait_for_connections(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a test helper's deadline
        async with asyncio.timeout(timeout):
            await self.gateway.wait_for_connections(count)

    def deliver_event(
        self, payload: dict, *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> Delivery:
        """Send an Events API payload, e.g. one seen before, as Slack's retry would."""
        return self.gateway.deliver(
            EVENTS_API, payload, retry_attempt=retry_attempt, retry_reason=retry_reason
        )

    def redeliver(self, envelope_id: str) -> Delivery:
        return self.gateway.redeliver(envelope_id)

    # -- what a person does -----------------------------------------------------------------

    async def post_message(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        thread_ts: str | None = None,
    ) -> str:
        """`user_id` types `text` into a channel or DM (channel_id = the bot's user id opens it)."""
        user = self._person(user_id)
        conversation = self._joined(user, channel_id)
        if thread_ts and self.workspace.find_message(conversation.id, thread_ts) is None:
            raise SimulationError(f"no message {thread_ts} in {conversation.id}")
        message = self.workspace.post(
            conversation.id,
            user=user.id,
            text=text,
            blocks=payloads.rich_text_blocks(text),
            thread_ts=thread_ts,
            client_msg_id=str(uuid.uuid4()),
        )
        return message.ts

    async def add_reaction(self, user_id: str, channel_id: str, ts: str, name: str) -> None:
        user = self._person(user_id)
        message = self._message(self._joined(user, channel_id), ts)
        self._as_person(lambda: self.workspace.add_reaction(message, user=user.id, name=name))

    async def remove_reaction(self, user_id: str, channel_id: str, ts: str, name: str) -> None:
        user = self._person(user_id)
        message = self._message(self._joined(user, channel_id), ts)
        self._as_person(lambda: self.workspace.remove_reaction(message, user=user.id, name=name))

    async def click_button(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
    ) -> dict:
        """Click a button in a message (or in one of the user's ephemerals); returns the ack."""
        user = self._person(user_id)
        conversation = self._joined(user, channel_id)
        message = self.workspace.find_message(conversation.id, message_ts)
        ephemeral = None if message else self.workspace.find_ephemeral(user.id, message_ts)
        if message is None and ephemeral is None:
            raise SimulationError(f"no message {message_ts} visible to {user.id}")
        shown: Message | Ephemeral = message or ephemeral  # type: ignore[assignment]
        found_block, element = payloads.find_element(shown.blocks or [], action_id, block_id)
        action = payloads.action_json(
            found_block, element, value=value, action_ts=self.workspace.next_ts()
        )
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": conversation.id,
            "is_ephemeral": ephemeral is not None,
        }
        if shown.thread_ts:
            container["thread_ts"] = shown.thread_ts
        target = ResponseTarget(
            user=user.id, channel=conversation.id, message_ts=message_ts, ephemeral=not message
        )
        payload = payloads.block_actions(
            self.workspace,
            user=user,
            actions=[action],
            trigger_id=self.workspace.issue_trigger(user.id),
            container=container,
            channel=conversation,
            message=payloads.message_json(self.workspace, message) if message else None,
            response_url=self._response_url(target),
        )
        return await self._interact("interactive", payload)

    async def click_view_button(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        values: dict | None = None,
    ) -> dict:
        """Click a button in an open modal or the App Home; `values` fills the inputs first."""
        user = self._person(user_id)
        view = self._view(user, view_id)
        blocks = view.spec.get("blocks", [])
        if values is not None:
            view.state_values = payloads.state_values(blocks, values)
        found_block, element = payloads.find_element(blocks, action_id, block_id)
        action = payloads.action_json(
            found_block, element, value=value, action_ts=self.workspace.next_ts()
        )
        payload = payloads.block_actions(
            self.workspace,
            user=user,
            actions=[action],
            trigger_id=self.workspace.issue_trigger(user.id, view_id=view.id),
            container={"type": "view", "view_id": view.id},
            view=view,
            state_values=view.state_values,
        )
        return await self._interact("interactive", payload)

    async def slash_command(
        self, user_id: str, channel_id: str, command: str, text: str = ""
    ) -> dict:
        """Run `/command text`; returns the ack payload, whose text Slack shows the user."""
        user = self._person(user_id)
        conversation = self._joined(user, channel_id)
        payload = payloads.slash_command(
            self.workspace,
            user=user,
            channel=conversation,
            command=command,
            text=text,
            trigger_id=self.workspace.issue_trigger(user.id),
            response_url=self._response_url(ResponseTarget(user=user.id, channel=conversation.id)),
        )
        ack = await self._interact("slash_commands", payload)
        if ack.get("text") or ack.get("blocks"):
            text_shown, blocks = str(ack.get("text") or ""), ack.get("blocks")
            if ack.get("response_type") == "in_channel":
                self.workspace.post(
                    conversation.id, user=self.workspace.bot.user_id, text=text_shown, blocks=blocks
                )
            else:
                self.workspace.post_ephemeral(
                    conversation.id, user=user.id, text=text_shown, blocks=blocks
                )
        return ack

    async def message_shortcut(
        self, user_id: str, channel_id: str, message_ts: str, callback_id: str
    ) -> dict:
        user = self._person(user_id)
        conversation = self._joined(user, channel_id)
        message = self._message(conversation, message_ts)
        payload = payloads.message_action(
            self.workspace,
            user=user,
            channel=conversation,
            message=message,
            callback_id=callback_id,
            trigger_id=self.workspace.issue_trigger(user.id),
            response_url=self._response_url(ResponseTarget(user=user.id, channel=conversation.id)),
            action_ts=self.workspace.next_ts(),
        )
        return await self._interact("interactive", payload)

    async def submit_view(self, user_id: str, view_id: str, values: dict | None = None) -> dict:
        """Submit an open modal; returns the ack payload (e.g. response_action "errors")."""
        user = self._person(user_id)
        view = self._view(user, view_id)
        blocks = view.spec.get("blocks", [])
        view.state_values = payloads.state_values(blocks, values or {})
        missing = payloads.missing_inputs(blocks, view.state_values)
        if missing:
            raise SimulationError(f"required inputs left empty: {', '.join(missing)}")
        payload = payloads.view_submission(
            self.workspace,
            user=user,
            view=view,
            trigger_id=self.workspace.issue_trigger(user.id, view_id=view.id),
        )
        ack = await self._interact("interactive", payload)
        action = ack.get("response_action")
        if action == "errors":
            return ack
        if action in ("update", "push"):
            spec = self._as_person(lambda: view_spec(ack.get("view"), home=False))
            if action == "update":
                self.workspace.update_view(view, spec)
            else:
                self._as_person(lambda: self.workspace.open_view(user.id, spec, on_top_of=view))
        else:
            self.workspace.close_view(view, all_views=action == "clear")
        return ack

    async def close_view(self, user_id: str, view_id: str) -> None:
        """Press Cancel; a view with notify_on_close sends view_closed."""
        user = self._person(user_id)
        view = self._view(user, view_id)
        if view.spec.get("notify_on_close"):
            payload = payloads.view_closed(self.workspace, user=user, view=view, is_cleared=False)
            await self._interact("interactive", payload)
        self.workspace.close_view(view, all_views=bool(view.spec.get("clear_on_close")))

    async def open_home(self, user_id: str) -> Delivery | None:
        """Open the app's Home tab (app_home_opened)."""
        user = self._person(user_id)
        im = self.workspace.open_im(user.id)
        event = payloads.app_home_opened_event(
            self.workspace,
            user=user.id,
            im=im,
            home=self.workspace.home_views.get(user.id),
            event_ts=self.workspace.next_ts(),
        )
        return self._emit("app_home_opened", event, im)

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
        """The first answered (not rate-limited) call of `method` matching `predicate`."""

        def find() -> ApiCall | None:
            for call in self.workspace.calls:
                answered = call.method == method and call.status != 429
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

    # -- events -----------------------------------------------------------------------------

    def _announce(self, change: Change) -> None:
        """Turn workspace changes into the Events API events Slack would send the app."""
        ws = self.workspace
        message = change.message
        if message is None or change.kind not in ("message_posted", *REACTION_KINDS):
            return
        conversation = ws.conversation(message.channel)
        if conversation is None or ws.bot.user_id not in conversation.members:
            return
        if change.kind in REACTION_KINDS:
            event = payloads.reaction_event(
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
            payloads.message_event(ws, message, conversation),
            conversation,
        )
        mentioned = {m.group(1) for m in payloads.MENTION.finditer(message.text)}
        if (
            not conversation.is_im
            and message.user != ws.bot.user_id
            and ws.bot.user_id in mentioned
        ):
            self._emit("app_mention", payloads.app_mention_event(ws, message), conversation)

    def _emit(self, subscription: str, event: dict, conversation: Conversation) -> Delivery | None:
        if subscription not in self.workspace.bot.events:
            return None
        payload = payloads.event_callback(
            self.workspace, event, event_id=new_event_id(), conversation=conversation
        )
        return self.gateway.deliver(EVENTS_API, payload)

    async def _interact(self, type: str, payload: dict) -> dict:
        ack = await self.gateway.deliver(type, payload).wait()
        if ack is None:
            raise OperationTimeout(f"the app did not acknowledge the {type} payload in time")
        return ack

    # -- lookups ----------------------------------------------------------------------------

    def _person(self, user_id: str) -> User:
        user = self.workspace.user(user_id)
        if user is None or user.deleted:
            raise SimulationError(f"no active user {user_id}")
        return user

    def _joined(self, user: User, channel_id: str) -> Conversation:
        if channel_id == self.workspace.bot.user_id:
            return self.workspace.open_im(user.id)
        conversation = self.workspace.conversation(channel_id)
        if conversation is None or user.id not in conversation.members:
            raise SimulationError(f"{user.id} is not in {channel_id}")
        return conversation

    def _message(self, conversation: Conversation, ts: str) -> Message:
        message = self.workspace.find_message(conversation.id, ts)
        if message is None:
            raise SimulationError(f"no message {ts} in {conversation.id}")
        return message

    def _view(self, user: User, view_id: str) -> View:
        view = self.workspace.find_view(view_id)
        if view is None or view.user != user.id:
            raise SimulationError(f"{user.id} has no open view {view_id}")
        return view

    def _response_url(self, target: ResponseTarget) -> str:
        return f"{self.url}hooks/{self.workspace.issue_response_target(target)}"

    @staticmethod
    def _as_person(action: Callable[[], T]) -> T:
        try:
            return action()
        except SlackError as error:
            raise SimulationError(error.code) from error


REACTION_KINDS = ("reaction_added", "reaction_removed")
MESSAGE_SUBSCRIPTIONS = {
    "channel": "message.channels",
    "group": "message.groups",
    "im": "message.im",
}
