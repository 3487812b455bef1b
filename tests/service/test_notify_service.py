"""notify as a nameko service against the real RabbitMQ and PostgreSQL, a real SMTP server (aiosmtpd), the
fake SMS gateway and a stand-in catalog (its agencies' names): events in, messages out, exactly once, with
retries that end and signed receipts. An online dossier is told filed, then received; a counter dossier is
received at once (most tests below use one: they are about sending). Then the postal channel: a pickup's
notices are keyed by the pickup until the handed-over dossier is registered, then join its log; the result's
journey by post is told step by step, once per event.

Time is an injected clock: quiet hours and retry backoff are crossed by moving it, not by waiting."""
import hashlib
import json
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import eventlet
import pytest
import requests
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter, replace_dependencies

from motcua.db import make_engine
from motcua.envelope import make_envelope
from motcua.errors import NotFound, ServiceUnavailable, ValidationFailed
from motcua.webhooks import sign
from notify.models import notification
from notify.service import NotifyService
from tests.support import PinnedClock, dossier_submitted, log_records, take_messages
from tests.conftest import truncate_all
from tests.fakes.mailbox import Mailbox
from tests.fakes.sms_gateway import FakeSmsGateway

AGENCY = "000.00.00.H49"
AGENCY_NAME = "Ủy ban nhân dân tỉnh Quảng Ninh"
CODE = f"{AGENCY}-261125-0007"
OFFICIAL = {"kind": "official", "id": "official-42", "agency_code": AGENCY}
SECRET = "receipt-secret-for-tests"
DAYTIME = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hai Phong
NIGHT = datetime(2026, 11, 25, 15, 30, tzinfo=timezone.utc)  # 22:30 in Hai Phong


@pytest.fixture(scope="module")
def database_url(postgres_database):
    return postgres_database("notify")


@pytest.fixture
def smtp():
    with Mailbox() as mailbox:
        yield mailbox, mailbox.port


@pytest.fixture
def gateway():
    with FakeSmsGateway() as fake:
        yield fake


@pytest.fixture
def clock():
    return PinnedClock(DAYTIME)


class FakeCatalog:
    """catalog as notify sees it on the bus: only list_agencies; `away` answers as a catalog that is down."""

    name = "catalog"
    calls = 0
    away = False

    @rpc
    def list_agencies(self):
        FakeCatalog.calls += 1
        if FakeCatalog.away:
            raise ServiceUnavailable("The catalogue is restarting.")
        return [{"code": AGENCY, "name": AGENCY_NAME, "level": "city", "parent_code": None}]


@pytest.fixture
def catalog(container_factory, rabbit_config):
    FakeCatalog.calls, FakeCatalog.away = 0, False
    container = container_factory(FakeCatalog, rabbit_config)
    container.start()
    return container


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
def notify(container_factory, config, clock, catalog):
    container = container_factory(NotifyService, config)
    replace_dependencies(container, clock=clock)
    container.start()
    return container


def publish(container, producer, event_type, data, envelope=None):
    envelope = envelope or make_envelope(event_type, producer=producer, data=data,
                                         dossier_code=data.get("dossier_code"))
    with entrypoint_waiter(container, f"on_{event_type}", timeout=10):
        with Connection(container.config["AMQP_URI"]) as conn:
            exchange = Exchange(f"{producer}.events", type="topic", durable=True)
            conn.Producer().publish(envelope, exchange=exchange, routing_key=event_type, serializer="json",
                                    delivery_mode=2, declare=[exchange])
    return envelope


def submit(container, phone="0912345678", mail="an@example.vn", prefs=None, channel="counter", envelope=None):
    return publish(container, "intake", "dossier_submitted", dossier_submitted(
        dossier_code=CODE, agency_code=AGENCY, tracking_key_hash=hashlib.sha256(b"k").hexdigest(), channel=channel,
        applicant={"full_name": "Nguyễn Văn An", "phone": phone, "email": mail}, notification_preferences=prefs),
        envelope)


def received(container, envelope=None, channel="counter"):
    return publish(container, "status", "dossier_received", {
        "dossier_code": CODE, "procedure_code": "1.001193", "action": "accept", "from_state": "submitted",
        "to_state": "received", "national_status_code": 2, "agency_code": AGENCY, "channel": channel,
        "actor": OFFICIAL, "appointment_date": date(2026, 11, 27),
    }, envelope)


