"""HttpCarrier against a local HTTP server answering as a carrier would: which answers mean retry, which refuse."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from marshmallow import ValidationError

from postal.carrier import Carrier, CarrierRefused, CarrierUnavailable, HttpCarrier, callback_url, carrier_from_env

ORDER = {
    "client_reference": "4a1c2f9e-0000-4000-8000-000000000001", "kind": "delivery",
    "sender": {"name": "Bộ phận Một cửa", "phone": None,
               "address": {"province": "Hải Phòng", "commune": "Hồng Bàng", "street": "Số 1"}},
    "recipient": {"name": "Nguyễn Thị Lan", "phone": "0912345678",
                  "address": {"province": "Hải Phòng", "commune": "Vĩnh Bảo", "street": "Thôn Nam Tiến"}},
    "max_attempts": 2, "callback_url": "http://127.0.0.1:8005/callbacks/carrier",
}
ACCEPTED = {"waybill": "EE123456785VN", "client_reference": ORDER["client_reference"], "carrier": "VNPost"}


class StubCarrier:
    """Answers every order with the next (status, body) it was given, and keeps what it received."""

    def __init__(self):
        self.answers: list[tuple[int, object]] = []
        self.received: list[tuple[str, dict, dict]] = []
        self.delay = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.received.append((self.path, dict(self.headers), body))
                time.sleep(stub.delay)
                status, answer = stub.answers.pop(0)
                payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    running = StubCarrier()
    yield running
    running.close()


def test_an_accepted_order_answers_the_waybill_and_the_request_is_as_documented(stub):
    stub.answers.append((201, ACCEPTED))
    carrier = HttpCarrier(stub.url + "/", "secret-key")
    assert isinstance(carrier, Carrier)
    assert carrier.place_order(ORDER) == ACCEPTED
    [(path, headers, body)] = stub.received
    assert path == "/api/v1/orders" and headers["Authorization"] == "Bearer secret-key"
    assert body["client_reference"] == ORDER["client_reference"] and body["cash_on_delivery_vnd"] == 0


def test_a_repeated_order_answered_200_with_the_first_waybill_is_accepted(stub):
    stub.answers.append((200, ACCEPTED))
    assert HttpCarrier(stub.url, "k").place_order(ORDER)["waybill"] == "EE123456785VN"


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429, 401, 403])
def test_answers_worth_retrying_are_unavailable(stub, status):
    stub.answers.append((status, {"error": {"message": "busy"}}))
    with pytest.raises(CarrierUnavailable) as raised:
        HttpCarrier(stub.url, "k").place_order(ORDER)
    assert str(status) in str(raised.value)


def test_a_refused_order_carries_the_carriers_reason(stub):
    stub.answers.append((400, {"error": {"code": "bad_address", "message": "Không phục vụ địa chỉ này"}}))
    with pytest.raises(CarrierRefused) as raised:
        HttpCarrier(stub.url, "k").place_order(ORDER)
    assert "Không phục vụ địa chỉ này" in str(raised.value)


@pytest.mark.parametrize("answer", [b"not json", {"waybill": "EE1"}, dict(ACCEPTED, client_reference="other")])
def test_an_unreadable_or_foreign_answer_is_unavailable(stub, answer):
    stub.answers.append((201, answer))
    with pytest.raises(CarrierUnavailable):
        HttpCarrier(stub.url, "k").place_order(ORDER)


def test_a_slow_carrier_times_out_as_unavailable(stub):
    stub.delay = 1.0
    stub.answers.append((201, ACCEPTED))
    started = time.monotonic()
    with pytest.raises(CarrierUnavailable):
        HttpCarrier(stub.url, "k", timeout_seconds=0.2).place_order(ORDER)
    assert time.monotonic() - started < 1.0


def test_a_carrier_that_is_not_there_is_unavailable():
    with pytest.raises(CarrierUnavailable):
        HttpCarrier("http://127.0.0.1:9", "k", timeout_seconds=1).place_order(ORDER)


def test_an_off_contract_order_fails_before_it_leaves(stub):
    with pytest.raises(ValidationError):
        HttpCarrier(stub.url, "k").place_order(dict(ORDER, kind="parcel"))
    assert stub.received == []


def test_the_configured_carrier_and_callback_url(monkeypatch):
    monkeypatch.setenv("POSTAL_CARRIER_URL", "https://carrier.example.vn/api")
    monkeypatch.setenv("POSTAL_CARRIER_API_KEY", "k1")
    monkeypatch.setenv("POSTAL_CARRIER_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("POSTAL_HTTP_PORT", "9105")
    monkeypatch.delenv("POSTAL_CALLBACK_URL", raising=False)
    carrier = carrier_from_env()
    assert (carrier.base_url, carrier.api_key, carrier.timeout_seconds) == ("https://carrier.example.vn/api", "k1", 2.5)
    assert callback_url() == "http://127.0.0.1:9105/callbacks/carrier"
    monkeypatch.setenv("POSTAL_CALLBACK_URL", "https://postal.example.vn/callbacks/carrier")
    assert callback_url() == "https://postal.example.vn/callbacks/carrier"
