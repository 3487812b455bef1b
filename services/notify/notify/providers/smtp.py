"""E-mail over SMTP (smtplib): UTF-8 plain text with an optional HTML alternative."""
import smtplib
from email.message import EmailMessage
import socket
from email.utils import parseaddr

from motcua.config import env, env_bool, env_float, env_int
from notify.providers.base import OutgoingMessage, ProviderResult


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


class SmtpEmailProvider:
    def __init__(self, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout: float = 10) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout
        self.message_id_domain = parseaddr(sender)[1].rpartition("@")[2] or socket.getfqdn()

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
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(email)
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