def completed(container):
    """A notice that is not legally required (result ready): preferences and opt-out apply."""
    return publish(container, "status", "dossier_completed", {
        "dossier_code": CODE, "procedure_code": "1.001193", "action": "complete", "from_state": "in_progress",
        "to_state": "completed", "national_status_code": 4, "agency_code": AGENCY, "channel": "counter",
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
    assert f"tiếp nhận tại {AGENCY_NAME}" in content  # the name catalog gives, not the code
    [request] = gateway.requests
    assert request.json["to"] == "0912345678" and CODE in request.json["text"]
    assert (sms["template_id"], sms["attempts"], sms["provider_message_id"]) == ("receipt", 1, "fake-1")
    assert (sms["encoding"], sms["length"]) == ("UCS-2", len(request.json["text"]))
    assert len(rows(database_url)) == 2
    text = metrics(web_config_port)
    assert 'motcua_notifications_total{channel="sms",outcome="sent",template="receipt"} 1.0' in text
    assert 'motcua_notification_event_to_send_seconds_count{channel="email",template="receipt"}' in text


def test_a_queued_notice_goes_out_at_once_without_waiting_for_the_senders_next_pass(
        container_factory, config, clock, catalog, database_url, monkeypatch):
    monkeypatch.setenv("NOTIFY_SEND_INTERVAL_SECONDS", "3600")  # the timer's pass would come in an hour
    container = container_factory(NotifyService, config)
    replace_dependencies(container, clock=clock)
    container.start()
    submit(container)
    received(container)
    assert wait_status(database_url, "email", "sent", attempts=1)
    assert wait_status(database_url, "sms", "sent", attempts=1)


def test_a_notice_is_sent_under_the_correlation_id_of_the_event_that_queued_it(notify, database_url):
    """notify's sender is a timer, each send a greenlet of its own: the row keeps the event's id to log under."""
    submit(notify, phone=None)
    data = {"dossier_code": CODE, "procedure_code": "1.001193", "action": "accept", "from_state": "submitted",
            "to_state": "received", "national_status_code": 2, "agency_code": AGENCY, "channel": "counter",
            "actor": OFFICIAL, "appointment_date": date(2026, 11, 27)}
    envelope = make_envelope("dossier_received", producer="status", data=data, dossier_code=CODE,
                             correlation_id="req-receipt-1")
    with log_records("notify.sending") as records:
        received(notify, envelope)
        row = wait_status(database_url, "email", "sent")
        wait_for(lambda: records)
    assert row["correlation_id"] == "req-receipt-1"
    [line] = records
    assert line.getMessage().endswith(": sent") and "template receipt" in line.getMessage()
    assert (line.correlation_id, line.dossier_code) == ("req-receipt-1", CODE)


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
    assert event["data"] == {"notification_id": str(failed["id"]), "dossier_code": CODE, "pickup_id": None,
                             "channel": "sms", "template_id": "receipt", "attempts": 3, "error": failed["last_error"]}
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
    assert log[0]["template_title"] == "Mẫu 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả"  # the citizen's words
    assert not {"body", "to_address", "subject", "html"} & set(log[0])


def test_a_signed_delivery_receipt_marks_the_sms_delivered_and_a_tampered_or_replayed_one_is_refused(
        notify, database_url, gateway, clock, web_config_port):
    submit(notify, mail=None)
    received(notify)
    sent = wait_status(database_url, "sms", "sent")
    url = f"http://127.0.0.1:{web_config_port}/callbacks/sms-delivery"

    stamp = int(clock.now.timestamp())  # signatures are checked against the service's clock
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
    # Respelled headers of an accepted receipt (a leading zero, a second `t`) are the same receipt again.
    digest = sign(SECRET.encode(), genuine, stamp + 1).split(",")[1]
    assert requests.post(url, data=genuine, headers={"X-Signature": f"t={stamp + 1},{digest}"}).status_code == 200
    for respelled in (f"t=0{stamp + 1},{digest}", f"t=1,t={stamp + 1},{digest}", f"t={stamp + 1} , {digest}"):
        assert requests.post(url, data=genuine, headers={"X-Signature": respelled}).status_code == 401



def test_a_status_event_before_the_contact_is_retried_until_the_contact_arrives(
        container_factory, config, clock, database_url, smtp, catalog):
    container = container_factory(NotifyService, {**config, "RETRY_DELAYS_SECONDS": [1, 1, 1]})
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


# --- an online dossier: filed, then received -----------------------------------------------------

def test_an_online_dossier_is_told_filed_at_once_then_received_after_acceptance_each_once(
        notify, config, database_url, smtp, gateway):
    filed = submit(notify, channel="online")
    submit(notify, channel="online", envelope=filed)  # the broker delivers it again
    wait_for(lambda: sum(row["status"] == "sent" for row in all_rows(database_url)) == 2)
    notices = by_template(database_url)
    assert set(notices) == {("filed_online", "email"), ("filed_online", "sms")}
    for row in notices.values():
        assert CODE in row["body"] and f"/tra-cuu?code={CODE}" in row["body"] and "trực tuyến" in row["body"]
        assert "đã được tiếp nhận" not in row["body"]  # not form 01: the officer has not checked it yet
    assert f"đến {AGENCY_NAME}" in notices[("filed_online", "email")]["body"]

    received(notify, channel="online")
    wait_for(lambda: sum(row["status"] == "sent" for row in all_rows(database_url)) == 4)
    eventlet.sleep(0.3)  # a few more timer ticks: nothing else goes out
    assert len(smtp[0].messages) == 2 and len(gateway.requests) == 2
    assert FakeCatalog.calls == 1  # the names are kept: one call for both notices
    with ServiceRpcProxy("notify", config, timeout=15) as rpc:
        log = rpc.notification_log(CODE)
    assert [(e["template_id"], e["channel"]) for e in log] == [
        ("filed_online", "email"), ("filed_online", "sms"), ("receipt", "email"), ("receipt", "sms")]
    assert log[0]["template_title"] == "Thông báo đã nhận hồ sơ nộp trực tuyến, chờ tiếp nhận"


def test_a_filing_while_catalog_is_away_is_retried_and_told_with_the_agency_once_catalog_answers(
        container_factory, config, clock, database_url, catalog):
    container = container_factory(NotifyService, {**config, "RETRY_DELAYS_SECONDS": [1, 1, 1, 1, 1]})
    replace_dependencies(container, clock=clock)
    container.start()
    FakeCatalog.away = True
    submit(container, channel="online")
    assert all_rows(database_url) == []  # neither the contact nor the notice: the message waits for a retry
    FakeCatalog.away = False
    clock.advance(5)  # notify asks catalog again 5 s after it did not answer
    rows = wait_for(lambda: (found := by_template(database_url)) and len(found) == 2 and found)
    assert f"đến {AGENCY_NAME}" in rows[("filed_online", "email")]["body"]
    assert FakeCatalog.calls == 2


# --- the postal channel ---------------------------------------------------------------------------

PICKUP_ID = uuid.UUID("0b6f3c1e-5d2a-4f7b-9c1d-2e3f4a5b6c7d")
WAYBILL = "EB000000001VN"
PICKUP_LINK = f"http://localhost:8000/buu-chinh/tra-cuu?pickup={PICKUP_ID}"
WINDOW = {"start": datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc),  # 08:00-11:00 in Hai Phong
          "end": datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)}
