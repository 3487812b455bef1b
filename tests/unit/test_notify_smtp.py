"""SmtpEmailProvider against a real local SMTP server (aiosmtpd), reading what arrived."""
import email
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller

from motcua.stack import free_port

from notify.domain.templates import render
from notify.providers.base import EmailProvider, OutgoingMessage
from notify.providers.smtp import SmtpEmailProvider

SENDER = "Một Cửa Hải Phòng <no-reply@motcua.test>"
CONTEXT = {"dossier_code": "000.00.00.H49-261125-0007", "given_name": "An",
           "portal_url": "https://dichvucong.haiphong.gov.vn", "appointment_date": "2026-11-28"}
# Recipients the server treats specially, to produce each SMTP answer.
RCPT_ANSWERS = {"nobody@motcua.test": "550 5.1.1 No such user", "busy@motcua.test": "450 4.2.1 Mailbox busy"}
DATA_ANSWERS = {"spam@motcua.test": "554 5.7.1 Message refused", "full@motcua.test": "452 4.3.1 Storage full"}


class Recorder:
    def __init__(self) -> None:
        self.envelopes = []
        self.sessions = []  # the client's (address, port) of each message accepted: one per connection

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in RCPT_ANSWERS:
            return RCPT_ANSWERS[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        answer = DATA_ANSWERS.get(envelope.rcpt_tos[0])
        if answer:
            return answer
        self.envelopes.append(envelope)
        self.sessions.append(session.peer)
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())  # port 0 is not supported
    controller.start()
    yield controller, recorder
    controller.stop()


def provider(controller, **options) -> SmtpEmailProvider:
    return SmtpEmailProvider(controller.hostname, controller.port, SENDER, **options)


def text(part) -> str:
    return part.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends


def message(to: str = "an@example.vn") -> OutgoingMessage:
    rendered = render("receipt", "email", CONTEXT)
    return OutgoingMessage("n-1", "email", to, rendered.subject, rendered.body, rendered.html, "ref-1")


def test_vietnamese_mail_arrives_with_plain_and_html_parts(smtp_server):
    controller, recorder = smtp_server
    sent = message()
    result = provider(controller).send(sent)
    assert result.accepted and not result.permanent and result.error is None
    [envelope] = recorder.envelopes
    assert envelope.rcpt_tos == ["an@example.vn"]
    raw = envelope.original_content
    assert raw.isascii()  # headers RFC 2047-encoded, bodies transfer-encoded: safe on any relay
    received = email.message_from_bytes(raw, policy=policy.default)
    assert received["Subject"] == sent.subject == "[000.00.00.H49-261125-0007] Tiếp nhận hồ sơ và hẹn trả kết quả"
    assert received["From"] == SENDER and received["To"] == "an@example.vn"
    assert received["Message-ID"] == result.provider_message_id == "<n-1@motcua.test>"
    assert received["X-Notification-Reference"] == "ref-1"
    assert text(received.get_body(("plain",))) == sent.body
    assert received.get_body(("plain",)).get_content_charset() == "utf-8"
    assert text(received.get_body(("html",))) == sent.html.rstrip("\n") + "\n"


def test_every_try_of_one_notification_is_the_same_message(smtp_server):
    """A send repeated (the process died between the server's 250 and the commit) has the first one's Message-ID."""
    controller, recorder = smtp_server
    first, again = provider(controller).send(message()), provider(controller).send(message())
    other = provider(controller).send(OutgoingMessage("n-9", "email", "an@example.vn", "S", "B"))
    assert first.provider_message_id == again.provider_message_id != other.provider_message_id
    received = [email.message_from_bytes(e.original_content, policy=policy.default) for e in recorder.envelopes]
    assert [m["Message-ID"] for m in received] == ["<n-1@motcua.test>", "<n-1@motcua.test>", "<n-9@motcua.test>"]


def test_plain_only_mail(smtp_server):
    controller, recorder = smtp_server
    sent = OutgoingMessage("n-2", "email", "an@example.vn", "Chào Ông/Bà", "Nội dung thư.", None)
    assert provider(controller).send(sent).accepted
    received = email.message_from_bytes(recorder.envelopes[0].original_content, policy=policy.default)
    assert not received.is_multipart() and text(received) == "Nội dung thư.\n"
    assert received["X-Notification-Reference"] == "n-2"


