"""Slack's Web API (`/api/<method>`) and response_url hooks, answering what slack_sdk sends:
form-encoded, query-string or JSON bodies, the token as a Bearer header or a `token` param.

The methods themselves live by family: app.sandbox.chat_methods (chat.*, reactions.*),
app.sandbox.conversation_methods (conversations.*, users.*), app.sandbox.view_methods (views.*),
app.sandbox.assistant_methods (assistant.threads.*, chat.*Stream).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from app.sandbox import assistant_methods, chat_methods, conversation_methods, view_methods
from app.sandbox.file_methods import Files
from app.sandbox.lookups import Method
from app.sandbox.records import ApiCall, ResponseTarget
from app.sandbox.state import SandboxWorkspace, SlackError

RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60
"""A response URL takes up to 5 responses within 30 minutes of the interaction."""
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


@dataclass
class RateLimit:
    remaining: int
    retry_after: int


@dataclass
class Failure:
    """Slack failing on its side: an HTTP `status` with an HTML page, or `error` (such as
    fatal_error or service_unavailable) in its JSON answer, for the next `remaining` calls.
    `carried_out`: the call is carried out all the same ("it's possible some aspect of the
    operation succeeded before the error was raised", as Slack documents its errors)."""

    remaining: int
    status: int
    error: str | None
    carried_out: bool = False


FAILURE_PAGE = "<html><body><h1>{status}</h1>Slack is having trouble.</body></html>"


class WebApi:
    """The Web API methods Trellis uses, over one `SandboxWorkspace`."""

    def __init__(
        self,
        workspace: SandboxWorkspace,
        *,
        bot_token: str,
        app_token: str,
        open_socket_url: Callable[[], str],
        files: Files | None = None,
    ) -> None:
        self.ws = workspace
        self.bot_token = bot_token
        self.app_token = app_token
        self.open_socket_url = open_socket_url
        self.limits: dict[str, RateLimit] = {}
        self.failures: dict[str, Failure] = {}
        self.methods: dict[str, Method] = {
            "auth.test": auth_test,
            "apps.connections.open": self.open_connection,
            **chat_methods.METHODS,
            **conversation_methods.METHODS,
            **view_methods.METHODS,
            **assistant_methods.METHODS,
            **(files.methods if files is not None else {}),
        }

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and Retry-After."""
        self.limits[method] = RateLimit(remaining=times, retry_after=retry_after)

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 503,
        error: str | None = None,
        carried_out: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` as Slack failing on its side does: HTTP
        `status` with an HTML page or, given `error` (fatal_error, internal_error,
        service_unavailable…), that error in Slack's JSON answer with HTTP `status`. The
        call is not carried out, unless `carried_out`: then it is, and only its answer is
        lost (a new message posted, say, whose ts the caller never learns)."""
        self.failures[method] = Failure(
            remaining=times, status=status, error=error, carried_out=carried_out
        )

    def withdraw(self, *methods: str) -> None:
        """Answer these methods with unknown_method, as a Slack without them would."""
        for method in methods:
            self.methods.pop(method, None)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        token = params.pop("token", None)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ").strip()
        status, headers = 200, {}
        try:
            self._authorize(method, token)
            failure = self.failures.get(method)
            if failure is not None and failure.remaining > 0:
                failure.remaining -= 1
                if failure.carried_out:
                    with contextlib.suppress(SlackError):
                        await self._carry_out(method, params)
                return self._failed(method, params, failure)
            limit = self.limits.get(method)
            if limit is not None and limit.remaining > 0:
                limit.remaining -= 1
                status, headers = 429, {"Retry-After": str(limit.retry_after)}
                raise SlackError("ratelimited")
            body = {"ok": True, **await self._carry_out(method, params)}
        except SlackError as error:
            body = {"ok": False, "error": error.code, **error.extra}
        self.ws.record_call(ApiCall(method, params, body, status, self.ws.clock()))
        return web.json_response(body, status=status, headers=headers)

    async def _carry_out(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = self.methods.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        _decode_json_fields(params)
        return await handler(self.ws, params)

    def _failed(self, method: str, params: dict[str, Any], failure: Failure) -> web.Response:
        if failure.error is not None:
            body = {"ok": False, "error": failure.error}
            self.ws.record_call(ApiCall(method, params, body, failure.status, self.ws.clock()))
            return web.json_response(body, status=failure.status)
        self.ws.record_call(ApiCall(method, params, {"ok": False}, failure.status, self.ws.clock()))
        page = FAILURE_PAGE.format(status=failure.status)
        return web.Response(text=page, status=failure.status, content_type="text/html")

    def _authorize(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        expected = self.app_token if method in APP_TOKEN_METHODS else self.bot_token
        if token == expected:
            return
        if token in (self.app_token, self.bot_token):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    async def open_connection(self, ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
        """apps.connections.open: a single-use Socket Mode URL."""
        return {"url": self.open_socket_url()}

    async def handle_response_url(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        target = self.ws.response_targets.get(token)
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            body = {}
        status = 200
        answer: dict[str, Any] = {"ok": True}
        try:
            if target is None or _expired(target, now=self.ws.clock()):
                raise SlackError("expired_url")
            if target.uses >= RESPONSE_URL_USES:
                raise SlackError("used_url")
            target.uses += 1
            chat_methods.respond(self.ws, target, body)
        except SlackError as error:
            status = 404 if error.code.endswith("url") else 400
            answer = {"ok": False, "error": error.code}
        self.ws.record_call(ApiCall("response_url", body, answer, status, self.ws.clock()))
        return web.json_response(answer, status=status)


def _expired(target: ResponseTarget, *, now: float) -> bool:
    return target.issued_at is not None and now - target.issued_at > RESPONSE_URL_SECONDS


async def auth_test(ws: SandboxWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"https://{ws.team.domain}.slack.com/",
        "team": ws.team.name,
        "user": ws.bot.name,
        "team_id": ws.team.id,
        "user_id": ws.bot.user_id,
        "bot_id": ws.bot.bot_id,
        "is_enterprise_install": False,
    }


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST":
        return params
    if request.content_type == "application/json":
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {}
        if isinstance(body, dict):
            params.update(body)
    else:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _decode_json_fields(params: dict[str, Any]) -> None:
    for name in JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value:
            try:
                params[name] = json.loads(value)
            except json.JSONDecodeError as error:
                code = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                raise SlackError(code) from error
