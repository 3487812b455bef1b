"""notify as a nameko service against the real RabbitMQ and PostgreSQL, a real SMTP server (aiosmtpd) and
the fake SMS gateway: events in, messages out, exactly once, with retries that end and signed receipts.

Time is an injected clock: quiet hours and retry backoff are crossed by moving it, not by waiting."""
import email
import hashlib
import json
import socket
import time
from datetime import date, datetime, timedelta, timezone
from email import policy

import eventlet
import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter, replace_dependencies

from motcua.db import make_engine
from motcua.envelope import make_envelope
from motcua.errors import NotFound, ValidationFailed
from motcua.webhooks import sign
from notify.models import notification
from notify.service import Service
from tests.support import take_messages
from tests.conftest import truncate_all
from tests.fakes.sms_gateway import FakeSmsGateway

AGENCY = "000.00.00.H49"
CODE = f"{AGENCY}-261125-0007"
OFFICIAL = {"kind": "official", "id": "official-42", "agency_code": AGENCY}
SECRET = "receipt-secret-for-tests"
DAYTIME = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hai Phong
NIGHT = datetime(2026, 11, 25, 15, 30, tzinfo=timezone.utc)  # 22:30 in Hai Phong


class Clock:
    """The service's clock in a test: stands still until moved."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class SmtpInbox:
    """aiosmtpd handler keeping every message that arrived."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def database_url(postgres_database):
    return postgres_database("notify")


@pytest.fixture
def smtp():
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def gateway():
    with FakeSmsGateway() as fake:
        yield fake


@pytest.fixture
def clock():
    return Clock(DAYTIME)


@pytest.fixture
def config(rabbit_config, web_config, database_url, smtp, gateway, monkeypatch):
    truncate_all(database_url)
    for name, value in {
        "NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(smtp[1]), "NOTIFY_SMS_URL": gateway.url,
        "NOTIFY_SMS_TIMEOUT": "1", "NOTIFY_SEND_INTERVAL_SECONDS": "0.05", "NOTIFY_MAX_ATTEMPTS": "3",
        "NOTIFY_RETRY_BASE_SECONDS": "30", "NOTIFY_SMS_CALLBACK_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    return {**rabbit_config, **web_config, "DATABASE_URL": database_url}


@pytest.fixture
def notify(container_factory, config, clock):
    container = container_factory(Service, config)
    replace_dependencies(container, clock=clock)
    container.start()
    return container


def publish(container, producer, event_type, data, envelope=None):
    envelope = envelope or make_envelope(event_type, producer=producer, data=data, dossier_code=data["dossier_code"])
    with entrypoint_waiter(container, f"on_{event_type}", timeout=10):
        with Connection(container.config["AMQP_URI"]) as conn:
            exchange = Exchange(f"{producer}.events", type="topic", durable=True)
            conn.Producer().publish(envelope, exchange=exchange, routing_key=event_type, serializer="json",
                                    delivery_mode=2, declare=[exchange])
    return envelope


def submit(container, phone="0912345678", mail="an@example.vn", prefs=None):
    publish(container, "intake", "dossier_submitted", {
        "dossier_code": CODE, "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh",
        "procedure_version": 1, "agency_code": AGENCY, "channel": "online", "return_method": "counter",
        "submitted_at": datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc), "appointment_date": date(2026, 11, 27),
        "time_limit_working_days": "2", "cutoff_hour": "15:00", "tracking_key_hash": hashlib.sha256(b"k").hexdigest(),
        "applicant": {"full_name": "Nguyễn Văn An", "phone": phone, "email": mail},
        "form": {}, "attachments": [], "fees_vnd": None, "notification_preferences": prefs,
    })


def received(container, envelope=None):
    return publish(container, "status", "dossier_received", {
        "dossier_code": CODE, "procedure_code": "1.001193", "action": "accept", "from_state": "submitted",
        "to_state": "received", "national_status_code": 2, "agency_code": AGENCY, "channel": "online",
        "actor": OFFICIAL, "appointment_date": date(2026, 11, 27),
    }, envelope)


def completed(container):
    """A notice that is not legally required (result ready): preferences and opt-out apply."""
    return publish(container, "status", "dossier_completed", {
        "dossier_code": CODE, "procedure_code": "1.001193", "action": "complete", "from_state": "in_progress",
        "to_state": "completed", "national_status_code": 4, "agency_code": AGENCY, "channel": "online",
        "actor": OFFICIAL, "appointment_date": date(2026, 11, 27),
    })


