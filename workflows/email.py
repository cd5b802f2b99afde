"""Email: send the approved text over SMTP (aiosmtplib).

SMTP has no idempotency of its own, so the Message-ID is derived from the idempotency key:
a re-send after a lost reply carries the same Message-ID and an `X-Trellis-Idempotency-Key`
header, and mail clients and receivers can recognise it as the same message.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate, getaddresses
from typing import ClassVar

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.errors import ConnectorConfigError, DownstreamError, DownstreamUnavailable
from workflows.base import (
    ActionResult,
    ApprovedAction,
    ConnectorConfig,
    parse_params,
    require_config,
    short_hash,
)

_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _check_address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


class EmailConfig(ConnectorConfig):
    connector: ClassVar[str] = "email"

    host: str
    port: int = Field(587, ge=1, le=65535)
    sender: str
    username: str | None = None
    password_env: str | None = None
    starttls: bool | None = None
    """True: require STARTTLS; False: never; None: use it when the server offers it."""
    tls: bool = False
    """Implicit TLS from the first byte (usually port 465)."""
    validate_certs: bool = True
    timeout: float = Field(30.0, gt=0)

    @field_validator("sender")
    @classmethod
    def _sender_is_address(cls, value: str) -> str:
        return _check_address(value)

    @model_validator(mode="after")
    def _tls_modes_agree(self) -> EmailConfig:
        if self.tls and self.starttls:
            raise ValueError("choose either tls (implicit TLS) or starttls, not both")
        if self.password_env and not self.username:
            raise ValueError("password_env needs a username")
        return self


class EmailParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(min_length=1)
    cc: list[str] = []
    subject: str | None = None
    body: str | None = None

    @field_validator("to", "cc", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        if isinstance(value, str):
            return [addr for _, addr in getaddresses([value]) if addr] or [value]
        return value

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_check_address(v) for v in value]


def message_id_for(idempotency_key: str, sender: str) -> str:
    """The same key always gives the same Message-ID, so a re-send is recognisable."""
    domain = sender.rpartition("@")[2]
    return f"<trellis.{short_hash(idempotency_key, 32)}@{domain}>"


def _one_line(text: str) -> str:
    return " ".join(text.split())


class EmailConnector:
    slug = "email"
    Config = EmailConfig
    Params = EmailParams

    async def execute(
        self, approved: ApprovedAction, *, config: BaseModel, idempotency_key: str
    ) -> ActionResult:
        settings = require_config(EmailConfig, config)
        params = parse_params(EmailParams, approved)
        password = settings.secret("password_env") if settings.password_env else None

        message = EmailMessage()
        message_id = message_id_for(idempotency_key, settings.sender)
        message["From"] = settings.sender
        message["To"] = ", ".join(params.to)
        if params.cc:
            message["Cc"] = ", ".join(params.cc)
        message["Subject"] = _one_line(params.subject or approved.title)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id
        message["X-Trellis-Idempotency-Key"] = _one_line(idempotency_key)
        message["X-Trellis-Action"] = _one_line(approved.action_id)
        message.set_content(params.body if params.body is not None else approved.text)

        try:
            refused, _ = await aiosmtplib.send(
                message,
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=password,
                use_tls=settings.tls,
                start_tls=settings.starttls,
                validate_certs=settings.validate_certs,
                timeout=settings.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise _smtp_error(exc, settings) from exc
        except OSError as exc:
            raise DownstreamUnavailable(
                f"Could not reach the mail server {settings.host}:{settings.port}; "
                "Trellis will try again.",
                detail=repr(exc),
            ) from exc

        to = ", ".join(params.to)
        if params.cc:
            to += f" (cc {', '.join(params.cc)})"
        summary = f"Emailed {to} (message {message_id})"
        if refused:
            summary += f"; the server refused {', '.join(sorted(refused))}"
        return ActionResult(reference=message_id, summary=summary)


def _smtp_error(exc: aiosmtplib.SMTPException, settings: EmailConfig) -> DownstreamError:
    server = f"The mail server {settings.host}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return ConnectorConfigError(
            f"{server} did not accept the email connector's username and password "
            f"({exc.code}). Ask an admin to check them.",
            detail=repr(exc),
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        names = ", ".join(r.recipient for r in exc.recipients)
        if all(400 <= c < 500 for c in codes):
            return DownstreamUnavailable(
                f"{server} temporarily refused {names}; Trellis will try again.", detail=repr(exc)
            )
        return DownstreamError(
            f"{server} refused the recipients {names}.", retryable=False, detail=repr(exc)
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 400 <= exc.code < 500:
            return DownstreamUnavailable(
                f"{server} asked Trellis to try later ({exc.code} {exc.message}).", detail=repr(exc)
            )
        return DownstreamError(
            f"{server} rejected the email ({exc.code} {exc.message}).",
            retryable=False,
            detail=repr(exc),
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return ConnectorConfigError(
            f"{server} does not support what the email connector asks for ({exc}).",
            detail=repr(exc),
        )
    # Disconnected, connect errors and timeouts.
    return DownstreamUnavailable(
        f"{server} did not answer properly ({exc}); Trellis will try again.", detail=repr(exc)
    )
