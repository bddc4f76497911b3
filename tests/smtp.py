"""A real SMTP server for tests (aiosmtpd), served in the test's own event loop on a free
port: it keeps what it received, can refuse the first tries with a 451, and waits on what
arrived with a deadline."""

import asyncio
import socket
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.waiting import eventually


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, server: "SmtpServer") -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.server.refusals > 0:
            self.server.refusals -= 1
            self.server.refused += 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, smtp: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.server.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed)
        )
        return "250 Message accepted"


class SmtpServer:
    """`await server.start()` listens on `port` (free, chosen at construction, so a url can
    name it before it listens); `refusals` tries are answered 451 first."""

    def __init__(self, refusals: int = 0) -> None:
        self.port = free_port()
        self.refusals = refusals
        self.refused = 0
        self.received: list[Received] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        handler = _Handler(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="smtp.test"), "127.0.0.1", self.port
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "SmtpServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_for(self, count: int, within: float = 15.0) -> list[Received]:
        """The first `count` messages received, once they have all arrived."""

        async def arrived() -> list[Received] | None:
            return self.received[:count] if len(self.received) >= count else None

        return await eventually(arrived, within)
