"""A real local SMTP server (aiosmtpd) that keeps every message it accepted, as a mailbox would.

    with Mailbox() as mailbox:
        ...SmtpEmailProvider("127.0.0.1", mailbox.port, ...)
        mailbox.messages[0]["Subject"]
"""
import email
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from motcua.stack import free_port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())  # aiosmtpd's Controller cannot take port 0

    @property
    def port(self) -> int:
        return self._controller.port

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def __enter__(self) -> "Mailbox":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