def rows(url):
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.select(notification).order_by(notification.c.channel)).mappings().all()
    engine.dispose()
    return {row["channel"]: row for row in found}


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        eventlet.sleep(0.05)
    raise AssertionError("condition not met in time")


def wait_status(url, channel, status, attempts=None):
    return wait_for(lambda: (row := rows(url).get(channel)) is not None and row["status"] == status
                    and (attempts is None or row["attempts"] == attempts) and row)


def metrics(port):
    return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def test_the_receipt_goes_by_email_and_sms_once_even_when_the_event_is_redelivered(
        notify, config, database_url, smtp, gateway, web_config_port):
    submit(notify)
    envelope = received(notify)
    received(notify, envelope)  # the broker delivers it again

    wait_status(database_url, "email", "sent")
    sms = wait_status(database_url, "sms", "sent")
    eventlet.sleep(0.3)  # a few more timer ticks: nothing else goes out
    inbox, _ = smtp
    [mail] = inbox.messages
    content = mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content()
    assert mail["To"] == "an@example.vn" and CODE in content
    assert "An" in content and "Nguyễn" not in content + mail["Subject"]  # the given name only
    [request] = gateway.requests
    assert request.json["to"] == "0912345678" and CODE in request.json["text"]
    assert (sms["template_id"], sms["attempts"], sms["provider_message_id"]) == ("receipt", 1, "fake-1")
    assert (sms["encoding"], sms["length"]) == ("UCS-2", len(request.json["text"]))
    assert len(rows(database_url)) == 2
    text = metrics(web_config_port)
    assert 'motcua_notifications_total{channel="sms",outcome="sent",template="receipt"} 1.0' in text
    assert 'motcua_notification_event_to_send_seconds_count{channel="email",template="receipt"}' in text


def test_quiet_hours_hold_the_sms_until_morning_but_not_the_email(notify, database_url, smtp, gateway, clock):
    clock.now = NIGHT
    submit(notify)
    received(notify)
    wait_status(database_url, "email", "sent")
    held = wait_status(database_url, "sms", "held")
    assert held["not_before"] == datetime(2026, 11, 26, 0, 0, tzinfo=timezone.utc)  # 07:00 in Hai Phong
    eventlet.sleep(0.3)
    assert gateway.requests == [] and len(smtp[0].messages) == 1

    clock.now = datetime(2026, 11, 26, 0, 0, 1, tzinfo=timezone.utc)
    wait_status(database_url, "sms", "sent")
    assert len(gateway.requests) == 1


def test_a_rate_limited_sms_is_sent_after_its_retry_after(notify, database_url, gateway, clock):
    gateway.respond(("429", 60))
    submit(notify, mail=None)
    received(notify)
    waiting = wait_status(database_url, "sms", "queued", attempts=1)
    assert waiting["not_before"] == DAYTIME + timedelta(seconds=60) and "429" in waiting["last_error"]
    eventlet.sleep(0.2)
    assert len(gateway.requests) == 1  # not before the gateway said

    clock.advance(60)
    sent = wait_status(database_url, "sms", "sent", attempts=2)
    assert sent["last_error"] is None and len(gateway.requests) == 2


def test_a_gateway_failing_forever_ends_failed_after_the_bound_with_an_event(
        notify, config, database_url, gateway, clock, web_config_port):
    with Connection(config["AMQP_URI"]) as conn:
        Queue("test-notification-failed", exchange=Exchange("notify.events", type="topic", durable=True),
              routing_key="notification_failed")(conn.default_channel).declare()
    gateway.respond("500", "500", "500", "500")
    submit(notify, mail=None)
    received(notify)
    for attempt, backoff in ((1, 30), (2, 60)):  # exponential from NOTIFY_RETRY_BASE_SECONDS=30
        row = wait_status(database_url, "sms", "queued", attempts=attempt)
        assert row["not_before"] == clock.now + timedelta(seconds=backoff)
        clock.advance(backoff)
    failed = wait_status(database_url, "sms", "failed", attempts=3)  # NOTIFY_MAX_ATTEMPTS=3
    assert "HTTP 500" in failed["last_error"]

    [event] = take_messages(config["AMQP_URI"], "test-notification-failed", 1)
    assert (event["producer"], event["event_type"], event["dossier_code"]) == ("notify", "notification_failed", CODE)
    assert event["data"] == {"notification_id": str(failed["id"]), "dossier_code": CODE, "channel": "sms",
                             "template_id": "receipt", "attempts": 3, "error": failed["last_error"]}
    clock.advance(3600)
    eventlet.sleep(0.3)
    assert len(gateway.requests) == 3
    assert 'motcua_notifications_total{channel="sms",outcome="failed",template="receipt"} 1.0' in metrics(
        web_config_port)


