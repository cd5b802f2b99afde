"""Slack's Web API (`/api/<method>`) and response_url hooks, answering what slack_sdk sends:
form-encoded, query-string or JSON bodies, the token as a Bearer header or a `token` param."""

from __future__ import annotations

import base64
import copy
import json
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View as ViewModel

from app.sandbox import payloads
from app.sandbox.state import (
    ApiCall,
    Conversation,
    Message,
    ResponseTarget,
    SandboxWorkspace,
    SlackError,
    User,
)

MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
RESPONSE_URL_USES = 5
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
INTERACTIVE_HOLDERS = {"actions": "elements", "input": "element", "section": "accessory"}

Method = Callable[[dict], Awaitable[dict]]


@dataclass
class RateLimit:
    remaining: int
    retry_after: int


class WebApi:
    """The Web API methods Trellis uses, over one `SandboxWorkspace`."""

    def __init__(
        self,
        workspace: SandboxWorkspace,
        *,
        bot_token: str,
        app_token: str,
        open_socket_url: Callable[[], str],
    ) -> None:
        self.ws = workspace
        self.bot_token = bot_token
        self.app_token = app_token
        self.open_socket_url = open_socket_url
        self.limits: dict[str, RateLimit] = {}
        self.methods: dict[str, Method] = {
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "chat.getPermalink": self.chat_get_permalink,
            "users.info": self.users_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "conversations.info": self.conversations_info,
            "conversations.members": self.conversations_members,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.open": self.conversations_open,
            "reactions.add": self.reactions_add,
            "reactions.remove": self.reactions_remove,
            "reactions.get": self.reactions_get,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
        }

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and Retry-After."""
        self.limits[method] = RateLimit(remaining=times, retry_after=retry_after)

    # -- HTTP -------------------------------------------------------------------------------

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
            limit = self.limits.get(method)
            if limit is not None and limit.remaining > 0:
                limit.remaining -= 1
                status, headers = 429, {"Retry-After": str(limit.retry_after)}
                raise SlackError("ratelimited")
            handler = self.methods.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            _decode_json_fields(params)
            body = {"ok": True, **await handler(params)}
        except SlackError as error:
            body = {"ok": False, "error": error.code, **error.extra}
        self.ws.record_call(ApiCall(method, params, body, status, self.ws.clock()))
        return web.json_response(body, status=status, headers=headers)

    def _authorize(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        expected = self.app_token if method in APP_TOKEN_METHODS else self.bot_token
        if token == expected:
            return
        if token in (self.app_token, self.bot_token):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    # -- auth and apps ----------------------------------------------------------------------

    async def auth_test(self, params: dict) -> dict:
        return {
            "url": f"https://{self.ws.team.domain}.slack.com/",
            "team": self.ws.team.name,
            "user": self.ws.bot.name,
            "team_id": self.ws.team.id,
            "user_id": self.ws.bot.user_id,
            "bot_id": self.ws.bot.bot_id,
            "is_enterprise_install": False,
        }

    async def apps_connections_open(self, params: dict) -> dict:
        return {"url": self.open_socket_url()}

    # -- chat -------------------------------------------------------------------------------

    async def chat_post_message(self, params: dict) -> dict:
        conversation = self._readable(params.get("channel"))
        text, blocks = _content(params, required=True)
        thread_ts = params.get("thread_ts") or None
        if thread_ts and self.ws.find_message(conversation.id, thread_ts) is None:
            raise SlackError("thread_not_found")
        message = self.ws.post(
            conversation.id,
            user=self.ws.bot.user_id,
            text=text or "",
            blocks=blocks,
            thread_ts=thread_ts,
            metadata=params.get("metadata"),
        )
        return {
            "channel": conversation.id,
            "ts": message.ts,
            "message": payloads.message_json(self.ws, message),
        }

    async def chat_update(self, params: dict) -> dict:
        conversation = self._readable(params.get("channel"))
        message = self._message(conversation, params.get("ts"))
        if message.bot_id != self.ws.bot.bot_id:
            raise SlackError("cant_update_message")
        text, blocks = _content(params, required=False)
        if "blocks" in params and blocks is None:
            blocks = []
        self.ws.update_message(message, text=text, blocks=blocks)
        return {
            "channel": conversation.id,
            "ts": message.ts,
            "text": message.text,
            "message": payloads.message_json(self.ws, message),
        }

    async def chat_post_ephemeral(self, params: dict) -> dict:
        conversation = self._readable(params.get("channel"))
        user = self._user(params.get("user"))
        if user.id not in conversation.members:
            raise SlackError("user_not_in_channel")
        text, blocks = _content(params, required=True)
        ephemeral = self.ws.post_ephemeral(
            conversation.id,
            user=user.id,
            text=text or "",
            blocks=blocks,
            thread_ts=params.get("thread_ts") or None,
        )
        return {"message_ts": ephemeral.ts}

    async def chat_delete(self, params: dict) -> dict:
        conversation = self._readable(params.get("channel"))
        message = self._message(conversation, params.get("ts"))
        if message.bot_id != self.ws.bot.bot_id:
            raise SlackError("cant_delete_message")
        self.ws.delete_message(message)
        return {"channel": conversation.id, "ts": message.ts}

    async def chat_get_permalink(self, params: dict) -> dict:
        conversation = self._visible(params.get("channel"))
        message = self._message(conversation, params.get("message_ts"))
        link = (
            f"https://{self.ws.team.domain}.slack.com/archives/{conversation.id}"
            f"/p{message.ts.replace('.', '')}"
        )
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={conversation.id}"
        return {"channel": conversation.id, "permalink": link}

    # -- users ------------------------------------------------------------------------------

    async def users_info(self, params: dict) -> dict:
        return {"user": payloads.user_json(self.ws, self._user(params.get("user")))}

    async def users_lookup_by_email(self, params: dict) -> dict:
        user = self.ws.user_by_email(params.get("email") or "")
        if user is None or user.deleted or user.team_id != self.ws.team.id:
            raise SlackError("users_not_found")
        return {"user": payloads.user_json(self.ws, user)}

    # -- conversations ----------------------------------------------------------------------

    async def conversations_info(self, params: dict) -> dict:
        conversation = self._visible(params.get("channel"))
        return {"channel": payloads.conversation_json(self.ws, conversation)}

    async def conversations_members(self, params: dict) -> dict:
        conversation = self._visible(params.get("channel"))
        members, cursor = _page(conversation.members, params, default_limit=100)
        return {"members": members, "response_metadata": {"next_cursor": cursor}}

    async def conversations_history(self, params: dict) -> dict:
        conversation = self._readable(params.get("channel"))
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        inclusive = _flag(params, "inclusive")
        newest_first = [
            m
            for m in reversed(self.ws.messages[conversation.id])
            if not m.is_reply and _within(float(m.ts), oldest, latest, inclusive)
        ]
        page, cursor = _page(newest_first, params, default_limit=100)
        return {
            "messages": [payloads.message_json(self.ws, m) for m in page],
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    async def conversations_replies(self, params: dict) -> dict:
        conversation = self._readable(params.get("channel"))
        head = self.ws.find_message(conversation.id, params.get("ts"))
        if head is None:
            raise SlackError("thread_not_found")
        thread = self.ws.thread(conversation.id, head.thread_ts or head.ts)
        page, cursor = _page(thread, params, default_limit=1000)
        return {
            "messages": [payloads.message_json(self.ws, m) for m in page],
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    async def conversations_open(self, params: dict) -> dict:
        if params.get("channel"):
            conversation = self._visible(params["channel"])
        else:
            user_ids = [u.strip() for u in (params.get("users") or "").split(",") if u.strip()]
            if not user_ids:
                raise SlackError("users_list_not_supplied")
            if len(user_ids) > 1:
                raise SlackError("not_supported")
            user = self.ws.user(user_ids[0])
            if user is None:
                raise SlackError("user_not_found")
            if user.deleted:
                raise SlackError("user_disabled")
            conversation = self.ws.open_im(user.id)
        if _flag(params, "return_im"):
            return {"channel": payloads.conversation_json(self.ws, conversation)}
        return {"channel": {"id": conversation.id}}

    # -- reactions --------------------------------------------------------------------------

    async def reactions_add(self, params: dict) -> dict:
        message, name = self._reaction_target(params)
        self.ws.add_reaction(message, user=self.ws.bot.user_id, name=name)
        return {}

    async def reactions_remove(self, params: dict) -> dict:
        message, name = self._reaction_target(params)
        self.ws.remove_reaction(message, user=self.ws.bot.user_id, name=name)
        return {}

    async def reactions_get(self, params: dict) -> dict:
        conversation = self._readable(params.get("channel"))
        message = self._message(conversation, params.get("timestamp"))
        return {
            "type": "message",
            "channel": conversation.id,
            "message": payloads.message_json(self.ws, message),
        }

    def _reaction_target(self, params: dict) -> tuple[Message, str]:
        conversation = self._readable(params.get("channel"))
        message = self._message(conversation, params.get("timestamp"))
        name = (params.get("name") or "").strip(":")
        if not name:
            raise SlackError("invalid_name")
        return message, name

    # -- views ------------------------------------------------------------------------------

    async def views_open(self, params: dict) -> dict:
        spec = view_spec(params.get("view"), home=False)
        user = self.ws.exchange_trigger(params.get("trigger_id") or "")
        view = self.ws.open_view(user, spec)
        return {"view": payloads.view_json(self.ws, view)}

    async def views_push(self, params: dict) -> dict:
        spec = view_spec(params.get("view"), home=False)
        trigger = self.ws.triggers.get(params.get("trigger_id") or "")
        user = self.ws.exchange_trigger(params.get("trigger_id") or "")
        below = self.ws.views.get(trigger.view_id or "") if trigger else None
        if below is None:
            raise SlackError("not_found")
        stack = self.ws.view_stack(below.root_view_id)
        view = self.ws.open_view(user, spec, on_top_of=stack[-1])
        return {"view": payloads.view_json(self.ws, view)}

    async def views_update(self, params: dict) -> dict:
        view = self.ws.find_view(params.get("view_id"), params.get("external_id"))
        if view is None:
            raise SlackError("not_found")
        spec = view_spec(params.get("view"), home=view.type == "home")
        if params.get("hash") and params["hash"] != view.hash:
            raise SlackError("hash_conflict")
        self.ws.update_view(view, spec)
        return {"view": payloads.view_json(self.ws, view)}

    async def views_publish(self, params: dict) -> dict:
        user = self._user(params.get("user_id"))
        spec = view_spec(params.get("view"), home=True)
        current = self.ws.home_views.get(user.id)
        if params.get("hash") and current is not None and params["hash"] != current.hash:
            raise SlackError("hash_conflict")
        view = self.ws.publish_home(user.id, spec)
        return {"view": payloads.view_json(self.ws, view)}

    # -- response_url -----------------------------------------------------------------------

    async def handle_response_url(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        target = self.ws.response_targets.get(token)
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            body = {}
        status, answer = 200, {"ok": True}
        try:
            if target is None:
                raise SlackError("expired_url")
            if target.uses >= RESPONSE_URL_USES:
                raise SlackError("used_url")
            target.uses += 1
            self._respond(target, body)
        except SlackError as error:
            status, answer = (
                (404 if error.code.endswith("url") else 400),
                {
                    "ok": False,
                    "error": error.code,
                },
            )
        self.ws.record_call(ApiCall("response_url", body, answer, status, self.ws.clock()))
        return web.json_response(answer, status=status)

    def _respond(self, target: ResponseTarget, body: dict) -> None:
        original_message = (
            self.ws.find_message(target.channel, target.message_ts)
            if target.message_ts and not target.ephemeral
            else None
        )
        original_ephemeral = (
            self.ws.find_ephemeral(target.user, target.message_ts) if target.ephemeral else None
        )
        original = original_message or original_ephemeral
        if _truthy(body.get("delete_original")):
            if original_message is not None:
                self.ws.delete_message(original_message)
            elif original_ephemeral is not None:
                self.ws.delete_ephemeral(original_ephemeral)
            else:
                raise SlackError("message_not_found")
            return
        text, blocks = _content(body, required=True)
        text = text or ""
        if _truthy(body.get("replace_original")) and original is not None:
            if original_message is not None:
                self.ws.update_message(original_message, text=text, blocks=blocks or [])
            elif original_ephemeral is not None:
                self.ws.replace_ephemeral(original_ephemeral, text=text, blocks=blocks)
            return
        thread_ts = body.get("thread_ts") or None
        if body.get("response_type") == "in_channel":
            self.ws.post(
                target.channel,
                user=self.ws.bot.user_id,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
            )
        else:
            self.ws.post_ephemeral(
                target.channel, user=target.user, text=text, blocks=blocks, thread_ts=thread_ts
            )

    # -- lookups ----------------------------------------------------------------------------

    def _conversation(self, channel: str | None) -> Conversation:
        if channel and channel[0] in "UW" and self.ws.user(channel) is not None:
            return self.ws.open_im(channel)
        conversation = self.ws.conversation(channel or "")
        if conversation is None and channel:
            name = channel.lstrip("#")
            conversation = next(
                (c for c in self.ws.conversations.values() if c.name == name and not c.is_im), None
            )
        if conversation is None:
            raise SlackError("channel_not_found")
        return conversation

    def _visible(self, channel: str | None) -> Conversation:
        conversation = self._conversation(channel)
        if not self.ws.bot_sees(conversation):
            raise SlackError("channel_not_found")
        return conversation

    def _readable(self, channel: str | None) -> Conversation:
        conversation = self._visible(channel)
        if self.ws.bot.user_id not in conversation.members:
            raise SlackError("not_in_channel")
        return conversation

    def _message(self, conversation: Conversation, ts: str | None) -> Message:
        message = self.ws.find_message(conversation.id, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _user(self, user_id: str | None) -> User:
        user = self.ws.user(user_id or "")
        if user is None:
            raise SlackError("user_not_found")
        return user


# -- request parsing and validation -----------------------------------------------------------


async def _read_params(request: web.Request) -> dict:
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


def _decode_json_fields(params: dict) -> None:
    for name in JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value:
            try:
                params[name] = json.loads(value)
            except json.JSONDecodeError as error:
                code = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                raise SlackError(code) from error


def _content(params: dict, *, required: bool) -> tuple[str | None, list[dict] | None]:
    text = params.get("text")
    raw_blocks = params.get("blocks")
    if required and not text and not raw_blocks and not params.get("attachments"):
        raise SlackError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT:
        raise SlackError("msg_too_long")
    blocks = None
    if raw_blocks not in (None, "", []):
        errors = block_errors(raw_blocks, limit=MAX_MESSAGE_BLOCKS, pointer="/blocks")
        if errors:
            raise SlackError(
                "invalid_blocks", errors=errors, response_metadata={"messages": errors}
            )
        blocks = with_ids(raw_blocks)
    return (None if text is None else str(text)), blocks


def block_errors(blocks: Any, *, limit: int, pointer: str) -> list[str]:
    """Problems slack_sdk's Block Kit models find in `blocks`, worded like Slack's answers."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    errors = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    seen_ids: set[str] = set()
    for index, raw in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(raw, dict) or "type" not in raw:
            errors.append(f"missing required field: type [json-pointer:{where}]")
            continue
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                errors.append(f"duplicate block_id: {block_id} [json-pointer:{where}/block_id]")
            seen_ids.add(block_id)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = Block.parse(dict(raw))
                if model is None:
                    errors.append(f"unsupported type: {raw['type']} [json-pointer:{where}/type]")
                    continue
                model.validate_json()
        except Exception as error:  # the models raise several kinds on malformed input
            errors.append(f"{error} [json-pointer:{where}]")
            continue
        if raw["type"] == "section" and not raw.get("text") and not raw.get("fields"):
            errors.append(f"must provide either text or fields [json-pointer:{where}]")
    return errors


