"""HMAC-signed delivery receipts: good, tampered, stale; and the fake gateway's receipts verify."""
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from motcua.webhooks import parse, sign, signed_content_key, verify
from notify.providers.base import OutgoingMessage
from notify.providers.sms_http import HttpSmsProvider
from tests.fakes.sms_gateway import FakeSmsGateway

SECRET = b"receipt-secret"
BODY = b'{"id": "fake-1", "status": "delivered"}'
TIMESTAMP = 1_780_000_000


def test_good_signature():
    header = sign(SECRET, BODY, TIMESTAMP)
    assert header.startswith(f"t={TIMESTAMP},v1=")
    assert verify(SECRET, BODY, header, now=TIMESTAMP + 10)
    assert verify(SECRET, BODY, header, now=datetime.fromtimestamp(TIMESTAMP, timezone.utc))


def test_tampered_body_or_timestamp_or_wrong_secret_is_refused():
    header = sign(SECRET, BODY, TIMESTAMP)
    assert not verify(SECRET, BODY.replace(b"delivered", b"failed"), header, now=TIMESTAMP)
    assert not verify(SECRET, BODY, header.replace(f"t={TIMESTAMP}", f"t={TIMESTAMP + 1}"), now=TIMESTAMP)
    assert not verify(b"other", BODY, header, now=TIMESTAMP)


def test_stale_or_future_timestamps_are_refused():
    header = sign(SECRET, BODY, TIMESTAMP)
    assert verify(SECRET, BODY, header, now=TIMESTAMP + 300)
    assert not verify(SECRET, BODY, header, now=TIMESTAMP + 301)
    assert not verify(SECRET, BODY, header, now=TIMESTAMP - 301)
    assert not verify(SECRET, BODY, header, now=TIMESTAMP + 60, tolerance_seconds=30)


def test_malformed_headers_are_refused():
    good = sign(SECRET, BODY, TIMESTAMP)
    for header in (None, "", "garbage", f"t={TIMESTAMP}", good.split(",")[1], "t=abc," + good.split(",")[1]):
        assert not verify(SECRET, BODY, header, now=TIMESTAMP)


def test_a_timestamp_has_one_spelling_and_a_header_one_timestamp():
    digest = sign(SECRET, BODY, TIMESTAMP).split(",")[1]
    for header in (f"t=0{TIMESTAMP},{digest}", f"t=1,t={TIMESTAMP},{digest}", f"t={TIMESTAMP},t={TIMESTAMP},{digest}",
                   f"t=+{TIMESTAMP},{digest}", f"t= {TIMESTAMP},{digest}", f"t={TIMESTAMP},{digest},x=1",
                   f"t={TIMESTAMP},{digest},", f"t={TIMESTAMP},{digest.upper()}", f"t={TIMESTAMP},v1",
                   "t=" + "9" * 2000 + f",{digest}"):
        assert parse(header) is None, header
        assert not verify(SECRET, BODY, header, now=TIMESTAMP), header


def test_a_replay_is_recognised_by_what_was_verified_however_the_header_is_varied():
    original = verify(SECRET, BODY, sign(SECRET, BODY, TIMESTAMP), now=TIMESTAMP)
    other_digest = sign(b"old", BODY, TIMESTAMP).split(",")[1]
    for variant in (f" {sign(SECRET, BODY, TIMESTAMP)} ", sign(SECRET, BODY, TIMESTAMP) + "," + other_digest,
                    other_digest + "," + sign(SECRET, BODY, TIMESTAMP)):
        again = verify(SECRET, BODY, variant, now=TIMESTAMP)
        assert again and signed_content_key(again, BODY) == signed_content_key(original, BODY)


def test_any_of_several_v1_values_may_match_during_a_secret_rotation():
    header = sign(b"new", BODY, TIMESTAMP) + "," + sign(SECRET, BODY, TIMESTAMP).split(",")[1]
    assert verify(SECRET, BODY, header, now=TIMESTAMP)


class Receiver:
    """The notify side of the callback, reduced to: record and verify."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify(SECRET, body, self.headers.get("X-Signature"), now=datetime.now(timezone.utc)) is not None
                received.append((json.loads(body), ok))
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callbacks/sms"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_fake_gateway_receipts_verify_and_carry_the_reference():
    receiver = Receiver()
    try:
        with FakeSmsGateway() as gateway:
            sent = HttpSmsProvider(gateway.url, "k", "MOTCUA").send(
                OutgoingMessage("n-1", "sms", "0912345678", None, "Xin chào", None, "ref-1"))
            assert gateway.deliver_receipt(receiver.url, SECRET, sent.provider_message_id, "delivered").status_code == 204
            assert gateway.deliver_receipt(receiver.url, b"wrong", sent.provider_message_id, "delivered").status_code == 401
            stale = int(datetime.now(timezone.utc).timestamp()) - 3600
            assert gateway.deliver_receipt(receiver.url, SECRET, sent.provider_message_id, "undeliverable",
                                           timestamp=stale).status_code == 401
    finally:
        receiver.close()
    assert receiver.received[0] == ({"id": "fake-1", "status": "delivered", "reference": "ref-1"}, True)
    assert [ok for _, ok in receiver.received] == [True, False, False]
