"""A webhook receiver that checks Trellis's signature and deduplicates on Idempotency-Key."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.peers import HttpPeer


@dataclass
class Delivery:
    id: str
    key: str
    body: dict[str, Any]
    headers: dict[str, str]


class WebhookReceiver(HttpPeer):
    """POST {path}: 201 {"id"} for a new key, 200 with the same id for a repeat key.

    401 for a missing or wrong signature and for a timestamp older or newer than
    `tolerance` seconds; 400 without an Idempotency-Key or with a body that is not JSON.
    """

    def __init__(
        self,
        *,
        secret: str,
        path: str = "/hooks/trellis",
        tolerance: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.secret = secret
        self.path = path
        self.tolerance = tolerance
        self.clock = clock
        self.deliveries: dict[str, Delivery] = {}
        self.attempts: Counter[str] = Counter()
        self.rejected: list[str] = []

    @property
    def hook_url(self) -> str:
        return f"{self.url}{self.path}"

    def routes(self, app: web.Application) -> None:
        app.router.add_post(self.path, self._receive)

    def _refuse(self, status: int, reason: str) -> web.Response:
        self.rejected.append(reason)
        return web.json_response({"error": reason}, status=status)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Trellis-Timestamp", "")
        signature = request.headers.get("X-Trellis-Signature", "")
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(signature, f"sha256={expected}"):
            return self._refuse(401, "bad signature")
        try:
            age = abs(self.clock() - int(timestamp))
        except ValueError:
            return self._refuse(401, "bad timestamp")
        if age > self.tolerance:
            return self._refuse(401, "stale timestamp")
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self._refuse(400, "missing Idempotency-Key")
        try:
            document = json.loads(body)
        except json.JSONDecodeError:
            return self._refuse(400, "body is not JSON")

        self.attempts[key] += 1
        earlier = self.deliveries.get(key)
        if earlier is not None:
            return web.json_response({"id": earlier.id, "duplicate": True})
        delivery = Delivery(
            id=f"dlv_{len(self.deliveries) + 1}",
            key=key,
            body=document,
            headers=dict(request.headers),
        )
        self.deliveries[key] = delivery
        return web.json_response({"id": delivery.id, "duplicate": False}, status=201)