def with_ids(blocks: list[dict]) -> list[dict]:
    """Copies of `blocks` with the block_id and action_id Slack assigns when they are left out."""
    result = []
    for index, original in enumerate(blocks):
        block = copy.deepcopy(original)
        block.setdefault("block_id", _short_id(f"{index}{block['type']}"))
        held = block.get(INTERACTIVE_HOLDERS.get(block["type"], ""))
        elements = held if isinstance(held, list) else [held] if isinstance(held, dict) else []
        for position, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") != "image":
                element.setdefault("action_id", _short_id(f"{index}.{position}"))
        result.append(block)
    return result


def _short_id(seed: str) -> str:
    return base64.b32encode(seed.encode()).decode().rstrip("=")[:5]


def view_spec(raw: Any, *, home: bool) -> dict:
    if not isinstance(raw, dict):
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing view"]}
        )
    problems = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ViewModel(**raw).validate_json()
    except Exception as error:  # the models raise several kinds on malformed input
        problems.append(f"{error} [json-pointer:/view]")
    kind = raw.get("type")
    if home and kind != "home":
        problems.append("must be home [json-pointer:/view/type]")
    if not home and kind != "modal":
        problems.append("must be modal [json-pointer:/view/type]")
    if kind == "modal" and not raw.get("title"):
        problems.append("missing required field: title [json-pointer:/view/title]")
    blocks = raw.get("blocks", [])
    has_inputs = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if kind == "modal" and has_inputs and not raw.get("submit"):
        problems.append("submit is required when input blocks are present [json-pointer:/view]")
    problems += block_errors(blocks, limit=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    if problems:
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )
    return {**raw, "blocks": with_ids(blocks)}


def _page(items: list, params: dict, *, default_limit: int) -> tuple[list, str]:
    try:
        limit = int(params.get("limit") or default_limit)
    except ValueError as error:
        raise SlackError("invalid_limit") from error
    offset = 0
    cursor = params.get("cursor")
    if cursor:
        try:
            kind, _, number = base64.b64decode(cursor).decode().partition(":")
            offset = int(number)
        except (ValueError, UnicodeDecodeError) as error:
            raise SlackError("invalid_cursor") from error
        if kind != "offset":
            raise SlackError("invalid_cursor")
    limit = max(1, min(limit, 1000))
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    next_cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
    return page, next_cursor


def _within(ts: float, oldest: float, latest: float, inclusive: bool) -> bool:
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest


def _flag(params: dict, name: str) -> bool:
    return _truthy(params.get(name))


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")