APPLICANT = {"full_name": "Nguyễn Văn An", "phone": "0912345678", "email": "an@example.vn"}
CHECKLIST = [{"document_code": "TK", "name": "Tờ khai đăng ký khai sinh", "required": True, "present": True}]


def pickup_event(container, event_type, envelope=None, **extra):
    state = {"pickup_booked": "booked", "pickup_collected": "collected",
             "pickup_collection_failed": "collection_failed"}[event_type]
    return publish(container, "postal", event_type, {
        "pickup_id": PICKUP_ID, "waybill": WAYBILL, "state": state, "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh", "agency_code": AGENCY, "at": DAYTIME, "window": WINDOW,
        "applicant": APPLICANT if event_type == "pickup_booked" else None, **extra,
    }, envelope)


def handed_over_dossier(container, applicant=APPLICANT, return_method="counter"):
    """intake registered the handed-over package: dossier_submitted naming the pickup, no preferences."""
    publish(container, "intake", "dossier_submitted", dossier_submitted(
        dossier_code=CODE, agency_code=AGENCY, channel="postal", return_method=return_method, submitted_at=DAYTIME,
        tracking_key_hash=hashlib.sha256(b"k").hexdigest(), applicant=applicant, notification_preferences=None,
        pickup_id=PICKUP_ID))


def status_event(container, event_type, action, to_state, **extra):
    return publish(container, "status", event_type, {
        "dossier_code": CODE, "procedure_code": "1.001193", "action": action, "from_state": None,
        "to_state": to_state, "national_status_code": 2, "agency_code": AGENCY, "channel": "postal",
        "actor": OFFICIAL, "appointment_date": date(2026, 11, 27), **extra,
    })


