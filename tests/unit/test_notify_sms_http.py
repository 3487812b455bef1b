"""HttpSmsProvider against FakeSmsGateway, a real local HTTP server, for each gateway answer."""
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from notify.providers.base import OutgoingMessage, SmsProvider
from notify.providers.sms_http import HttpSmsProvider, _retry_after
from tests.fakes.sms_gateway import FakeSmsGateway

API_KEY = "test-key"
MESSAGE = OutgoingMessage("n-1", "sms", "0912345678", None, "Ông/Bà An: hồ sơ đã được tiếp nhận.", None, "ref-1")


@pytest.fixture
def gateway():
    with FakeSmsGateway(api_key=API_KEY) as running:
        yield running


def provider(gateway, **options) -> HttpSmsProvider:
    return HttpSmsProvider(gateway.url, API_KEY, "MOTCUA", **options)


def test_ok_is_accepted_with_the_gateway_id_and_the_request_is_as_documented(gateway):
    result = provider(gateway).send(MESSAGE)
    assert result.accepted and result.provider_message_id == "fake-1"
    assert not result.permanent and result.error is None
    [request] = gateway.requests
    assert request.path == "/sms"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {"to": "0912345678", "text": MESSAGE.body, "sender": "MOTCUA", "reference": "ref-1"}


def test_429_is_transient_with_retry_after(gateway):
    gateway.respond(("429", 30))
    result = provider(gateway).send(MESSAGE)
    assert not result.accepted and not result.permanent
    assert result.retry_after == 30 and "429" in result.error


def test_500_is_transient(gateway):
    gateway.respond("500")
    result = provider(gateway).send(MESSAGE)
    assert not result.accepted and not result.permanent and result.retry_after is None
    assert "500" in result.error


def test_timeout_is_transient_and_does_not_wait_for_the_gateway(gateway):
    gateway.respond(("timeout", 3))
    started = time.monotonic()
    result = provider(gateway, timeout=0.3).send(MESSAGE)
    assert time.monotonic() - started < 2
    assert not result.accepted and not result.permanent and "timeout" in result.error
    assert len(gateway.requests) == 1


def test_invalid_number_is_permanent(gateway):
    gateway.respond("invalid_number")
    result = provider(gateway).send(MESSAGE)
    assert not result.accepted and result.permanent
    assert result.error == "HTTP 400: invalid_number"


def test_a_wrong_api_key_is_our_fault_so_it_is_retried_not_blamed_on_the_number(gateway):
    result = HttpSmsProvider(gateway.url, "wrong", "MOTCUA").send(MESSAGE)
    assert not result.accepted and not result.permanent and "401" in result.error


def test_answers_follow_the_script_then_default_to_ok(gateway):
    gateway.respond("500", "ok")
    sms = provider(gateway)
    assert [sms.send(MESSAGE).accepted for _ in range(3)] == [False, True, True]
    assert [r.json["reference"] for r in gateway.requests] == ["ref-1"] * 3


def test_connection_refused_is_transient():
    with FakeSmsGateway() as stopped:
        url = stopped.url
    result = HttpSmsProvider(url, API_KEY, "MOTCUA", timeout=1).send(MESSAGE)
    assert not result.accepted and not result.permanent and "ConnectionError" in result.error


def test_ascii_only_strips_diacritics_before_sending(gateway):
    provider(gateway, ascii_only=True).send(MESSAGE)
    assert gateway.requests[0].json["text"] == "Ong/Ba An: ho so da duoc tiep nhan."


def test_reference_defaults_to_the_notification_id(gateway):
    provider(gateway).send(OutgoingMessage("n-9", "sms", "0912345678", None, "Xin chào", None))
    assert gateway.requests[0].json["reference"] == "n-9"


def test_retry_after_as_seconds_or_http_date():
    assert _retry_after("12") == 12
    assert _retry_after(None) is None and _retry_after("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=60), usegmt=True)
    assert 55 <= _retry_after(later) <= 60


def test_from_env(monkeypatch):
    for name in ("URL", "API_KEY", "SENDER", "ASCII"):
        monkeypatch.delenv(f"NOTIFY_SMS_{name}", raising=False)
    default = HttpSmsProvider.from_env()
    assert (default.url, default.ascii_only) == ("http://127.0.0.1:9090/sms", False)
    monkeypatch.setenv("NOTIFY_SMS_URL", "https://sms.example.vn/send")
    monkeypatch.setenv("NOTIFY_SMS_API_KEY", "k")
    monkeypatch.setenv("NOTIFY_SMS_SENDER", "HAIPHONG")
    monkeypatch.setenv("NOTIFY_SMS_ASCII", "1")
    configured = HttpSmsProvider.from_env()
    assert (configured.url, configured.api_key, configured.sender, configured.ascii_only) == (
        "https://sms.example.vn/send", "k", "HAIPHONG", True)
    assert isinstance(configured, SmsProvider)
