"""A mail server (aiosmtpd) on a free loopback port that keeps every message it accepts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session

from app.sandbox.systems.base import HOST, Received

HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "X-Trellis-Idempotency-Key",
    "X-Trellis-Action",
)


class MailStandIn:
    def __init__(self, *, changed: Callable[[], None]) -> None:
        self.changed = changed
        self.port = 0
        self.received: list[Received] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    async def start(self) -> None:
        # aiosmtpd tells every connection and command at INFO; what was received shows in
        # the Systems view instead.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="mail.sandbox.trellis", loop=loop), HOST, 0
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        message = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        fields = [(name, str(message[name])) for name in HEADERS if message[name] is not None]
        fields.append(("Envelope", f"from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}"))
        key = message["X-Trellis-Idempotency-Key"]
        self.received.append(
            Received(
                system="email",
                id=str(message["Message-ID"] or f"message-{len(self.received) + 1}"),
                title=str(message["Subject"] or "(no subject)"),
                fields=fields,
                body=str(body).strip(),
                key=str(key) if key else None,
            )
        )
        self.changed()
        return "250 Message accepted for delivery"