def delivery_event(container, event_type, state, envelope=None, **extra):
    return publish(container, "postal", event_type, {
        "delivery_id": uuid.uuid5(uuid.NAMESPACE_URL, CODE), "dossier_code": CODE, "agency_code": AGENCY,
        "waybill": "EB000000002VN", "carrier": "Bưu điện Hải Phòng", "state": state,
        "at": datetime(2026, 12, 2, 3, 15, tzinfo=timezone.utc), "attempts": 0, "max_attempts": 2, **extra,
    }, envelope)


def all_rows(url):
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.select(notification).order_by(notification.c.created_at, notification.c.template_id,
                                                              notification.c.channel)).mappings().all()
    engine.dispose()
    return found


def by_template(url):
    return {(row["template_id"], row["channel"]): row for row in all_rows(url)}


def test_pickup_notices_are_keyed_by_the_pickup_then_join_the_dossier_log_at_handover(
        notify, config, database_url, smtp, gateway, clock):
    pickup_event(notify, "pickup_booked")
    # Sent before the clock moves an hour: a send still in flight past its lease would be claimed again.
    wait_for(lambda: sum(row["status"] == "sent" for row in all_rows(database_url)) == 2)
    clock.advance(3600)
    pickup_event(notify, "pickup_collected", checklist=CHECKLIST, fees_collected_vnd=58000)

    rows = by_template(database_url)
    assert set(rows) == {(t, c) for t in ("pickup_booked", "pickup_collected") for c in ("sms", "email")}
    for row in rows.values():
        assert (row["pickup_id"], row["dossier_code"]) == (PICKUP_ID, None)
        assert WAYBILL in row["body"] and PICKUP_LINK in row["body"]
        assert "Nguyễn" not in row["body"] and "Ông/Bà An" in row["body"]
    assert rows[("pickup_booked", "sms")]["to_address"] == "0912345678"
    assert "từ 08:00 đến 11:00 ngày 26/11/2026" in rows[("pickup_booked", "sms")]["body"]
    assert "58.000 đồng" in rows[("pickup_collected", "email")]["body"]
    # A notice without a dossier code is sent like any other.
    wait_for(lambda: sum(row["status"] == "sent" for row in all_rows(database_url)) == 4)
    assert len(gateway.requests) == 2 and len(smtp[0].messages) == 2

    # The carrier handed the package over; intake registered it without an e-mail address and without
    # preferences: the pickup's contact fills the gap.
    handed_over_dossier(notify, applicant={**APPLICANT, "email": None})
    assert {row["dossier_code"] for row in all_rows(database_url)} == {CODE}
    status_event(notify, "dossier_received", "register", "received")
    receipt = by_template(database_url)
    assert {("receipt", "sms"), ("receipt", "email")} <= set(receipt)
    sms = receipt[("receipt", "sms")]["body"]
    assert "gửi qua bưu điện" in sms and CODE in sms.split("Tra cứu")[0]
    assert receipt[("receipt", "email")]["to_address"] == "an@example.vn"

    with ServiceRpcProxy("notify", config, timeout=15) as rpc:
        log = rpc.notification_log(CODE)
    assert [(e["template_id"], e["channel"]) for e in log] == [
        ("pickup_booked", "email"), ("pickup_booked", "sms"), ("pickup_collected", "email"),
        ("pickup_collected", "sms"), ("receipt", "email"), ("receipt", "sms")]


def test_a_redelivered_postal_event_makes_no_second_row(notify, database_url):
    booked = pickup_event(notify, "pickup_booked")
    pickup_event(notify, "pickup_booked", envelope=booked)
    handed_over_dossier(notify)
    shipped = delivery_event(notify, "result_shipped", "picked_up")
    delivery_event(notify, "result_shipped", "picked_up", envelope=shipped)
    assert sorted(by_template(database_url)) == [
        ("pickup_booked", "email"), ("pickup_booked", "sms"), ("result_shipped", "email"), ("result_shipped", "sms")]


def test_a_dossier_registered_before_the_booking_arrives_still_collects_the_pickup_notices(notify, database_url):
    handed_over_dossier(notify)
    pickup_event(notify, "pickup_booked")
    [row] = [r for r in all_rows(database_url) if r["channel"] == "sms"]
    assert (row["template_id"], row["pickup_id"], row["dossier_code"]) == ("pickup_booked", PICKUP_ID, CODE)


