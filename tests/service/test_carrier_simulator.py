"""The carrier simulator as its own process (`carrier_simulator.testing.simulator_process`), calling back a
small local HTTP receiver that stands where postal's `POST /callbacks/carrier` will be."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from carrier_simulator.rules import is_waybill
from carrier_simulator.testing import SimulatorError, simulator_process
from motcua.stack import free_port
from motcua.webhooks import verify
from motcua_contracts.postal import CarrierCallbackSchema

API_KEY = "sim-api-key"
SECRET = "sim-callback-secret"
ADDRESS = {"province": "Hải Phòng", "commune": "Phường Hồng Bàng", "street": "18 Hoàng Diệu"}


@dataclass(frozen=True)
class Received:
    header: str | None
    body: bytes
    at: float

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Postal's callback endpoint, as far as the carrier can tell: records each request, answers from a script."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: deque[int] = deque()
        self._arrived = threading.Condition()
        self._server = make_server("127.0.0.1", free_port(), self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/callbacks/carrier"

    def answer(self, *statuses: int) -> None:
        self._answers.extend(statuses)

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} callbacks arrived, {count} expected")
            return list(self.received)

    @Request.application
    def _app(self, request: Request) -> Response:
        with self._arrived:
            self.received.append(Received(request.headers.get("X-Carrier-Signature"), request.get_data(),
                                          time.time()))
            status = self._answers.popleft() if self._answers else 200
            self._arrived.notify_all()
        return Response("{}", status=status, content_type="application/json")

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def signed_by_us(received: Received) -> bool:
    return verify(SECRET.encode(), received.body, received.header, now=time.time()) is not None


def order(kind: str, callback_url: str, **fields: object) -> dict:
    citizen = {"name": "Trần Thị Lan", "phone": "0912345678", "address": ADDRESS}
    agency = {"name": "Sở Tư pháp Hải Phòng", "address": ADDRESS}
    return {"client_reference": str(uuid.uuid4()), "kind": kind, "callback_url": callback_url,
            "sender": citizen if kind == "pickup" else agency, "recipient": agency if kind == "pickup" else citizen,
            **fields}


@pytest.fixture(scope="module")
def carrier():
    with simulator_process(API_KEY, SECRET, env={"CARRIER_SIMULATOR_RETRY_SECONDS": "0.1",
                                                 "CARRIER_SIMULATOR_RETRY_ATTEMPTS": "3"}) as client:
        yield client


@pytest.fixture
def postal():
    with Receiver() as receiver:
        yield receiver


def test_an_order_repeated_with_its_client_reference_keeps_its_first_waybill(carrier, postal):
    placed = order("delivery", postal.url)
    first = requests.post(f"{carrier.base_url}/v1/orders", json=placed, timeout=5,
                          headers={"Authorization": f"Bearer {API_KEY}"})
    again = requests.post(f"{carrier.base_url}/v1/orders", json=placed, timeout=5,
                          headers={"Authorization": f"Bearer {API_KEY}"})
    other = carrier.place(order("delivery", postal.url))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() == {"waybill": first.json()["waybill"], "client_reference":
                                            placed["client_reference"], "carrier": "Bưu điện mô phỏng"}
    assert is_waybill(first.json()["waybill"]) and is_waybill(other["waybill"])
    assert other["waybill"] != first.json()["waybill"]
    stored = carrier.order(first.json()["waybill"])
    assert (stored["kind"], stored["scenario"], stored["state"], stored["callbacks"]) == (
        "delivery", "deliver", "accepted", [])
    assert stored["order"]["max_attempts"] == 2  # the contract's default, filled in


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", f"Basic {API_KEY}", API_KEY])
def test_every_v1_call_wants_the_bearer_key(carrier, postal, authorization):
    waybill = carrier.place(order("delivery", postal.url))["waybill"]
    headers = {"Authorization": authorization} if authorization else {}
    calls = [("POST", "/v1/orders", order("delivery", postal.url)), ("GET", f"/v1/orders/{waybill}", None),
             ("POST", f"/v1/orders/{waybill}/advance", None),
             ("POST", f"/v1/orders/{waybill}/events", {"event": "picked_up"}),
             ("POST", f"/v1/orders/{waybill}/replay", None)]
    for method, path, body in calls:
        response = requests.request(method, carrier.base_url + path, json=body, headers=headers, timeout=5)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"
    assert carrier.order(waybill)["callbacks"] == [] and postal.received == []
    assert requests.get(f"{carrier.base_url}/healthz", timeout=5).status_code == 200


def test_a_bad_order_is_refused_with_field_messages(carrier, postal):
    auth = {"Authorization": f"Bearer {API_KEY}"}

    def post(body, **headers):
        return requests.post(f"{carrier.base_url}/v1/orders", data=body, timeout=5, headers={**auth, **headers})

    unknown = post(json.dumps({**order("pickup", postal.url), "priority": "high"}))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"priority": ["Unknown field."]}
    incomplete = {**order("delivery", postal.url), "recipient": {"name": "Lan"}, "max_attempts": 0}
    del incomplete["callback_url"]
    fields = post(json.dumps(incomplete)).json()["error"]["fields"]
    assert set(fields) == {"callback_url", "recipient.address", "max_attempts"}
    assert post("not json").status_code == 400
    assert post("[]").status_code == 400
    wrong_scenario = post(json.dumps(order("pickup", postal.url)), **{"X-Simulator-Scenario": "return"})
    assert wrong_scenario.status_code == 400
    assert "X-Simulator-Scenario" in wrong_scenario.json()["error"]["fields"]
    with pytest.raises(SimulatorError) as missing:
        carrier.order("EE000000155VN")
    assert missing.value.status == 404


def test_a_pickup_is_collected_then_handed_over_with_signed_callbacks(carrier, postal):
    placed = order("pickup", postal.url, cash_on_delivery_vnd=30_000, documents=[
        {"code": "TP-01", "name": "Tờ khai đăng ký khai sinh", "required": True},
        {"code": "TP-02", "name": "Giấy chứng sinh", "required": True}])
    waybill = carrier.place(placed)["waybill"]

    collected, handed_over = carrier.advance(waybill), carrier.advance(waybill)
    with pytest.raises(SimulatorError) as finished:
        carrier.advance(waybill)

    assert finished.value.status == 409
    assert [collected["event"], handed_over["event"]] == ["collected", "handed_over"]
    assert collected["status"] == handed_over["status"] == 200 and collected["outcome"] == "accepted"
    received = postal.wait_for(2)
    assert all(signed_by_us(r) for r in received)
    first, second = (CarrierCallbackSchema().load(r.payload) for r in received)
    assert (first["waybill"], first["client_reference"]) == (waybill, placed["client_reference"])
    assert first["checklist"] == [{"code": "TP-01", "present": True}, {"code": "TP-02", "present": True}]
    assert first["fees_collected_vnd"] == 30_000
    assert second["received_by"] == "Cán bộ Bộ phận Một cửa"
    assert second["seal_number"] == first["seal_number"] and second["carrier_staff"]
    assert first["event_id"] != second["event_id"]
    assert [c["event_id"] for c in carrier.order(waybill)["callbacks"]] == [first["event_id"], second["event_id"]]
    assert carrier.order(waybill)["state"] == "handed_over"


def test_on_a_schedule_every_order_walks_its_scenario_by_itself(postal):
    with simulator_process(API_KEY, SECRET, step_seconds=0.2, scenario="fail_then_deliver") as scheduled:
        placed = order("delivery", postal.url)
        waybill = scheduled.place(placed)["waybill"]
        received = postal.wait_for(5)
        time.sleep(0.5)  # nothing follows the last step
        view = scheduled.order(waybill)

    assert [r.payload["event"] for r in postal.received] == [
        "picked_up", "out_for_delivery", "attempt_failed", "out_for_delivery", "delivered"]
    assert all(signed_by_us(r) for r in received)
    assert received[2].payload["reason"] == "Không có người nhận"
    assert received[4].payload["recipient_name"] == "Trần Thị Lan"
    assert all(later.at - earlier.at >= 0.1 for earlier, later in zip(received, received[1:]))  # on the schedule
    assert (view["scenario"], view["state"], view["position"]) == ("fail_then_deliver", "delivered", 5)


def test_return_sends_returned_to_sender_after_the_allowed_attempts(carrier, postal):
    waybill = carrier.place(order("delivery", postal.url, max_attempts=3), scenario="return")["waybill"]
    sent = []
    while True:
        try:
            sent.append(carrier.advance(waybill)["event"])
        except SimulatorError as finished:
            assert finished.status == 409
            break

    assert sent == ["picked_up"] + ["out_for_delivery", "attempt_failed"] * 3 + ["returned_to_sender"]
    assert [r.payload["event"] for r in postal.wait_for(8)] == sent
    assert carrier.order(waybill)["state"] == "returned_to_sender"


def test_a_server_error_is_retried_with_the_same_event_and_a_fresh_signature(carrier, postal):
    waybill = carrier.place(order("delivery", postal.url))["waybill"]
    postal.answer(500, 503)

    first = carrier.advance(waybill)
    received = postal.wait_for(3)

    assert (first["status"], first["attempts"], first["outcome"]) == (500, 1, "retrying")
    assert len({r.payload["event_id"] for r in received}) == 1
    assert len({r.body for r in received}) == 1  # the same event, byte for byte
    assert all(signed_by_us(r) for r in received)
    # Each retry waits after the previous answer: 0.1 s, then twice that.
    assert received[1].at - received[0].at >= 0.1 and received[2].at - received[1].at >= 0.2
    deadline = time.monotonic() + 5
    while carrier.order(waybill)["callbacks"][0]["outcome"] != "accepted" and time.monotonic() < deadline:
        time.sleep(0.05)
    callback = carrier.order(waybill)["callbacks"][0]
    assert (callback["status"], callback["attempts"], callback["outcome"]) == (200, 3, "accepted")


def test_a_refusal_is_final_while_429_and_a_dead_receiver_are_tried_again(carrier, postal):
    refused = carrier.place(order("delivery", postal.url))["waybill"]
    postal.answer(404)
    answer = carrier.advance(refused)
    time.sleep(0.6)  # longer than every retry wait this simulator would use
    assert (answer["status"], answer["outcome"], len(postal.received)) == (404, "refused", 1)
    assert carrier.order(refused)["callbacks"][0]["attempts"] == 1

    limited = carrier.place(order("delivery", postal.url))["waybill"]
    postal.answer(429)
    assert carrier.advance(limited)["status"] == 429
    assert postal.wait_for(3)[2].payload["event_id"] == postal.received[1].payload["event_id"]

    dead = carrier.place(order("delivery", f"http://127.0.0.1:{free_port()}/callbacks/carrier"))["waybill"]
    answer = carrier.advance(dead)
    assert (answer["status"], answer["outcome"]) == (None, "retrying") and answer["error"]
    deadline = time.monotonic() + 5
    while carrier.order(dead)["callbacks"][0]["outcome"] == "retrying" and time.monotonic() < deadline:
        time.sleep(0.05)
    callback = carrier.order(dead)["callbacks"][0]
    assert (callback["event_id"], callback["status"], callback["attempts"], callback["outcome"]) == (
        answer["event_id"], None, 3, "gave_up")


def test_bad_and_stale_signatures_and_a_replay_are_what_they_say(carrier, postal):
    waybill = carrier.place(order("delivery", postal.url))["waybill"]
    postal.answer(401, 401, 401)

    bad = carrier.emit(waybill, "picked_up", sign="bad")
    also_bad = requests.post(f"{carrier.base_url}/v1/orders/{waybill}/events?signature=bad",
                             json={"event": "picked_up"}, headers={"Authorization": f"Bearer {API_KEY}"},
                             timeout=10).json()
    stale = carrier.emit(waybill, "picked_up", sign="stale")
    good = carrier.advance(waybill)
    replay = carrier.replay(waybill)

    received = postal.wait_for(5)
    assert [c["signature"] for c in (bad, also_bad, stale, good, replay)] == ["bad", "bad", "stale", "good", "replay"]
    assert [c["status"] for c in (bad, also_bad, stale, good, replay)] == [401, 401, 401, 200, 200]
    assert [c["attempts"] for c in carrier.order(waybill)["callbacks"]] == [1, 1, 1, 1, 1]  # none retried
    assert not signed_by_us(received[0]) and not signed_by_us(received[1])
    stale_stamp = int(received[2].header.split(",")[0].removeprefix("t="))
    assert time.time() - stale_stamp >= 590 and not signed_by_us(received[2])
    assert verify(SECRET.encode(), received[2].body, received[2].header, now=stale_stamp)  # the right key, too old
    assert signed_by_us(received[3])
    assert (received[4].header, received[4].body) == (received[3].header, received[3].body)
    assert replay["event_id"] == good["event_id"]


def test_an_emitted_event_is_sent_exactly_even_out_of_order_or_twice(carrier, postal):
    waybill = carrier.place(order("delivery", postal.url))["waybill"]

    early = carrier.emit(waybill, "delivered", recipient_name="Nguyễn Văn Bình",
                         occurred_at="2026-11-25T10:00:00+07:00")
    duplicate = carrier.emit(waybill, "delivered", event_id=early["event_id"], recipient_name="Nguyễn Văn Bình",
                             occurred_at="2026-11-25T10:00:00+07:00")
    failed = carrier.emit(waybill, "attempt_failed", reason="Sai địa chỉ")
    next_step = carrier.advance(waybill)  # the scenario did not move for commands

    received = postal.wait_for(4)
    assert [r.payload["event"] for r in received] == ["delivered", "delivered", "attempt_failed", "picked_up"]
    assert received[0].payload["recipient_name"] == "Nguyễn Văn Bình"
    assert received[0].payload["occurred_at"] == "2026-11-25T10:00:00+07:00"
    assert duplicate["event_id"] == early["event_id"] and received[1].body == received[0].body
    assert received[1].header is not None and signed_by_us(received[1])
    assert failed["payload"]["reason"] == "Sai địa chỉ" and next_step["event"] == "picked_up"
    with pytest.raises(SimulatorError) as refused:
        carrier.emit(waybill, "teleported")
    assert refused.value.status == 400 and "event" in refused.value.body["error"]["fields"]
    with pytest.raises(SimulatorError) as refused:
        carrier.emit(waybill, "delivered", parcel_colour="red")
    assert refused.value.body["error"]["fields"] == {"parcel_colour": ["Unknown field."]}


def test_it_stops_cleanly_on_sigterm_and_will_not_start_without_its_secrets():
    port = free_port()
    env = {**os.environ, "CARRIER_SIMULATOR_HTTP_PORT": str(port), "CARRIER_SIMULATOR_API_KEY": API_KEY,
           "CARRIER_SIMULATOR_CALLBACK_SECRET": SECRET, "CARRIER_SIMULATOR_STEP_SECONDS": "0.2"}
    process = subprocess.Popen([sys.executable, "-m", "carrier_simulator"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    del env["CARRIER_SIMULATOR_CALLBACK_SECRET"]
    refused = subprocess.run([sys.executable, "-m", "carrier_simulator"], env=env, capture_output=True, text=True,
                             timeout=30)
    assert refused.returncode != 0 and "CARRIER_SIMULATOR_CALLBACK_SECRET" in refused.stderr