def test_an_invalid_number_is_undeliverable_without_retry_and_the_log_lists_the_outcomes(
        notify, config, database_url, gateway, clock):
    gateway.respond("invalid_number")
    submit(notify)
    received(notify)
    wait_status(database_url, "sms", "undeliverable", attempts=1)
    wait_status(database_url, "email", "sent")
    clock.advance(3600)
    eventlet.sleep(0.3)
    assert len(gateway.requests) == 1

    with ServiceRpcProxy("notify", config, timeout=15) as rpc:
        log = rpc.notification_log(CODE)
        assert rpc.notification_log(f"{AGENCY}-261125-9999") == []
    assert [(e["channel"], e["template_id"], e["status"], e["attempts"]) for e in log] == [
        ("email", "receipt", "sent", 1), ("sms", "receipt", "undeliverable", 1)]
    assert log[0]["sent_at"] and log[1]["sent_at"] is None and "invalid_number" in log[1]["last_error"]
    assert not {"body", "to_address", "subject", "html"} & set(log[0])


def test_a_signed_delivery_receipt_marks_the_sms_delivered_and_a_tampered_or_replayed_one_is_refused(
        notify, database_url, gateway, clock, web_config_port, monkeypatch):
    clock.now = datetime.now(timezone.utc)  # signatures are checked against the clock
    submit(notify, mail=None)
    received(notify)
    sent = wait_status(database_url, "sms", "sent")
    url = f"http://127.0.0.1:{web_config_port}/callbacks/sms-delivery"

    stamp = int(time.time())
    forged = json.dumps({"id": sent["provider_message_id"], "status": "undeliverable", "reference": None}).encode()
    genuine = json.dumps({"id": sent["provider_message_id"], "status": "delivered",
                          "reference": str(sent["id"])}).encode()
    tampered = requests.post(url, data=forged, headers={"X-Signature": sign(SECRET.encode(), genuine, stamp)})
    assert tampered.status_code == 401 and tampered.json()["error"]["code"] == "unauthorized"
    stale = gateway.deliver_receipt(url, SECRET.encode(), sent["provider_message_id"], "delivered",
                                    timestamp=stamp - 3600)
    assert stale.status_code == 401
    assert rows(database_url)["sms"]["status"] == "sent"

    good = gateway.deliver_receipt(url, SECRET.encode(), sent["provider_message_id"], "delivered", timestamp=stamp)
    assert good.status_code == 200
    assert rows(database_url)["sms"]["status"] == "delivered"
    replayed = gateway.deliver_receipt(url, SECRET.encode(), sent["provider_message_id"], "delivered",
                                       timestamp=stamp)
    assert replayed.status_code == 401

    monkeypatch.delenv("NOTIFY_SMS_CALLBACK_SECRET")
    assert requests.post(url, data=genuine, headers={"X-Signature": "t=1,v1=00"}).status_code == 503


def test_a_status_event_before_the_contact_is_retried_until_the_contact_arrives(
        container_factory, config, clock, database_url, smtp):
    container = container_factory(Service, {**config, "RETRY_DELAYS_SECONDS": [1, 1, 1]})
    replace_dependencies(container, clock=clock)
    container.start()
    received(container)  # intake's event is late: the handler fails and the message waits in a delay queue
    assert rows(database_url) == {}
    submit(container)
    wait_status(database_url, "email", "sent")
    assert len(smtp[0].messages) == 1


def test_the_citizen_changes_preferences_with_the_tracking_key_and_the_next_notice_follows_them(
        notify, config, database_url):
    submit(notify, prefs={"channels": ["sms"], "language": "vi", "opted_out": True})
    with ServiceRpcProxy("notify", config, timeout=15) as rpc:
        for code, key in ((CODE, "wrong"), (f"{AGENCY}-261125-9999", "k")):
            with pytest.raises(NotFound) as refused:
                rpc.set_preferences(code, key, {"channels": ["email"]})
            assert "No dossier matches this code and tracking key." in str(refused.value)  # the same for both
        with pytest.raises(ValidationFailed):
            rpc.set_preferences(CODE, "k", {"channels": []})
        completed(notify)
        assert rows(database_url) == {}  # opted out at submission: the result notice is not sent
        assert rpc.set_preferences(CODE, "k", {"channels": ["email"]}) == {
            "channels": ["email"], "language": "vi", "opted_out": False}
    completed(notify)
    assert set(rows(database_url)) == {"email"}  # e-mail only, though there is a phone number
