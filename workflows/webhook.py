"""Webhook: POST the approved action as signed JSON.

The receiver authenticates the call with `X-Trellis-Signature: sha256=<hex>`, the HMAC-SHA256
of `"{timestamp}.{body}"` under the shared secret, and rejects stale timestamps. It
deduplicates on the `Idempotency-Key` header, which stays the same across retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

import aiohttp
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from app.errors import ConnectorConfigError, DownstreamUnavailable
from workflows.base import (
    ActionResult,
    ApprovedAction,
    ConnectorConfig,
    error_for_status,
    parse_params,
    require_config,
)


class WebhookConfig(ConnectorConfig):
    connector: ClassVar[str] = "webhook"

    secret_env: str
    url: AnyHttpUrl | None = None
    """The default target; an action's `with: {url: …}` overrides it."""
    timeout: float = Field(10.0, gt=0)


class WebhookParams(BaseModel):
    """`url` picks the target; every other `with:` field is passed on in `params`."""

    model_config = ConfigDict(extra="allow")

    url: AnyHttpUrl | None = None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def payload(approved: ApprovedAction, params: WebhookParams, idempotency_key: str) -> bytes:
    document: dict[str, Any] = {
        "idempotency_key": idempotency_key,
        "action_id": approved.action_id,
        "draft_id": approved.draft_id,
        "workflow": approved.workflow,
        "title": approved.title,
        "text": approved.text,
        "params": params.model_extra or {},
        "requester": approved.requester_email,
        "approvers": list(approved.approved_by),
        "draft_hash": approved.draft_hash,
        "thread": approved.thread,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookConnector:
    slug = "webhook"
    Config = WebhookConfig
    Params = WebhookParams

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._clock = clock

    async def execute(
        self, approved: ApprovedAction, *, config: BaseModel, idempotency_key: str
    ) -> ActionResult:
        settings = require_config(WebhookConfig, config)
        params = parse_params(WebhookParams, approved)
        url = params.url or settings.url
        if url is None:
            raise ConnectorConfigError(
                f"The webhook action of workflow {approved.workflow} has no url, and the "
                "webhook connector has no default url."
            )
        secret = settings.secret("secret_env")
        body = payload(approved, params, idempotency_key)
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            "X-Trellis-Timestamp": timestamp,
            "X-Trellis-Signature": sign(secret, timestamp, body),
        }
        target = str(url)
        host = url.host or target

        if self._session is not None:
            reply = await self._post(self._session, target, host, body, headers, settings)
        else:
            async with aiohttp.ClientSession() as session:
                reply = await self._post(session, target, host, body, headers, settings)

        reference = _reply_id(reply) or idempotency_key
        return ActionResult(reference=reference, summary=f"Sent to {host} (delivery {reference})")

    async def _post(
        self,
        session: aiohttp.ClientSession,
        url: str,
        host: str,
        body: bytes,
        headers: dict[str, str],
        settings: WebhookConfig,
    ) -> Any:
        system = f"The webhook at {host}"
        try:
            async with session.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=settings.timeout),
                allow_redirects=False,
            ) as response:
                text = await response.text(errors="replace")
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError as exc:
            raise DownstreamUnavailable(
                f"{system} did not answer within {settings.timeout:g}s; Trellis will try again.",
                detail=repr(exc),
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise ConnectorConfigError(f"The webhook url {url} is not valid.") from exc
        except aiohttp.ClientError as exc:
            raise DownstreamUnavailable(
                f"{system} could not be reached ({type(exc).__name__}); Trellis will try again.",
                detail=repr(exc),
            ) from exc
        try:
            reply = json.loads(text) if text.strip() else None
        except json.JSONDecodeError:
            reply = None
        if status >= 300:
            raise error_for_status(
                system, status, retry_after=retry_after, problem=_problem(reply, text)
            )
        return reply


def _problem(reply: Any, text: str) -> str:
    """What the receiver said went wrong: its JSON error message, else the start of its body."""
    if isinstance(reply, dict):
        for name in ("error", "message", "detail"):
            message = reply.get(name)
            if isinstance(message, str):
                return message[:200]
    return text[:200]


def _reply_id(reply: Any) -> str | None:
    if isinstance(reply, dict):
        for name in ("id", "reference", "delivery_id"):
            value = reply.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return None
