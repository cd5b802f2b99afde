"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives.

It can refuse the next messages with a temporary failure (451, or 421 which also closes the
connection), drop the connection in the middle of a message, and require AUTH.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.peers import free_port


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        peer = self.peer
        with peer._lock:
            peer.attempts += 1
            fault = peer._faults.pop(0) if peer._faults else None
        if fault == "drop":
            assert server.transport is not None
            server.transport.abort()
            return "250 OK"
        if fault is not None:
            if fault.startswith("421"):
                transport = server.transport
                assert transport is not None
                asyncio.get_running_loop().call_soon(transport.close)
            return fault
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        # Stored as a mailbox would: SMTP's CRLF line ends become plain newlines.
        parsed = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with peer._lock:
            peer.messages.append(
                ReceivedMessage(envelope.mail_from or "", tuple(envelope.rcpt_tos), parsed)
            )
        return "250 2.0.0 OK queued"


class SmtpPeer:
    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.username = username
        self.password = password
        self.messages: list[ReceivedMessage] = []
        self.attempts = 0
        self.logins: list[tuple[str, bool]] = []
        self._faults: list[str] = []
        self._lock = threading.Lock()
        kwargs = {}
        if username is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)

    def fail_next(self, count: int = 1, *, code: int = 451) -> None:
        """Refuse the next `count` messages at the end of DATA (421 also closes the connection)."""
        text = {
            421: "421 4.3.2 Service shutting down",
            451: "451 4.3.0 Try again later",
            550: "550 5.7.1 Message rejected as spam",
        }
        with self._lock:
            self._faults += [text.get(code, f"{code} Refused")] * count

    def drop_next(self, count: int = 1) -> None:
        """Cut the connection in the middle of the next `count` messages."""
        with self._lock:
            self._faults += ["drop"] * count

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
        self.logins.append((login, ok))
        return AuthResult(success=ok, handled=False)

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self._controller.start)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self._controller.stop)
