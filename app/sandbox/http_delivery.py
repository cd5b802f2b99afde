"""Slack's HTTP side: events, interactive payloads and slash commands POSTed to the app's
request URL, each signed as Slack signs them (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`
with the signing secret, in X-Slack-Request-Timestamp and X-Slack-Signature).

A request is acknowledged by a 2xx answer within the ack timeout (3 seconds, as on Slack); its
body, when there is one, is the ack's payload. Events API requests that fail (a timeout, an
error status, a refused connection) are sent again, up to `max_retries` times, with
X-Slack-Retry-Num and X-Slack-Retry-Reason; interactive payloads and slash commands are not,
and the person is told the app did not answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from app.sandbox.socket_mode import EVENTS_API, Delivery, Envelope, SocketModeGateway

SIGNATURE_VERSION = "v0"


def signature(signing_secret: str, timestamp: int | str, body: str) -> str:
    """The X-Slack-Signature Slack sends with `body` at `timestamp`."""
    base = f"{SIGNATURE_VERSION}:{timestamp}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(signing_secret: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(signing_secret, timestamp, body),
    }


def request_body(type: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(body, content type) of a payload as Slack POSTs it: events as JSON, interactive
    payloads as a form with one `payload` field, slash commands as the command's form."""
    if type == EVENTS_API or payload.get("type") == "url_verification":
        return json.dumps(payload), "application/json"
    if type == "interactive":
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    return urlencode(payload), "application/x-www-form-urlencoded"


@dataclass
class HttpAttempt:
    """One POST to the request URL and how it ended."""

    envelope_id: str
    type: str
    headers: dict[str, str]
    status: int | None = None
    """The app's HTTP status; None when it did not answer in time or could not be reached."""
    failure: str | None = None
    """Slack's retry reason for this attempt: http_timeout, http_error, connection_failed."""


class HttpDelivery(SocketModeGateway):
    """Delivers what the Socket Mode gateway would send, as HTTP requests to `request_url`."""

    def __init__(
        self, *, app_id: str, signing_secret: str, ack_timeout: float = 3.0, max_retries: int = 3
    ) -> None:
        super().__init__(app_id=app_id, ack_timeout=ack_timeout, max_retries=max_retries)
        self.signing_secret = signing_secret
        self.request_url = ""
        self.attempts: list[HttpAttempt] = []
        self._url_set = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    async def set_request_url(self, url: str) -> bool:
        """Point deliveries at `url` once it answers Slack's url_verification challenge."""
        challenge = uuid.uuid4().hex
        payload = {"token": "", "challenge": challenge, "type": "url_verification"}
        status, answer = await self._post(
            url, "url_verification", payload, {}, timestamp=int(time.time())
        )
        if status != 200 or (answer or {}).get("challenge") != challenge:
            return False
        self.request_url = url
        self._url_set.set()
        return True

    async def wait_for_connections(self, count: int = 1) -> None:
        await self._url_set.wait()

    async def close(self) -> None:
        await super().close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self, delivery: Delivery, attempt: int, reason: str, retries: int) -> None:
        timestamp = 0
        for _ in range(retries + 1):
            # Each attempt has its own second, so a retry never repeats an earlier signature.
            timestamp = max(int(time.time()), timestamp + 1)
            envelope = Envelope(
                envelope_id=str(uuid.uuid4()),
                type=delivery.type,
                payload=delivery.payload,
                accepts_response_payload=delivery.accepts_response_payload,
                retry_attempt=attempt,
                retry_reason=reason,
            )
            delivery.envelopes.append(envelope)
            self.envelopes.append(envelope)
            retry = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": reason}
            status, answer = await self._post(
                self.request_url,
                delivery.type,
                delivery.payload,
                retry if attempt else {},
                timestamp=timestamp,
            )
            if status is not None and 200 <= status < 300:
                envelope.acked, envelope.ack_payload = True, answer or {}
                delivery.settle(envelope.ack_payload)
                return
            attempt, reason = attempt + 1, self.attempts[-1].failure or "unknown_error"
        delivery.settle(None)

    async def _post(
        self, url: str, type: str, payload: dict[str, Any], extra: dict[str, str], *, timestamp: int
    ) -> tuple[int | None, dict[str, Any] | None]:
        body, content_type = request_body(type, payload)
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **signed_headers(self.signing_secret, timestamp, body),
            **extra,
        }
        attempt = HttpAttempt(str(uuid.uuid4()), type, headers)
        self.attempts.append(attempt)
        if not url:
            attempt.failure = "connection_failed"
            return None, None
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
        try:
            async with self._session.post(
                url, data=body.encode(), headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                attempt.status = response.status
                text = await response.text()
        except TimeoutError:
            attempt.failure = "http_timeout"
            return None, None
        except aiohttp.ClientError:
            attempt.failure = "connection_failed"
            return None, None
        if not 200 <= response.status < 300:
            attempt.failure = "http_error"
            return response.status, None
        return response.status, _ack_payload(text)


def _ack_payload(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    with contextlib.suppress(json.JSONDecodeError):
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            return parsed
    return {"text": text}
