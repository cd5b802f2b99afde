"""The email connector against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.errors import ConnectorConfigError, DownstreamError, DownstreamUnavailable
from tests.peers import approved_action, free_port
from tests.peers.smtp import SmtpPeer
from workflows.registry import get_connector, validate_config

KEY = "outbox:act-1:0"
PARAMS = {"to": "jane@client.example", "cc": ["bo@acme.example"], "subject": "Your renewal"}


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpPeer]:
    async with SmtpPeer() as peer:
        yield peer


def config_for(peer: SmtpPeer, env: dict[str, str] | None = None, **changes: object):
    raw = {
        "host": peer.host,
        "port": peer.port,
        "sender": "trellis@acme.example",
        "starttls": False,
        "timeout": 5,
        **changes,
    }
    return validate_config("email", raw, env or {})


async def send(peer: SmtpPeer, params=PARAMS, key: str = KEY, **changes: object):
    connector = get_connector("email")
    action = approved_action("email", params)
    return await connector.execute(action, config=config_for(peer, **changes), idempotency_key=key)


async def test_approved_text_is_emailed_with_a_message_id_from_the_key(smtp: SmtpPeer) -> None:
    result = await send(smtp)

    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    message = received.message
    assert received.mail_from == "trellis@acme.example"
    assert set(received.rcpt_tos) == {"jane@client.example", "bo@acme.example"}
    assert message["To"] == "jane@client.example"
    assert message["Cc"] == "bo@acme.example"
    assert message["Subject"] == "Your renewal"
    assert message["X-Trellis-Idempotency-Key"] == KEY
    assert received.message_id == result.reference
    assert result.reference.startswith("<trellis.") and result.reference.endswith("@acme.example>")
    assert "15% off this renewal" in message.get_content()
    assert result.summary == (
        f"Emailed jane@client.example (cc bo@acme.example) (message {result.reference})"
    )


async def test_subject_defaults_to_the_title_and_body_to_the_approved_text(smtp: SmtpPeer) -> None:
    await send(smtp, {"to": ["jane@client.example"]})

    message = smtp.messages[0].message
    assert message["Subject"] == "Discount for Initech"
    assert message.get_content().strip() == (
        "Hello Jane,\n\nWe can offer Initech 15% off this renewal.\nThanks for your patience."
    )


async def test_a_resend_with_the_same_key_reuses_the_message_id(smtp: SmtpPeer) -> None:
    first = await send(smtp)
    again = await send(smtp)
    other = await send(smtp, key="outbox:act-2:0")

    ids = [m.message_id for m in smtp.messages]
    assert ids == [first.reference, first.reference, other.reference]
    assert again.reference == first.reference
    assert other.reference != first.reference


async def test_a_subject_cannot_inject_headers(smtp: SmtpPeer) -> None:
    await send(smtp, {**PARAMS, "subject": "Hi\r\nBcc: mallory@evil.example"})

    message = smtp.messages[0].message
    assert message["Subject"] == "Hi Bcc: mallory@evil.example"
    assert message["Bcc"] is None
    assert "mallory@evil.example" not in smtp.messages[0].rcpt_tos


@pytest.mark.parametrize("code", [451, 421])
async def test_a_temporary_refusal_is_retryable_and_the_retry_delivers(
    smtp: SmtpPeer, code: int
) -> None:
    smtp.fail_next(code=code)

    with pytest.raises(DownstreamUnavailable) as caught:
        await send(smtp)
    assert caught.value.retryable is True
    assert str(code) in caught.value.user_message
    assert smtp.messages == []

    await send(smtp)
    assert len(smtp.messages) == 1


async def test_a_permanent_refusal_is_not_retryable(smtp: SmtpPeer) -> None:
    smtp.fail_next(code=550)

    with pytest.raises(DownstreamError) as caught:
        await send(smtp)
    assert caught.value.retryable is False
    assert "550" in caught.value.user_message


async def test_a_dropped_connection_is_retryable(smtp: SmtpPeer) -> None:
    smtp.drop_next()

    with pytest.raises(DownstreamError) as caught:
        await send(smtp)
    assert caught.value.retryable is True
    assert smtp.attempts == 1 and smtp.messages == []


async def test_an_unreachable_server_is_retryable(smtp: SmtpPeer) -> None:
    with pytest.raises(DownstreamError) as caught:
        await send(smtp, port=free_port())
    assert caught.value.retryable is True


async def test_the_password_comes_from_the_injected_environment() -> None:
    async with SmtpPeer(username="trellis", password="s3cret") as peer:
        config = config_for(
            peer, {"SMTP_PASSWORD": "s3cret"}, username="trellis", password_env="SMTP_PASSWORD"
        )
        assert "s3cret" not in repr(config) and "s3cret" not in str(config.model_dump())
        result = await get_connector("email").execute(
            approved_action("email", PARAMS), config=config, idempotency_key=KEY
        )

        assert peer.logins == [("trellis", True)]
        assert [m.message_id for m in peer.messages] == [result.reference]


async def test_a_wrong_password_is_a_non_retryable_configuration_error() -> None:
    async with SmtpPeer(username="trellis", password="s3cret") as peer:
        config = config_for(
            peer, {"SMTP_PASSWORD": "wrong"}, username="trellis", password_env="SMTP_PASSWORD"
        )
        with pytest.raises(ConnectorConfigError) as caught:
            await get_connector("email").execute(
                approved_action("email", PARAMS), config=config, idempotency_key=KEY
            )
        assert caught.value.retryable is False
        assert peer.messages == []


async def test_a_missing_password_is_a_clear_configuration_error(smtp: SmtpPeer) -> None:
    raw = {
        "host": smtp.host,
        "port": smtp.port,
        "sender": "trellis@acme.example",
        "username": "trellis",
        "password_env": "SMTP_PASSWORD",
    }
    with pytest.raises(ConnectorConfigError) as at_load:
        validate_config("email", raw, {})
    assert at_load.value.retryable is False
    assert "SMTP_PASSWORD" in at_load.value.user_message

    config = validate_config("email", raw, {}, require_secrets=False)
    with pytest.raises(ConnectorConfigError) as at_send:
        await get_connector("email").execute(
            approved_action("email", PARAMS), config=config, idempotency_key=KEY
        )
    assert "SMTP_PASSWORD" in at_send.value.user_message
    assert smtp.attempts == 0


async def test_invalid_action_settings_are_not_retryable(smtp: SmtpPeer) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        await send(smtp, {"to": "not-an-address"})
    assert caught.value.retryable is False
    assert "to" in caught.value.user_message
    assert smtp.attempts == 0


def test_an_invalid_connector_setting_is_reported_with_its_name() -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        validate_config("email", {"host": "smtp.acme.example", "sender": "nobody"}, {})
    assert "sender" in caught.value.user_message
