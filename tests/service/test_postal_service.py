"""postal as a nameko service on the real RabbitMQ and PostgreSQL, beside a stand-in catalog and the carrier
simulator (its own process, calling back over HTTP like a real carrier): bookings, signed callbacks,
the handover that intake registers, and deliveries ordered from status's completions."""
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
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from prometheus_client import REGISTRY

from carrier_simulator.testing import simulator_process
from motcua.envelope import make_envelope
from motcua.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from motcua.webhooks import sign
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.envelope import EnvelopeSchema
from motcua_contracts.events import load_event_data
from motcua_contracts.postal import BookPickupResultSchema
from postal.domain.delivery import delivery_id
from motcua.tracking import sha256_hex
from postal.models import metadata
from postal.service import PostalService
from tests.conftest import truncate_all
from tests.support import dossier_submitted, query_rows, take_messages

API_KEY = "carrier-api-key-for-tests"
SECRET = "carrier-callback-secret-for-tests"
AGENCY = "000.00.51.H24"
HOME = {"province": "Thành phố Hải Phòng", "commune": "Vĩnh Bảo", "street": "Thôn Nam Tiến, số 12"}


def definition(code: str, name: str, channels: list[str], fees: list[dict], documents: list[dict]) -> dict:
    """A published procedure version as catalog's get_procedure returns it."""
    return ProcedureVersionSchema().dump(ProcedureVersionSchema().load({
        "procedure_code": code, "name": name, "field": {"code": "ho-tich", "name": "Hộ tịch"}, "version": 2,
        "status": "published", "valid_from": "2026-01-01", "valid_to": None,
        "agency": {"code": AGENCY, "name": "UBND xã Vĩnh Bảo", "level": "commune", "parent_code": None},
        "time_limit": {"working_days": "3", "confirmed": True, "note": None}, "cutoff_hour": "15:00",
        "fees": fees, "documents": documents, "form_fields": [], "service_level": {"legacy": 4, "online": "toan_trinh"},
        "channels": channels, "return_methods": ["counter", "postal"] if "postal" in channels else ["counter"],
        "legal_basis": [], "sources": [], "unconfirmed": [], "workflow": [],
    }))


def document(code: str, name: str, mandatory: bool) -> dict:
    return {"code": code, "name": name, "mandatory": mandatory, "accepted_types": ["pdf"], "max_size_mb": None}


MARITAL = definition(  # by post, one stated fee the carrier collects for the agency
    "1.004873", "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân", ["counter", "online", "postal"],
    [{"code": "xac-nhan", "name": "Lệ phí", "amount_vnd": 5000, "unit": "lần", "online_amount_vnd": 0,
      "confirmed": True, "note": None}],
    [document("to-khai", "Tờ khai", True), document("giay-to-tuy-than", "Giấy tờ tùy thân", True),
     document("van-ban-uy-quyen", "Văn bản ủy quyền", False)])
SIGNATURE = definition(  # at the counter only: the signer must be there
    "2.000884", "Thủ tục chứng thực chữ ký", ["counter"],
    [{"code": "phi", "name": "Phí", "amount_vnd": 10000, "unit": None, "online_amount_vnd": None, "confirmed": True,
      "note": None}], [document("van-ban-ky", "Văn bản ký", True)])


class FakeCatalog:
    """catalog as postal sees it on the bus: only get_procedure."""

    name = "catalog"
    procedures = {"1.004873": MARITAL, "2.000884": SIGNATURE}

    @rpc
    def get_procedure(self, procedure_code):
        if procedure_code not in self.procedures:
            raise NotFound("No published procedure has this code.")
        return self.procedures[procedure_code]


