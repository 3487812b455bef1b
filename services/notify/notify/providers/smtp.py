"""E-mail over SMTP (smtplib): UTF-8 plain text with an optional HTML alternative.

A session (connection, greeting, STARTTLS, login) is kept open after a message and used for the next,
as mail submission clients do: opening one per message was a third of notify's time under load
(issue 15). A session idle longer than `idle_seconds` is closed instead of reused, since servers drop
idle clients; one the server dropped anyway fails at its first command, before any message was
accepted on it, and the message goes out on a new session.
"""
import smtplib
import socket
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr

from motcua.config import env, env_bool, env_float, env_int
from notify.providers.base import OutgoingMessage, ProviderResult


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


class SmtpEmailProvider:
    def __init__(self, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout: float = 10,
                 idle_seconds: float = 30, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout
        self.idle_seconds, self.monotonic = idle_seconds, monotonic
        self.message_id_domain = parseaddr(sender)[1].rpartition("@")[2] or socket.getfqdn()
        self._idle: list[tuple[float, smtplib.SMTP]] = []  # (when it was last used, the open session)

    @classmethod
    def from_env(cls) -> "SmtpEmailProvider":
        """Defaults reach a local mail catcher (compose, `make run`) without credentials."""
        return cls(
            host=env("NOTIFY_SMTP_HOST", "localhost"),
            port=env_int("NOTIFY_SMTP_PORT", 1025),
            sender=env("NOTIFY_SMTP_SENDER", "Mot Cua <no-reply@motcua.localhost>"),
            username=env("NOTIFY_SMTP_USER"),
            password=env("NOTIFY_SMTP_PASSWORD"),
            starttls=env_bool("NOTIFY_SMTP_STARTTLS", False),
            timeout=env_float("NOTIFY_SMTP_TIMEOUT", 10),
        )

    def _build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()  # policy.default: non-ASCII headers go out as RFC 2047 UTF-8
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        # The same for every try of one notification: a send repeated after a crash between the server's
        # "250" and our commit (SMTP has no idempotency key) is one message to mail clients that de-duplicate.
        email["Message-ID"] = f"<{message.notification_id}@{self.message_id_domain}>"
        email["X-Notification-Reference"] = message.reference
        email.set_content(message.body, charset="utf-8")
        if message.html:
            email.add_alternative(message.html, subtype="html", charset="utf-8")
        return email

    def send(self, message: OutgoingMessage) -> ProviderResult:
        try:
            email = self._build(message)
        except ValueError as exc:  # e.g. a line break in the address: never valid, never retried
            return ProviderResult.rejected(f"invalid message: {exc}")
        try:
            self._send(email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            error = f"recipient refused: {code} {reply.decode(errors='replace')}"
            return ProviderResult.rejected(error) if _is_permanent(code) else ProviderResult.transient(error)
        except smtplib.SMTPDataError as exc:
            error = f"data refused: {exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"
            return ProviderResult.rejected(error) if _is_permanent(exc.smtp_code) else ProviderResult.transient(error)
        except (smtplib.SMTPException, OSError) as exc:
            # Connection, timeout, 4xx, and our own side's faults (sender refused, login, STARTTLS):
            # not this address's fault, so retry; exhausted retries make it visible as failed.
            return ProviderResult.transient(f"{type(exc).__name__}: {exc}")
        return ProviderResult.ok(email["Message-ID"])

    def _send(self, email: EmailMessage) -> None:
        while True:
            smtp, reused = self._session()
            try:
                smtp.send_message(email)
            except smtplib.SMTPServerDisconnected:
                _quit(smtp)
                if reused:
                    continue  # dropped while idle: nothing was accepted on it
                raise
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
                self._idle.append((self.monotonic(), smtp))  # smtplib reset the session: it serves the next
                raise
            except BaseException:
                _quit(smtp)
                raise
            self._idle.append((self.monotonic(), smtp))
            return

    def _session(self) -> tuple[smtplib.SMTP, bool]:
        """An open session: (the most recently used idle one, True), else (a new one, False)."""
        now = self.monotonic()
        while self._idle:
            used_at, smtp = self._idle.pop()
            if now - used_at < self.idle_seconds:
                return smtp, True
            _quit(smtp)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            _quit(smtp)
            raise
        return smtp, False

    def close(self) -> None:
        """End the idle sessions (the service is stopping)."""
        while self._idle:
            _quit(self._idle.pop()[1])


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