def test_a_collection_before_its_booking_is_retried_until_the_booking_arrives(
        container_factory, config, clock, database_url, catalog):
    container = container_factory(NotifyService, {**config, "RETRY_DELAYS_SECONDS": [1, 1, 1]})
    replace_dependencies(container, clock=clock)
    container.start()
    pickup_event(container, "pickup_collection_failed", reason="Không liên lạc được với người gửi")
    assert all_rows(database_url) == []
    pickup_event(container, "pickup_booked")
    rows = wait_for(lambda: (found := by_template(database_url)) and len(found) == 4 and found)
    failed = rows[("pickup_collection_failed", "sms")]
    assert "Không liên lạc được với người gửi" in failed["body"] and PICKUP_LINK in failed["body"]


def test_the_result_by_post_is_told_step_by_step_without_counter_wording(notify, database_url):
    handed_over_dossier(notify, return_method="postal")
    status_event(notify, "dossier_completed", "complete", "completed", return_method="postal")
    ready = by_template(database_url)[("result_ready", "sms")]["body"]
    assert "Một cửa" not in ready and "gửi qua bưu điện" in ready

    delivery_event(notify, "result_shipped", "picked_up")
    delivery_event(notify, "delivery_attempt_failed", "attempt_failed", attempts=1, reason="Người nhận vắng nhà")
    delivery_event(notify, "result_delivered", "delivered", attempts=2, recipient_name="Trần Thị Bích")
    rows = by_template(database_url)
    assert {t for t, _ in rows} == {"result_ready", "result_shipped", "delivery_attempt_failed", "result_delivered"}
    assert "EB000000002VN" in rows[("result_shipped", "sms")]["body"]
    attempt = rows[("delivery_attempt_failed", "sms")]["body"]
    assert "1/2" in attempt and "Người nhận vắng nhà" in attempt and "giao lại" in attempt
    delivered = rows[("result_delivered", "email")]["body"]
    assert "10:15 ngày 02/12/2026" in delivered and "Bích" not in delivered
    assert all(row["dossier_code"] == CODE and row["pickup_id"] is None for row in rows.values())


def test_a_result_returned_to_sender_asks_the_citizen_to_collect_it_at_the_counter(notify, database_url):
    handed_over_dossier(notify, return_method="postal")
    delivery_event(notify, "result_returned_to_sender", "returned_to_sender", attempts=2)
    rows = by_template(database_url)
    assert set(rows) == {("result_returned_to_counter", "sms"), ("result_returned_to_counter", "email")}
    sms = rows[("result_returned_to_counter", "sms")]["body"]
    assert f"Bộ phận Một cửa, {AGENCY_NAME}" in sms and AGENCY not in sms.replace(CODE, "")


def test_a_pickup_notice_that_fails_for_good_is_reported_by_pickup(notify, config, database_url, gateway, clock):
    with Connection(config["AMQP_URI"]) as conn:
        Queue("test-notification-failed", exchange=Exchange("notify.events", type="topic", durable=True),
              routing_key="notification_failed")(conn.default_channel).declare()
    gateway.respond("500", "500", "500")
    pickup_event(notify, "pickup_booked", applicant={**APPLICANT, "email": None})
    for attempt, backoff in ((1, 30), (2, 60)):  # NOTIFY_RETRY_BASE_SECONDS=30, NOTIFY_MAX_ATTEMPTS=3
        wait_for(lambda: (row := all_rows(database_url)[0])["status"] == "queued" and row["attempts"] == attempt)
        clock.advance(backoff)
    failed = wait_for(lambda: (row := all_rows(database_url)[0])["status"] == "failed" and row)

    [event] = take_messages(config["AMQP_URI"], "test-notification-failed", 1)
    assert event["dossier_code"] is None
    assert event["data"] == {"notification_id": str(failed["id"]), "dossier_code": None,
                             "pickup_id": str(PICKUP_ID), "channel": "sms", "template_id": "pickup_booked",
                             "attempts": 3, "error": failed["last_error"]}
    clock.advance(3600)
    eventlet.sleep(0.2)
    assert len(gateway.requests) == 3


def test_without_a_receipt_secret_at_start_up_receipts_are_unavailable(
        container_factory, config, clock, web_config_port, monkeypatch):
    monkeypatch.delenv("NOTIFY_SMS_CALLBACK_SECRET")
    container = container_factory(NotifyService, config)
    replace_dependencies(container, clock=clock)
    container.start()
    url = f"http://127.0.0.1:{web_config_port}/callbacks/sms-delivery"
    assert requests.post(url, data=b"{}", headers={"X-Signature": "t=1,v1=00"}, timeout=10).status_code == 503