@pytest.mark.parametrize("to, permanent, code", [
    ("nobody@motcua.test", True, "550"), ("busy@motcua.test", False, "450"),
    ("spam@motcua.test", True, "554"), ("full@motcua.test", False, "452"),
])
def test_refusals_are_permanent_only_for_5xx(smtp_server, to, permanent, code):
    controller, recorder = smtp_server
    result = provider(controller).send(message(to))
    assert not result.accepted and result.permanent is permanent and result.retry_after is None
    assert f": {code} " in result.error
    assert recorder.envelopes == []


def test_one_session_carries_message_after_message_also_after_a_refused_recipient(smtp_server):
    controller, recorder = smtp_server
    sender = provider(controller)
    assert sender.send(message()).accepted
    assert not sender.send(message("nobody@motcua.test")).accepted
    assert sender.send(message("binh@example.vn")).accepted
    assert len(recorder.envelopes) == 2 and len(set(recorder.sessions)) == 1
    sender.close()


def test_a_session_idle_too_long_is_closed_and_a_new_one_opened(smtp_server):
    controller, recorder = smtp_server
    seconds = [100.0]
    sender = provider(controller, idle_seconds=30, monotonic=lambda: seconds[0])
    assert sender.send(message()).accepted
    seconds[0] += 31
    assert sender.send(message()).accepted
    assert len(recorder.envelopes) == 2 and len(set(recorder.sessions)) == 2
    sender.close()


def test_a_session_the_server_dropped_while_idle_costs_nothing_but_a_new_one():
    recorder = Recorder()
    # The server closes a client idle for 0.3 s, as mail servers do after their own timeout.
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), timeout=0.3)
    controller.start()
    try:
        sender = provider(controller)
        assert sender.send(message()).accepted
        time.sleep(1)
        result = sender.send(message("binh@example.vn"))
        assert result.accepted, result.error
        assert [e.rcpt_tos for e in recorder.envelopes] == [["an@example.vn"], ["binh@example.vn"]]
        assert len(set(recorder.sessions)) == 2
        sender.close()
    finally:
        controller.stop()


def test_connection_refused_is_transient():
    result = SmtpEmailProvider("127.0.0.1", free_port(), SENDER, timeout=2).send(message())
    assert not result.accepted and not result.permanent and "Connection" in result.error


def test_a_silent_server_times_out_as_transient():
    with socket.socket() as silent:  # accepts the connection (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        result = SmtpEmailProvider("127.0.0.1", silent.getsockname()[1], SENDER, timeout=0.5).send(message())
    assert not result.accepted and not result.permanent and "timed out" in result.error


def test_starttls_refused_by_the_server_is_transient(smtp_server):
    controller, _ = smtp_server
    result = provider(controller, starttls=True).send(message())
    assert not result.accepted and not result.permanent and "STARTTLS" in result.error


def test_a_header_injection_address_is_refused_permanently(smtp_server):
    controller, recorder = smtp_server
    result = provider(controller).send(message("an@example.vn\r\nBcc: all@example.vn"))
    assert not result.accepted and result.permanent
    assert recorder.envelopes == []


def test_from_env(monkeypatch):
    for name in ("HOST", "PORT", "USER", "PASSWORD", "STARTTLS", "SENDER"):
        monkeypatch.delenv(f"NOTIFY_SMTP_{name}", raising=False)
    default = SmtpEmailProvider.from_env()
    assert (default.host, default.port, default.username, default.password, default.starttls) == (
        "localhost", 1025, None, None, False)
    monkeypatch.setenv("NOTIFY_SMTP_HOST", "smtp.haiphong.gov.vn")
    monkeypatch.setenv("NOTIFY_SMTP_PORT", "587")
    monkeypatch.setenv("NOTIFY_SMTP_USER", "motcua")
    monkeypatch.setenv("NOTIFY_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("NOTIFY_SMTP_STARTTLS", "true")
    monkeypatch.setenv("NOTIFY_SMTP_SENDER", "no-reply@haiphong.gov.vn")
    configured = SmtpEmailProvider.from_env()
    assert (configured.host, configured.port, configured.username, configured.password,
            configured.starttls, configured.sender) == (
        "smtp.haiphong.gov.vn", 587, "motcua", "s3cret", True, "no-reply@haiphong.gov.vn")
    assert isinstance(configured, EmailProvider)
