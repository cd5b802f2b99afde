"""The sandbox in a browser: a Slack-like page served by the `SandboxServer` itself.

    GET  /                      the page (static/index.html; no build step, nothing remote)
    GET  /static/NAME           its scripts and styles
    GET  /ui/state?as=USER      what USER sees (app.sandbox.snapshot), and what the downstream
                                stand-ins received (app.sandbox.systems.view)
    GET  /ui/emoji              emoji shortcodes and their emoji (app.sandbox.emoji_names)
    GET  /ui/events?as=USER     Server-Sent Events: one `change` per change USER can see
    POST /ui/actions/NAME       what a person does, as JSON {"as": USER, ...}

Every action goes through the simulation (app.sandbox.simulation), so the app receives the same
Socket Mode envelopes as from Slack: a click is a `block_actions` payload, a modal's
submit a `view_submission`, a typed `/command` a `slash_commands` payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from app.sandbox import interactions
from app.sandbox.emoji_names import emoji_table
from app.sandbox.records import Change, User
from app.sandbox.simulation import OperationTimeout, SimulationError, SlackSimulation
from app.sandbox.snapshot import default_person, snapshot, typed_text
from app.sandbox.systems.view import systems_json

if TYPE_CHECKING:
    from app.sandbox.systems.standins import StandIns

STATIC = Path(__file__).with_name("static")
STATIC_NAME = re.compile(r"^[a-z][a-z0-9_-]*\.(js|css|svg|png)$")
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".html": "text/html",
}
# The page runs only its own files: no inline script, nothing fetched from elsewhere.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
KEEPALIVE_SECONDS = 15.0
PERSONAL_KINDS = ("ephemeral_", "view_", "home_")

Action = Callable[[User, dict[str, Any]], Awaitable[dict[str, Any]]]


class BrowserView:
    """Routes of the browser view over one simulated Slack (the `SandboxServer` serving it)."""

    def __init__(
        self, slack: SlackSimulation, *, message_shortcuts: list[dict[str, str]] | None = None
    ) -> None:
        self.slack = slack
        self.message_shortcuts = list(message_shortcuts or [])
        self.systems: StandIns | None = None
        """The downstream stand-ins whose deliveries the Systems section lists, if running."""
        self._streams: set[asyncio.Queue[str | None]] = set()
        self._actions: dict[str, Action] = {
            "post": self.post,
            "react": self.react,
            "unreact": self.unreact,
            "click": self.click,
            "click_view": self.click_view,
            "command": self.command,
            "shortcut": self.shortcut,
            "submit": self.submit,
            "close": self.close_view,
            "home": self.open_home,
            "assistant": self.open_assistant,
            "assistant_context": self.assistant_context,
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/ui/state", self.state)
        app.router.add_get("/ui/emoji", self.emoji)
        app.router.add_get("/ui/events", self.events)
        app.router.add_post("/ui/actions/{name}", self.act)

    def close(self) -> None:
        """End every open event stream (the server is stopping)."""
        for queue in list(self._streams):
            queue.put_nowait(None)

    # -- the page ---------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        return _file_response(STATIC / "index.html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = STATIC / name
        if not STATIC_NAME.match(name) or not path.is_file():
            raise web.HTTPNotFound(text=f"no file {name}")
        return _file_response(path)

    # -- what a person sees -----------------------------------------------------------------

    async def state(self, request: web.Request) -> web.Response:
        user = self._viewer(request.query.get("as"))
        ws = self.slack.workspace
        seen = snapshot(ws, user, message_shortcuts=self.message_shortcuts)
        if self.systems is not None:
            seen["systems"] = systems_json(self.systems, ws, self.slack.gateway.deliveries)
        return web.json_response(seen, headers={"Cache-Control": "no-store"})

    async def emoji(self, request: web.Request) -> web.Response:
        return web.json_response(emoji_table(), headers={"Cache-Control": "max-age=3600"})

    async def events(self, request: web.Request) -> web.StreamResponse:
        user = self._viewer(request.query.get("as"))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def relay(change: Change) -> None:
            if self._concerns(change, user):
                queue.put_nowait(change.kind)

        unsubscribe = self.slack.workspace.subscribe(relay)
        self._streams.add(queue)
        try:
            await response.write(b"retry: 1000\nevent: ready\ndata: {}\n\n")
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        kind = await queue.get()
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if kind is None:
                    break
                data = json.dumps({"kind": kind})
                await response.write(f"event: change\ndata: {data}\n\n".encode())
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            unsubscribe()
            self._streams.discard(queue)
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    def _concerns(self, change: Change, user: User) -> bool:
        if change.kind == "api_call":
            return False
        if change.kind.startswith(PERSONAL_KINDS):
            return change.user == user.id
        conversation = self.slack.workspace.conversation(change.channel or "")
        return conversation is None or user.id in conversation.members

    # -- what a person does -----------------------------------------------------------------

    async def act(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        action = self._actions.get(name)
        if action is None:
            return _refusal(404, "unknown_action", f"There is no action {name}.")
        # JSON only: another site's page cannot send that without a preflight this server refuses.
        if request.content_type != "application/json":
            return _refusal(415, "unsupported_media_type", "Send the action as application/json.")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return _refusal(400, "bad_request", "Send a JSON object.")
        try:
            user = self._viewer(body.get("as"))
            result = await action(user, body)
        except web.HTTPNotFound as error:
            return _refusal(404, "not_found", error.text or "Not found.")
        except OperationTimeout:
            return _refusal(
                504,
                "operation_timeout",
                "The app did not answer in time. Is Trellis running and connected?",
            )
        except (SimulationError, LookupError, ValueError, TypeError) as error:
            return _refusal(400, "refused", str(error).strip("'\""))
        return web.json_response({"ok": True, **result})

    async def post(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        text = typed_text(self.slack.workspace, _required(body, "text"))
        ts = await self.slack.post_message(
            user.id, _required(body, "channel"), text, thread_ts=body.get("thread_ts") or None
        )
        return {"ts": ts, "text": text}

    async def react(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        await self.slack.add_reaction(
            user.id, _required(body, "channel"), _required(body, "ts"), _emoji(body)
        )
        return {}

    async def unreact(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        await self.slack.remove_reaction(
            user.id, _required(body, "channel"), _required(body, "ts"), _emoji(body)
        )
        return {}

    async def click(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        ack = await self.slack.click_button(
            user.id,
            _required(body, "channel"),
            _required(body, "ts"),
            _required(body, "action_id"),
            value=body.get("value"),
            block_id=body.get("block_id"),
        )
        return {"ack": ack}

    async def click_view(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        ack = await self.slack.click_view_button(
            user.id,
            _required(body, "view_id"),
            _required(body, "action_id"),
            value=body.get("value"),
            block_id=body.get("block_id"),
            values=body.get("values") if isinstance(body.get("values"), dict) else None,
        )
        return {"ack": ack}

    async def command(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        command = _required(body, "command").strip()
        if not command.startswith("/") or len(command) < 2:
            raise ValueError(f"{command} is not a slash command")
        ack = await self.slack.slash_command(
            user.id, _required(body, "channel"), command, str(body.get("text") or "")
        )
        return {"ack": ack}

    async def shortcut(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        ack = await self.slack.message_shortcut(
            user.id,
            _required(body, "channel"),
            _required(body, "ts"),
            _required(body, "callback_id"),
        )
        return {"ack": ack}

    async def submit(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        view_id = _required(body, "view_id")
        given = body.get("values")
        values = given if isinstance(given, dict) else {}
        view = self.slack.workspace.find_view(view_id)
        if view is not None:
            blocks = view.spec.get("blocks", [])
            missing = interactions.missing_inputs(blocks, interactions.state_values(blocks, values))
            if missing:
                errors = {block_id: "Please complete this required field." for block_id in missing}
                return {"ack": {"response_action": "errors", "errors": errors}}
        ack = await self.slack.submit_view(user.id, view_id, values)
        return {"ack": ack}

    async def close_view(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        await self.slack.close_view(user.id, _required(body, "view_id"))
        return {}

    async def open_home(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        await self.slack.open_home(user.id)
        return {}

    # -- lookups ----------------------------------------------------------------------------

    async def open_assistant(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        """Open the assistant view beside the channel being looked at."""
        viewing = body.get("viewing") or None
        thread_ts = await self.slack.open_assistant(user.id, viewing=viewing)
        return {"channel": self.slack.workspace.open_im(user.id).id, "thread_ts": thread_ts}

    async def assistant_context(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        await self.slack.view_channel(
            user.id, _required(body, "thread_ts"), _required(body, "channel")
        )
        return {}

    def _viewer(self, user_id: Any) -> User:
        ws = self.slack.workspace
        if not user_id:
            user = default_person(ws)
            if user is None:
                raise web.HTTPNotFound(text="this workspace has nobody in it")
            return user
        user = ws.user(str(user_id))
        if user is None or user.deleted or user.is_bot:
            raise web.HTTPNotFound(text=f"no person {user_id} in this workspace")
        return user


def _required(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing {key}")
    return value


def _emoji(body: dict[str, Any]) -> str:
    name = _required(body, "name").strip(":").strip()
    if not re.fullmatch(r"[a-z0-9_+'-]+", name):
        raise ValueError(f"{name} is not an emoji name")
    return name


def _refusal(status: int, error: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": error, "message": message}, status=status)


def _file_response(path: Path) -> web.Response:
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if path.suffix == ".html":
        headers["Content-Security-Policy"] = POLICY
    kind = CONTENT_TYPES[path.suffix]
    charset = "utf-8" if kind.startswith("text/") or kind.endswith("+xml") else None
    return web.Response(body=path.read_bytes(), content_type=kind, charset=charset, headers=headers)
