"""A webhook receiver that checks what a real receiver of Trellis's webhooks must check.

POST to any path: the `X-Trellis-Signature` must be `sha256=` and the HMAC-SHA256 of
`"{X-Trellis-Timestamp}.{body}"` under the shared secret, the timestamp within five minutes,
and an `Idempotency-Key` present. A new key is answered 201 with a delivery id, a repeated key
200 with the first delivery's id; a bad signature 401. Refusals are kept too, so the
Systems view shows a delivery that did not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

from aiohttp import web

from app.sandbox.systems.base import HttpStandIn, Received

TOLERANCE_SECONDS = 300.0


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class WebhookStandIn(HttpStandIn):
    def __init__(self, *, secret: str, changed: Callable[[], None]) -> None:
        super().__init__(changed)
        self.secret = secret
        self.received: list[Received] = []
        self._by_key: dict[str, Received] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{path:.*}", self.receive)

    def delivery(self, key: str) -> Received | None:
        return self._by_key.get(key)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Trellis-Timestamp", "")
        signature = request.headers.get("X-Trellis-Signature", "")
        key = request.headers.get("Idempotency-Key", "")
        refusal = self._refusal(timestamp, signature, body, key)
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            document = None
            refusal = refusal or (400, "the body is not JSON")
        problem = refusal[1] if refusal else None
        if refusal is None and key in self._by_key:
            earlier = self._by_key[key]
            earlier.fields.append(("Repeated", f"once more at {_clock(time.time())}, not applied"))
            self.changed()
            return web.json_response({"id": earlier.id, "duplicate": True})

        record = Received(
            system="webhook",
            id=f"dlv_{len(self.received) + 1}",
            title=f"POST {request.path}",
            fields=[
                ("Signature", "verified (HMAC-SHA256)" if problem is None else problem),
                ("Idempotency-Key", key or "(none)"),
                ("X-Trellis-Timestamp", timestamp or "(none)"),
                ("X-Trellis-Signature", signature or "(none)"),
            ],
            body=json.dumps(document, indent=2, ensure_ascii=False)
            if document is not None
            else body.decode(errors="replace"),
            key=key or None,
            verified=problem is None,
        )
        self.received.append(record)
        self.changed()
        if refusal is not None:
            return web.json_response({"error": refusal[1]}, status=refusal[0])
        self._by_key[key] = record
        return web.json_response({"id": record.id, "duplicate": False}, status=201)

    def _refusal(
        self, timestamp: str, signature: str, body: bytes, key: str
    ) -> tuple[int, str] | None:
        """(HTTP status, why) when the delivery must be refused."""
        if not hmac.compare_digest(signature, expected_signature(self.secret, timestamp, body)):
            return 401, "the signature does not verify"
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            return 401, "the timestamp is not a number"
        if age > TOLERANCE_SECONDS:
            return 401, f"the timestamp is {age:.0f} s old"
        if not key:
            return 400, "no Idempotency-Key"
        return None


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment))
