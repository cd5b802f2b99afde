"""Slack over HTTP: the real Bolt app at its request URL, the sandbox signing as Slack does.
Forged, stale, unsigned and replayed requests are refused with 401 and write nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from sqlalchemy import func, select

from app.db.claims import DeliveryClaims
from app.db.models.records import AuditRecord, HandledEvent
from app.db.session import Database
from app.sandbox.http_delivery import request_body, signed_headers
from app.sandbox.socket_mode import EVENTS_API
from handlers.http_mode import SignaturesInDatabase, SignaturesInProcess
from tests.harness import RunningTrellis, blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"
QUESTION = "When is Trail Day in 2026?"


async def written(trellis: RunningTrellis) -> tuple[int, int]:
    """(event claims, audit records) in the database."""
    async with trellis.services.database.session() as session:
        claims = await session.scalar(select(func.count()).select_from(HandledEvent))
        audits = await session.scalar(select(func.count()).select_from(AuditRecord))
    return claims or 0, audits or 0


async def undelivered_question(trellis: RunningTrellis) -> tuple[str, str, dict[str, Any]]:
    """(DM channel, ts, event payload) of a question Slack could not deliver, so a test can
    send it itself."""
    http = trellis.sandbox.http
    assert http is not None
    url, http.request_url, http.max_retries = http.request_url, "", 0
    try:
        sam = trellis.user(SAM)
        ts = await trellis.sandbox.post_message(sam, trellis.bot, QUESTION)
        [delivery] = [d for d in http.deliveries if d.payload.get("event", {}).get("ts") == ts]
        assert await delivery.wait() is None
    finally:
        http.request_url, http.max_retries = url, 3
    return delivery.payload["event"]["channel"], ts, delivery.payload


async def post(url: str, body: str, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, data=body.encode(), headers={"Content-Type": "application/json", **headers}
        ) as response,
    ):
        return response.status


async def test_forged_stale_unsigned_and_replayed_requests_are_refused_and_write_nothing(tmp_path):
    async with running_trellis(tmp_path, slack_mode="http") as trellis:
        assert trellis.request_url is not None and trellis.request_url.endswith("/slack/events")
        secret = trellis.sandbox.signing_secret
        im, ts, payload = await undelivered_question(trellis)
        body, _ = request_body(EVENTS_API, payload)
        now = int(time.time())
        before = await written(trellis)

        tampered = body.replace("Trail Day", "Payroll")
        assert tampered != body
        refused = {
            "tampered body": (tampered, signed_headers(secret, now, body)),
            "wrong signature": (body, signed_headers("not-the-signing-secret", now, body)),
            "stale timestamp": (body, signed_headers(secret, now - 6 * 60, body)),
            "missing signature": (body, {"X-Slack-Request-Timestamp": str(now)}),
            "no headers": (body, {}),
        }
        for what, (sent, headers) in refused.items():
            assert await post(trellis.request_url, sent, headers) == 401, what
        await asyncio.sleep(0.5)
        assert await written(trellis) == before
        assert not trellis.bot_replies(im, ts)

        genuine = signed_headers(secret, now, body)
        assert await post(trellis.request_url, body, genuine) == 200
        answer = await trellis.answer_in_thread(im, ts)
        assert "Trail Day" in blocks_text(answer.blocks)
        await asyncio.sleep(0.5)
        after_answer = await written(trellis)
        assert after_answer[0] > before[0] and after_answer[1] > before[1]

        assert await post(trellis.request_url, body, genuine) == 401  # the same request again
        await asyncio.sleep(0.5)
        assert await written(trellis) == after_answer
        assert len(trellis.bot_replies(im, ts)) == 1


async def test_a_signature_is_let_through_once_per_process_until_it_would_be_stale():
    now = [1_000_000.0]
    seen = SignaturesInProcess(clock=lambda: now[0])
    assert await seen.first_time("v0=abc", 1_000_000)
    assert not await seen.first_time("v0=abc", 1_000_000)
    assert await seen.first_time("v0=def", 1_000_000)
    now[0] += 5 * 60 + 2  # Bolt now refuses the old timestamp; the memory may let it go
    assert await seen.first_time("v0=ghi", 1_000_302)
    assert await seen.first_time("v0=abc", 1_000_000)


async def test_a_replay_is_caught_by_another_replica_sharing_the_database(database):
    # Two replicas: each its own engine and claims on one database (SQLite and PostgreSQL).
    other = Database(database.url)
    try:
        first = SignaturesInDatabase(DeliveryClaims(database))
        second = SignaturesInDatabase(DeliveryClaims(other))
        assert await first.first_time("v0=abc", int(time.time()))
        assert not await second.first_time("v0=abc", int(time.time()))
        assert await second.first_time("v0=def", int(time.time()))
    finally:
        await other.dispose()


async def test_slacks_quick_retry_of_a_request_passes_once_and_is_answered_once(tmp_path):
    # A retry sent within the same second carries the same signature as the request it
    # retries; Slack marks it with X-Slack-Retry-Num.
    async with running_trellis(tmp_path, slack_mode="http") as trellis:
        assert trellis.request_url is not None
        im, ts, payload = await undelivered_question(trellis)
        body, _ = request_body(EVENTS_API, payload)
        headers = signed_headers(trellis.sandbox.signing_secret, int(time.time()), body)
        retry = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
        assert await post(trellis.request_url, body, headers) == 200
        assert await post(trellis.request_url, body, retry) == 200
        assert await post(trellis.request_url, body, retry) == 401  # that retry replayed
        forged = {**headers, "X-Slack-Retry-Num": "7"}  # Slack retries three times at most
        assert await post(trellis.request_url, body, forged) == 401
        await trellis.answer_in_thread(im, ts)
        await asyncio.sleep(0.5)
        assert len(trellis.bot_replies(im, ts)) == 1