def booking(**changes) -> dict:
    start = datetime.now(timezone.utc) + timedelta(days=1)
    return dict({
        "procedure_code": "1.004873",
        "applicant": {"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "email": "lan@example.vn"},
        "address": HOME, "window": {"start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat()},
        "quoted_fee_vnd": 25000, "return_method": "postal",
    }, **changes)


@pytest.fixture(scope="module")
def database(postgres_database):
    return postgres_database("postal")


@pytest.fixture(scope="module")
def carrier():
    with simulator_process(API_KEY, SECRET) as client:
        yield client


@pytest.fixture
def config(rabbit_config, web_config, web_config_port, database, carrier, monkeypatch):
    truncate_all(database)
    for name, value in {
        "POSTAL_CARRIER_URL": carrier.base_url, "POSTAL_CARRIER_API_KEY": API_KEY,
        "POSTAL_CARRIER_CALLBACK_SECRET": SECRET, "POSTAL_CARRIER_TIMEOUT_SECONDS": "5",
        "POSTAL_CALLBACK_URL": f"http://127.0.0.1:{web_config_port}/callbacks/carrier",
        "POSTAL_HOME_PROVINCE": "Hải Phòng", "POSTAL_PICKUP_FEE_VND": "25000",
        "POSTAL_PICKUP_FEE_OTHER_PROVINCE_VND": "40000", "POSTAL_MAX_DELIVERY_ATTEMPTS": "2",
        "OUTBOX_POLL_SECONDS": "0.2",
    }.items():
        monkeypatch.setenv(name, value)
    return {**rabbit_config, **web_config, "DATABASE_URL": database, "RETRY_DELAYS_SECONDS": [1, 1, 1]}


@pytest.fixture
def code() -> str:
    return new_code()


@pytest.fixture
def catalog(container_factory, rabbit_config):
    container = container_factory(FakeCatalog, rabbit_config)
    container.start()
    return container


@pytest.fixture
def postal(container_factory, config, catalog):
    container = container_factory(PostalService, config)
    container.start()
    return container


@pytest.fixture
def events(config):
    """Takes what postal published, per event type, from a queue bound to postal.events as a consumer's would be."""
    exchange = Exchange("postal.events", type="topic", durable=True)
    queue = Queue(f"test-postal-{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="#")
    with Connection(config["AMQP_URI"]) as connection:
        queue(connection.default_channel).declare()
    seen: list[dict] = []

    def take(event_type: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for envelope in seen:
                if envelope["event_type"] == event_type:
                    seen.remove(envelope)
                    envelope = EnvelopeSchema().load(envelope)
                    return dict(envelope, data=load_event_data("postal", event_type, envelope["data"]))
            seen.extend(take_messages(config["AMQP_URI"], queue.name, 50, timeout=0.3))
        raise AssertionError(f"no {event_type} event arrived; saw {[e['event_type'] for e in seen]}")

    def types(timeout: float = 1.0) -> list[str]:
        seen.extend(take_messages(config["AMQP_URI"], queue.name, 50, timeout=timeout))
        return [e["event_type"] for e in seen]

    take.types = types
    return take


def call(container, method: str, *args):
    with entrypoint_hook(container, method) as hook:
        return hook(*args)


def rows(url: str, table: str) -> list[dict]:
    return [dict(row) for row in query_rows(url, sa.select(metadata.tables[table]))]


def metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def publish(container, producer: str, event_type: str, data: dict, envelope: dict | None = None,
            handler: str | None = None) -> dict:
    envelope = envelope or make_envelope(event_type, producer=producer, data=data, dossier_code=data["dossier_code"])
    with entrypoint_waiter(container, handler or f"on_{event_type}", timeout=10):
        with Connection(container.config["AMQP_URI"]) as conn:
            exchange = Exchange(f"{producer}.events", type="topic", durable=True)
            conn.Producer().publish(envelope, exchange=exchange, routing_key=event_type, serializer="json",
                                    delivery_mode=2, declare=[exchange])
    return envelope


def new_code() -> str:
    """A dossier code no other test used: the simulator remembers every order's client_reference (its code)."""
    return f"{AGENCY}-261125-{next(_SEQUENCE):04d}"


_SEQUENCE = iter(range(1, 10_000))


def submitted(code: str, pickup_id=None, return_method="postal") -> dict:
    """intake's dossier_submitted for a dossier whose result goes back by post."""
    return dossier_submitted(
        dossier_code=code, procedure_code="1.004873", procedure_name=MARITAL["name"], procedure_version=2,
        agency_code=AGENCY, channel="postal" if pickup_id else "online", return_method=return_method,
        submitted_at=datetime.now(timezone.utc), appointment_date=date(2026, 11, 30), time_limit_working_days="3",
        applicant={"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "email": "lan@example.vn"},
        delivery_address=HOME if return_method == "postal" else None, pickup_id=pickup_id)


def completed(code: str, return_method="postal") -> dict:
    return {
        "dossier_code": code, "procedure_code": "1.004873", "action": "complete", "from_state": "in_progress",
        "to_state": "completed", "national_status_code": 9, "agency_code": AGENCY, "channel": "online",
        "actor": {"kind": "official", "id": "official-7", "agency_code": AGENCY},
        "appointment_date": date(2026, 11, 30), "return_method": return_method,
    }


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        eventlet.sleep(0.05)
    raise AssertionError("condition not met in time")


def post_callback(port: int, payload: dict, secret: str = SECRET, at: int | None = None) -> requests.Response:
    body = json.dumps(payload).encode()
    header = sign(secret.encode(), body, int(time.time()) if at is None else at)
    return requests.post(f"http://127.0.0.1:{port}/callbacks/carrier", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "X-Carrier-Signature": header})


# --- booking ----------------------------------------------------------------------------------


def test_a_quote_is_the_home_or_other_province_fee_with_the_agency_fees(postal):
    assert call(postal, "quote_pickup", "1.004873", "hai phong") == {
        "procedure_code": "1.004873", "province": "hai phong", "fee_vnd": 25000, "agency_fees_vnd": 5000}
    assert call(postal, "quote_pickup", "1.004873", "Hà Nội")["fee_vnd"] == 40000
    with pytest.raises(ValidationFailed) as refused:
        call(postal, "quote_pickup", "2.000884", "Hải Phòng")
    assert list(refused.value.fields) == ["procedure_code"]


def test_a_booking_places_the_carrier_order_stores_the_pickup_and_announces_it(
        postal, config, carrier, events, web_config_port):
    before = metric("motcua_postal_pickups_total", state="booked")

    result = call(postal, "book_pickup", booking())

    assert BookPickupResultSchema().load(result)
    assert (result["state"], result["quoted_fee_vnd"], result["agency_code"]) == ("booked", 25000, AGENCY)
    assert [(i["document_code"], i["required"], i["present"]) for i in result["checklist"]] == [
        ("to-khai", True, None), ("giay-to-tuy-than", True, None), ("van-ban-uy-quyen", False, None)]
    order = carrier.order(result["waybill"])
    assert (order["kind"], order["client_reference"]) == ("pickup", result["pickup_id"])
    assert order["order"]["sender"]["address"] == HOME and order["order"]["cash_on_delivery_vnd"] == 5000
    assert order["order"]["callback_url"] == f"http://127.0.0.1:{web_config_port}/callbacks/carrier"

    announced = events("pickup_booked")
    assert announced["dossier_code"] is None
    assert announced["data"]["applicant"]["full_name"] == "Nguyễn Thị Lan"
    assert str(announced["data"]["pickup_id"]) == result["pickup_id"]
    [stored] = rows(config["DATABASE_URL"], "pickup")
    assert stored["tracking_key_hash"] == sha256_hex(result["tracking_key"])
    assert result["tracking_key"] not in json.dumps(stored, default=str)
    assert metric("motcua_postal_pickups_total", state="booked") == before + 1

    view = call(postal, "get_pickup", result["pickup_id"], result["tracking_key"])
    assert view == {k: v for k, v in result.items() if k != "tracking_key"}
    for pickup_id, key in [(result["pickup_id"], "wrong-key"), (str(uuid.uuid4()), result["tracking_key"]),
                           ("not-an-id", result["tracking_key"])]:
        with pytest.raises(NotFound) as hidden:
            call(postal, "get_pickup", pickup_id, key)
        assert hidden.value.message == "No pickup has this id and tracking key."


@pytest.mark.parametrize("change, field, error", [
    ({"procedure_code": "2.000884"}, "procedure_code", ValidationFailed),
    ({"procedure_code": "9.999999"}, "procedure_code", NotFound),
    ({"address": {"province": "Hải Phòng", "street": "Số 12"}}, "address.commune", ValidationFailed),
    ({"address": dict(HOME, street="   ")}, "address.street", ValidationFailed),
    ({"quoted_fee_vnd": 20000}, "quoted_fee_vnd", ValidationFailed),
    ({"address": dict(HOME, province="Hà Nội")}, "quoted_fee_vnd", ValidationFailed),  # 40000 there
    ({"applicant": {"full_name": "Lan", "phone": None}}, "applicant.phone", ValidationFailed),
])
def test_a_booking_that_cannot_be_taken_is_refused_with_the_field_and_nothing_is_stored(
        postal, config, change, field, error):
    with pytest.raises(error) as refused:
        call(postal, "book_pickup", booking(**change))
    assert field in refused.value.fields
    assert rows(config["DATABASE_URL"], "pickup") == [] and rows(config["DATABASE_URL"], "outbox_message") == []


def test_a_procedure_that_does_not_take_dossiers_by_post_is_refused_in_words(postal):
    with pytest.raises(ValidationFailed) as refused:
        call(postal, "book_pickup", booking(procedure_code="2.000884"))
    assert "cannot be filed by post" in refused.value.fields["procedure_code"][0]


def test_when_the_carrier_is_down_the_booking_is_unavailable_and_nothing_is_stored(
        container_factory, config, catalog, monkeypatch):
    monkeypatch.setenv("POSTAL_CARRIER_URL", "http://127.0.0.1:9")  # nothing listens on discard
    container = container_factory(PostalService, config)
    container.start()
    before = metric("motcua_postal_booking_refusals_total", reason="service_unavailable")
    with pytest.raises(ServiceUnavailable):
        call(container, "book_pickup", booking())
    assert rows(config["DATABASE_URL"], "pickup") == [] and rows(config["DATABASE_URL"], "outbox_message") == []
    assert metric("motcua_postal_booking_refusals_total", reason="service_unavailable") == before + 1


def test_a_retried_booking_gets_the_first_result_and_one_carrier_order(postal, config, carrier):
    body = booking()
    first = call(postal, "book_pickup", body, "pickup-retry-0001")
    assert call(postal, "book_pickup", body, "pickup-retry-0001") == first  # the tracking key too
    assert len(rows(config["DATABASE_URL"], "pickup")) == 1
    assert len(rows(config["DATABASE_URL"], "outbox_message")) == 1
    [record] = rows(config["DATABASE_URL"], "booking_key")
    assert first["tracking_key"] not in json.dumps(record, default=str)
    assert call(postal, "get_pickup", first["pickup_id"], first["tracking_key"])["waybill"] == first["waybill"]

    with pytest.raises(Conflict) as conflict:
        call(postal, "book_pickup", dict(body, note="Gọi trước 30 phút"), "pickup-retry-0001")
    assert list(conflict.value.fields) == ["idempotency_key"]
    with pytest.raises(ValidationFailed):
        call(postal, "book_pickup", body, "short")
    assert len(rows(config["DATABASE_URL"], "pickup")) == 1


def test_a_booking_retried_after_its_answer_was_lost_gets_the_same_waybill(postal, config, carrier):
    """The order reached the carrier but nothing was stored (the first attempt died): the same key and
    body make the same client_reference, so the carrier answers its first waybill."""
    body = booking()
    result = call(postal, "book_pickup", body, "pickup-lost-0001")
    truncate_all(config["DATABASE_URL"])
    again = call(postal, "book_pickup", body, "pickup-lost-0001")
    assert (again["pickup_id"], again["waybill"]) == (result["pickup_id"], result["waybill"])


# --- the pickup through the carrier's callbacks ------------------------------------------------------


def test_collection_and_handover_publish_the_checklist_fees_and_the_record_intake_needs(code, 
        postal, config, carrier, events):
    before = metric("motcua_postal_booking_to_handover_seconds_count")
    result = call(postal, "book_pickup", booking())

    collected = carrier.advance(result["waybill"])
    assert (collected["event"], collected["status"]) == ("collected", 200)
    data = events("pickup_collected")["data"]
    assert [item["present"] for item in data["checklist"]] == [True, True, True]
    assert (data["fees_collected_vnd"], data["applicant"]) == (5000, None)  # the carrier took the agency's fee

    handed = carrier.advance(result["waybill"])
    assert (handed["event"], handed["status"]) == ("handed_over", 200)
    handover = events("pickup_handed_over")["data"]
    assert str(handover["pickup_id"]) == result["pickup_id"] and handover["return_method"] == "postal"
    assert handover["tracking_key_hash"] == sha256_hex(result["tracking_key"])  # one key opens the dossier too
    assert [item["present"] for item in handover["checklist"]] == [True, True, True]
    assert handover["fees_collected_vnd"] == 5000 and handover["delivery_address"] == HOME
    assert handover["handover"]["received_by"] and handover["handover"]["seal_number"]
    assert handover["applicant"] == {"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "email": "lan@example.vn"}
    view = call(postal, "get_pickup", result["pickup_id"], result["tracking_key"])
    assert view["state"] == "handed_over" and view["handed_over_at"] is not None
    assert metric("motcua_postal_booking_to_handover_seconds_count") == before + 1

    # intake registers it: the pickup ends with its dossier code, and the result's address is kept.
    publish(postal, "intake", "dossier_submitted", submitted(code, pickup_id=result["pickup_id"]))
    view = call(postal, "get_pickup", result["pickup_id"], result["tracking_key"])
    assert (view["state"], view["dossier_code"]) == ("registered", code)
    [request] = rows(config["DATABASE_URL"], "delivery_request")
    assert (request["name"], request["address"], request["phone"]) == ("Nguyễn Thị Lan", HOME, "0912345678")


def test_a_failed_collection_is_announced_with_its_reason(postal, carrier, events):
    result = call(postal, "book_pickup", booking())
    answer = carrier.emit(result["waybill"], "collection_failed", reason="Không liên hệ được người gửi")
    assert answer["status"] == 200
    assert events("pickup_collection_failed")["data"]["reason"] == "Không liên hệ được người gửi"
    assert carrier.emit(result["waybill"], "collected")["status"] == 200  # recorded, moves nothing
    assert call(postal, "get_pickup", result["pickup_id"], result["tracking_key"])["state"] == "collection_failed"


# --- callbacks: signatures, replays, unknown waybills, duplicates, disorder ----------------------------


def test_bad_stale_and_replayed_signatures_are_refused_and_change_nothing(postal, config, carrier):
    result = call(postal, "book_pickup", booking())
    refused = metric("motcua_postal_callbacks_total", outcome="refused_signature")
    replays = metric("motcua_postal_callbacks_total", outcome="replay")

    assert carrier.emit(result["waybill"], "collected", sign="bad")["status"] == 401
    assert carrier.emit(result["waybill"], "collected", sign="stale")["status"] == 401
    assert call(postal, "get_pickup", result["pickup_id"], result["tracking_key"])["state"] == "booked"

    assert carrier.advance(result["waybill"])["status"] == 200
    assert carrier.replay(result["waybill"])["status"] == 401
    assert metric("motcua_postal_callbacks_total", outcome="refused_signature") == refused + 2
    assert metric("motcua_postal_callbacks_total", outcome="replay") == replays + 1
    assert len(rows(config["DATABASE_URL"], "carrier_event")) == 1


def test_a_captured_callback_sent_again_under_a_respelled_header_is_still_a_replay(postal, config, web_config_port):
    result = call(postal, "book_pickup", booking())
    body = json.dumps({"event_id": "evt-failed-1", "waybill": result["waybill"], "event": "collection_failed",
                       "occurred_at": datetime.now(timezone.utc).isoformat(), "reason": "Không có người ở nhà"}).encode()
    stamp = int(time.time())
    digest = sign(SECRET.encode(), body, stamp).split(",")[1]
    url = f"http://127.0.0.1:{web_config_port}/callbacks/carrier"

    def send(header):
        return requests.post(url, data=body, timeout=10, headers={"X-Carrier-Signature": header}).status_code

    assert send(f"t={stamp},{digest}") == 200
    # A leading zero or a second `t` once slipped past the replay memory; spaces around the parts are harmless.
    assert [send(h) for h in (f"t=0{stamp},{digest}", f"t=1,t={stamp},{digest}", f"t={stamp} , {digest}")] == [
        401, 401, 401]
    assert len(rows(config["DATABASE_URL"], "carrier_event")) == 1


def test_a_callback_for_an_unknown_waybill_is_refused(postal, web_config_port):
    answer = post_callback(web_config_port, {"event_id": "evt-unknown-1", "waybill": "EE000000000VN",
                                             "event": "picked_up", "occurred_at": datetime.now(timezone.utc).isoformat()})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_malformed_and_wrong_kind_callbacks_are_refused(postal, carrier, web_config_port):
    result = call(postal, "book_pickup", booking())
    now = datetime.now(timezone.utc).isoformat()
    not_json = requests.post(f"http://127.0.0.1:{web_config_port}/callbacks/carrier", data=b"{",
                             headers={"X-Carrier-Signature": sign(SECRET.encode(), b"{", int(time.time()))}, timeout=10)
    assert not_json.status_code == 400
    off_contract = post_callback(web_config_port, {"waybill": result["waybill"], "event": "collected"})
    assert off_contract.status_code == 400 and "event_id" in off_contract.json()["error"]["fields"]
    wrong_kind = post_callback(web_config_port, {"event_id": "evt-kind-1", "waybill": result["waybill"],
                                                 "event": "delivered", "recipient_name": "Lan", "occurred_at": now})
    assert wrong_kind.status_code == 422 and "event" in wrong_kind.json()["error"]["fields"]


def test_a_duplicate_event_changes_nothing_and_an_early_delivered_is_not_undone(code, postal, config, carrier, events):
    publish(postal, "intake", "dossier_submitted", submitted(code))
    publish(postal, "status", "dossier_completed", completed(code))
    waybill = events("delivery_ordered")["data"]["waybill"]

    now = datetime.now(timezone.utc)
    delivered = carrier.emit(waybill, "delivered", occurred_at=now, recipient_name="Nguyễn Thị Lan")
    assert delivered["status"] == 200
    duplicates = metric("motcua_postal_callbacks_total", outcome="duplicate")
    again = carrier.emit(waybill, "delivered", event_id=delivered["event_id"], occurred_at=now,
                         recipient_name="Someone else")
    assert again["status"] == 200
    assert metric("motcua_postal_callbacks_total", outcome="duplicate") == duplicates + 1
    late = carrier.emit(waybill, "picked_up", occurred_at=now - timedelta(hours=2))  # sent before, arrived after
    assert late["status"] == 200

    assert events("result_delivered")["data"]["recipient_name"] == "Nguyễn Thị Lan"
    assert "result_shipped" not in events.types()
    [row] = rows(config["DATABASE_URL"], "delivery")
    assert (row["state"], row["recipient_name"]) == ("delivered", "Nguyễn Thị Lan")
    recorded = {(e["event"], e["applied"]) for e in rows(config["DATABASE_URL"], "carrier_event")}
    assert recorded == {("delivered", True), ("picked_up", False)}  # the late one is kept, not applied


# --- deliveries ------------------------------------------------------------------------------------


def test_a_completed_dossier_returned_by_post_is_ordered_once_and_delivered(code, postal, config, carrier, events):
    delivered_before = metric("motcua_postal_delivery_outcomes_total", outcome="delivered")
    timing_before = metric("motcua_postal_completion_to_delivery_seconds_count")
    publish(postal, "intake", "dossier_submitted", submitted(code))
    envelope = publish(postal, "status", "dossier_completed", completed(code))

    ordered = events("delivery_ordered")
    data = ordered["data"]
    assert ordered["dossier_code"] == code and data["delivery_id"] == delivery_id(code)
    assert (data["state"], data["attempts"], data["max_attempts"]) == ("ordered", 0, 2)
    order = carrier.order(data["waybill"])
    assert (order["kind"], order["client_reference"], data["carrier"]) == (
        "delivery", str(delivery_id(code)), order["carrier"])
    assert order["order"]["recipient"]["address"] == HOME and order["order"]["max_attempts"] == 2

    publish(postal, "status", "dossier_completed", None, envelope=envelope)  # the broker delivers it again
    publish(postal, "status", "dossier_completed", completed(code))  # or status announces it again
    assert len(rows(config["DATABASE_URL"], "delivery")) == 1

    for expected in ("picked_up", "out_for_delivery", "delivered"):
        assert carrier.advance(data["waybill"])["status"] == 200
    assert events("result_shipped")["data"]["state"] == "picked_up"
    assert events("delivery_out_for_delivery")["data"]["state"] == "out_for_delivery"
    delivered = events("result_delivered")
    assert delivered["dossier_code"] == code
    assert delivered["data"]["recipient_name"] == "Nguyễn Thị Lan" and delivered["data"]["state"] == "delivered"
    assert events.types().count("delivery_ordered") == 0  # ordered once
    assert metric("motcua_postal_delivery_outcomes_total", outcome="delivered") == delivered_before + 1
    assert metric("motcua_postal_completion_to_delivery_seconds_count") == timing_before + 1


def test_a_result_returned_at_the_counter_orders_nothing(code, postal, config, events):
    publish(postal, "intake", "dossier_submitted", submitted(code, return_method="counter"))
    publish(postal, "status", "dossier_completed", completed(code, return_method="counter"))
    assert rows(config["DATABASE_URL"], "delivery") == [] and rows(config["DATABASE_URL"], "delivery_request") == []
    assert events.types(timeout=0.5) == []


def test_a_completion_that_arrives_before_the_address_is_retried_until_it_is_there(code, postal, config, events):
    publish(postal, "status", "dossier_completed", completed(code))  # fails: intake's event is still on its way
    publish(postal, "intake", "dossier_submitted", submitted(code))
    assert events("delivery_ordered", timeout=15)["dossier_code"] == code


def test_two_failed_attempts_return_the_result_to_the_counter(code, container_factory, config, catalog, events,
                                                               monkeypatch):
    with simulator_process(API_KEY, SECRET, scenario="return") as returning:
        monkeypatch.setenv("POSTAL_CARRIER_URL", returning.base_url)
        container = container_factory(PostalService, config)
        container.start()
        publish(container, "intake", "dossier_submitted", submitted(code))
        publish(container, "status", "dossier_completed", completed(code))
        waybill = events("delivery_ordered")["data"]["waybill"]
        answers = [returning.advance(waybill) for _ in returning.order(waybill)["script"]]
    assert [a["event"] for a in answers] == ["picked_up", "out_for_delivery", "attempt_failed", "out_for_delivery",
                                             "attempt_failed", "returned_to_sender"]
    assert {a["status"] for a in answers} == {200}
    failed = [events("delivery_attempt_failed")["data"] for _ in range(2)]
    assert [f["attempts"] for f in failed] == [1, 2] and all(f["reason"] for f in failed)
    returned = events("result_returned_to_sender")["data"]
    assert (returned["state"], returned["attempts"], returned["max_attempts"]) == ("returned_to_sender", 2, 2)
    [row] = rows(config["DATABASE_URL"], "delivery")
    assert row["state"] == "returned_to_sender"


def test_postal_serves_its_probes_and_metrics(postal, web_config_port):
    assert requests.get(f"http://127.0.0.1:{web_config_port}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"http://127.0.0.1:{web_config_port}/readyz", timeout=5).json() == {"status": "ready"}
    assert "motcua_postal_callbacks_total" in requests.get(f"http://127.0.0.1:{web_config_port}/metrics", timeout=5).text


def test_without_a_callback_secret_at_start_up_callbacks_are_unavailable(
        container_factory, config, catalog, web_config_port, monkeypatch):
    monkeypatch.delenv("POSTAL_CARRIER_CALLBACK_SECRET")
    container_factory(PostalService, config).start()
    assert post_callback(web_config_port, {}).status_code == 503
