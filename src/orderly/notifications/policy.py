"""What the deployment's settings decide for notifications: where mail goes, from whom, and
how often a refused mail is tried again."""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from orderly.config import Settings
from orderly.notifications.domain import Backoff


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte; smtp: STARTTLS when the server offers it
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"SmtpServer({self.host}:{self.port}, tls={self.tls})"


def smtp_server(url: str) -> SmtpServer | None:
    """`smtp://[user:password@]host[:port]` or `smtps://…`; an empty url: none."""
    if not url:
        return None
    parts = urlsplit(url)
    tls = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname or "localhost",
        port=parts.port or (465 if tls else 25),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


@dataclass(frozen=True)
class NotificationPolicy:
    server: SmtpServer | None
    sender: str
    backoff: Backoff
    timeout: float = 30.0  # one SMTP conversation
    concurrency: int = 16  # SMTP conversations at once
    batch: int = 64  # mails taken per round


def policy(settings: Settings) -> NotificationPolicy:
    return NotificationPolicy(
        server=smtp_server(settings.smtp_url),
        sender=settings.mail_from,
        backoff=Backoff(retries=settings.mail_retries),
    )
