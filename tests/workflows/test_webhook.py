"""The webhook connector against a real aiohttp receiver on loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from app.errors import ConnectorConfigError, DownstreamError, DownstreamUnavailable
from tests.peers import approved_action, free_port
from tests.peers.webhook_receiver import WebhookReceiver
from workflows.registry import validate_config
from workflows.webhook import WebhookConnector

SECRET = "whsec-test-1"
ENV = {"TRELLIS_WEBHOOK_SECRET": SECRET}
KEY = "outbox:act-1:1"


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(secret=SECRET) as peer:
        yield peer


def config(env: dict[str, str] = ENV, **changes: object):
    return validate_config("webhook", {"secret_env": "TRELLIS_WEBHOOK_SECRET", **changes}, env)


async def deliver(
    receiver: WebhookReceiver,
    *,
    key: str = KEY,
    connector: WebhookConnector | None = None,
    params: dict | None = None,
    **changes: object,
):
    action = approved_action(
        "webhook", params if params is not None else {"url": receiver.hook_url, "tier": "gold"}
    )
    return await (connector or WebhookConnector()).execute(
        action, config=config(**changes), idempotency_key=key
    )


async def test_the_action_is_posted_signed_with_every_field(receiver: WebhookReceiver) -> None:
    result = await deliver(receiver)

    delivery = receiver.deliveries[KEY]
    assert result.reference == delivery.id == "dlv_1"
    assert result.summary == "Sent to 127.0.0.1 (delivery dlv_1)"
    assert delivery.headers["Idempotency-Key"] == KEY
    assert delivery.headers["X-Trellis-Signature"].startswith("sha256=")
    assert abs(int(delivery.headers["X-Trellis-Timestamp"]) - time.time()) < 60
    assert delivery.body == {
        "idempotency_key": KEY,
        "action_id": "act-1",
        "draft_id": "drf-1",
        "workflow": "discount_request",
        "title": "Discount for Initech",
        "text": "Hello Jane,\n\nWe can offer Initech 15% off this renewal.\nThanks for your patience.",
        "params": {"tier": "gold"},
        "requester": "ana@acme.example",
        "approvers": ["bo@acme.example"],
        "draft_hash": "sha256:5f1c",
        "thread": "https://acme.slack.com/archives/C0DEALS01/p1700000000000100",
    }
    assert receiver.rejected == []


async def test_a_repeat_with_the_same_key_is_delivered_once(receiver: WebhookReceiver) -> None:
    first = await deliver(receiver)
    again = await deliver(receiver)
    other = await deliver(receiver, key="outbox:act-2:1")

    assert again.reference == first.reference
    assert other.reference != first.reference
    assert receiver.attempts[KEY] == 2
    assert list(receiver.deliveries) == [KEY, "outbox:act-2:1"]


async def test_the_connector_url_is_the_default_target(receiver: WebhookReceiver) -> None:
    await deliver(receiver, params={}, url=receiver.hook_url)
    assert list(receiver.deliveries) == [KEY]


async def test_without_any_url_the_action_is_a_configuration_error() -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        await WebhookConnector().execute(
            approved_action("webhook", {}), config=config(), idempotency_key=KEY
        )
    assert caught.value.retryable is False
    assert "url" in caught.value.user_message


async def test_a_wrong_secret_is_refused_and_not_retryable(receiver: WebhookReceiver) -> None:
    with pytest.raises(DownstreamError) as caught:
        await deliver(receiver, env={"TRELLIS_WEBHOOK_SECRET": "not-the-secret"})
    assert caught.value.retryable is False
    assert "HTTP 401: bad signature" in caught.value.user_message
    assert receiver.rejected == ["bad signature"] and receiver.deliveries == {}


async def test_a_stale_timestamp_is_refused(receiver: WebhookReceiver) -> None:
    an_hour_ago = WebhookConnector(clock=lambda: time.time() - 3600)
    with pytest.raises(DownstreamError) as caught:
        await deliver(receiver, connector=an_hour_ago)
    assert caught.value.retryable is False
    assert receiver.rejected == ["stale timestamp"]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_retryable_and_the_retry_delivers_once(
    receiver: WebhookReceiver, status: int
) -> None:
    receiver.faults.status(status)

    with pytest.raises(DownstreamUnavailable) as caught:
        await deliver(receiver)
    assert caught.value.retryable is True
    assert str(status) in caught.value.user_message

    await deliver(receiver)
    assert receiver.attempts[KEY] == 1


async def test_throttling_is_retryable_and_carries_retry_after(receiver: WebhookReceiver) -> None:
    receiver.faults.throttle("7")

    with pytest.raises(DownstreamUnavailable) as caught:
        await deliver(receiver)
    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0
    assert receiver.deliveries == {}


async def test_a_reply_slower_than_the_timeout_is_retryable_and_not_delivered_twice(
    receiver: WebhookReceiver,
) -> None:
    receiver.faults.slow(5.0, after=True)

    with pytest.raises(DownstreamUnavailable) as caught:
        await deliver(receiver, timeout=0.3)
    assert caught.value.retryable is True
    assert "0.3s" in caught.value.user_message

    retried = await deliver(receiver)
    assert retried.reference == "dlv_1"
    assert receiver.attempts[KEY] == 2 and len(receiver.deliveries) == 1


async def test_a_reset_connection_is_retryable(receiver: WebhookReceiver) -> None:
    receiver.faults.reset()

    with pytest.raises(DownstreamUnavailable) as caught:
        await deliver(receiver)
    assert caught.value.retryable is True
    assert receiver.deliveries == {}

    await deliver(receiver)
    assert len(receiver.deliveries) == 1


async def test_an_unreachable_receiver_is_retryable() -> None:
    with pytest.raises(DownstreamUnavailable):
        await WebhookConnector().execute(
            approved_action("webhook", {"url": f"http://127.0.0.1:{free_port()}/hook"}),
            config=config(),
            idempotency_key=KEY,
        )


async def test_an_injected_session_is_used_and_left_open(receiver: WebhookReceiver) -> None:
    async with aiohttp.ClientSession(headers={"User-Agent": "trellis-test"}) as session:
        await deliver(receiver, connector=WebhookConnector(session=session))
        assert not session.closed
        assert receiver.deliveries[KEY].headers["User-Agent"] == "trellis-test"


async def test_a_missing_secret_is_a_clear_configuration_error(receiver: WebhookReceiver) -> None:
    with pytest.raises(ConnectorConfigError) as at_load:
        config(env={})
    assert at_load.value.retryable is False
    assert "TRELLIS_WEBHOOK_SECRET" in at_load.value.user_message

    unbound = validate_config(
        "webhook", {"secret_env": "TRELLIS_WEBHOOK_SECRET"}, {}, require_secrets=False
    )
    with pytest.raises(ConnectorConfigError):
        await WebhookConnector().execute(
            approved_action("webhook", {"url": receiver.hook_url}),
            config=unbound,
            idempotency_key=KEY,
        )
    assert receiver.attempts == {}
