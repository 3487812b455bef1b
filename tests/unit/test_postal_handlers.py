"""postal's use cases (postal.handlers) on SQLite, with the carrier simulator's own order book in-process as the
carrier and a stand-in catalogue, no broker: a booking is placed once per key and its tracking key comes back with
a retry, the carrier's signed reports move a pickup once and forward only, and a completed dossier's result is
ordered from the carrier once however often the news comes."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from carrier_simulator import rules
from carrier_simulator.simulator import Settings as SimulatorSettings
from carrier_simulator.simulator import Simulator
from motcua.errors import (
    Conflict, NotFound, NotYet, PermanentFailure, ServiceUnavailable, Unauthorized, ValidationFailed,
)
from motcua_contracts.postal import CarrierOrderAcceptedSchema, CarrierOrderSchema
from postal import handlers
from postal.carrier import CarrierRefused, CarrierUnavailable
from postal.domain.office import Office
from postal.domain.tariff import Tariff
from postal.models import metadata
from postal.settings import PostalSettings
from tests.service.test_postal_service import HOME, MARITAL, SIGNATURE, completed, submitted
from tests.support import LocalDatabase, PinnedClock, as_received

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # 09:00 in Hải Phòng, a Wednesday
SECRET = "carrier-callback-secret-for-tests"
CODE = "000.00.51.H24-261125-0001"
SETTINGS = PostalSettings(
    tariff=Tariff(home_province="Hải Phòng", home_fee_vnd=25_000, other_fee_vnd=40_000),
    office=Office(province="Hải Phòng", commune="Trung tâm", street="Bộ phận tiếp nhận và trả kết quả", phone=None),
    callback_url="http://postal.invalid/callbacks/carrier", callback_secret=SECRET, max_delivery_attempts=2)


class Catalogue:
    """catalog's RPC as postal calls it."""

    def get_procedure(self, procedure_code: str) -> dict:
        found = {"1.004873": MARITAL, "2.000884": SIGNATURE}.get(procedure_code)
        if found is None:
            raise NotFound("No published procedure has this code.")
        return found


class SimulatedCarrier:
    """postal.carrier.Carrier over the simulator's order book, without its HTTP: the same order answers its
    first waybill again (by client_reference), as the real carrier does; `failure` makes every order fail."""

    name = "simulator"

    def __init__(self):
        self.book = Simulator(SimulatorSettings(api_key="unused", callback_secret=SECRET.encode()))
        self.orders: list[dict] = []
        self.failure: Exception | None = None

    def place_order(self, order: dict) -> dict:
        if self.failure is not None:
            raise self.failure
        schema = CarrierOrderSchema()
        sent = schema.dump(schema.load(schema.dump(order)))  # as postal.carrier.HttpCarrier sends it
        self.orders.append(sent)
        _, view = self.book.place(sent, None)
        return CarrierOrderAcceptedSchema().load({name: view[name] for name in ("waybill", "client_reference",
                                                                                "carrier")})


@pytest.fixture
def db(tmp_path):
    return LocalDatabase(f"sqlite:///{tmp_path}/postal.db", metadata, "postal", create=True)


@pytest.fixture
def carrier():
    return SimulatedCarrier()


def booking(**changes) -> dict:
    start = NOW + timedelta(days=1)
    return {
        "procedure_code": "1.004873",
        "applicant": {"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "email": "lan@example.vn"},
        "address": HOME, "window": {"start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat()},
        "quoted_fee_vnd": 25000, "return_method": "postal", **changes}


def book(db, carrier, body=None, key=None, clock=PinnedClock(NOW)):
    return handlers.book_pickup(db, clock, Catalogue(), carrier, SETTINGS, body or booking(), key)


def report(db, waybill, client_reference, event, at, secret=SECRET, signed_at=NOW, order=None, event_id=None):
    """The carrier's signed callback for `event` on `waybill`, as the simulator sends it."""
    fields = rules.event_fields(order, waybill, event) if order else {"carrier_staff": rules.CARRIER_STAFF}
    body = json.dumps(rules.callback_payload(waybill, client_reference, event, fields, at, event_id)).encode()
    header = rules.signature_header(secret.encode(), body, int(signed_at.timestamp()))
    return handlers.receive_carrier_callback(db, PinnedClock(signed_at), SETTINGS, body, header)


def test_a_booking_is_placed_once_per_key_and_a_retry_gets_the_same_tracking_key(db, carrier):
    first = book(db, carrier, key="booking-key-0001")
    again = book(db, carrier, key="booking-key-0001")
    assert again == first and len(carrier.orders) == 1
    assert carrier.orders[0]["cash_on_delivery_vnd"] == 5000  # the stated fee, collected for the agency
    assert [key for key, _ in db.published()] == ["pickup_booked"]
    view = handlers.get_pickup(db, first["pickup_id"], first["tracking_key"])
    assert view["waybill"] == first["waybill"] and view["state"] == "booked"
    with pytest.raises(NotFound):
        handlers.get_pickup(db, first["pickup_id"], "not-the-key")
    with pytest.raises(Conflict):
        book(db, carrier, booking(quoted_fee_vnd=40000, address={**HOME, "province": "Hà Nội"}), "booking-key-0001")


def test_without_a_key_each_booking_is_a_pickup_of_its_own_with_its_own_tracking_key(db, carrier):
    first, second = book(db, carrier), book(db, carrier)
    assert first["tracking_key"] != second["tracking_key"] and first["pickup_id"] != second["pickup_id"]
    assert [order["client_reference"] for order in carrier.orders] == [first["pickup_id"], second["pickup_id"]]
    assert handlers.get_pickup(db, second["pickup_id"], second["tracking_key"])["waybill"] == second["waybill"]
    with pytest.raises(NotFound):  # one pickup's key opens no other
        handlers.get_pickup(db, second["pickup_id"], first["tracking_key"])


def test_what_the_carrier_or_the_catalogue_refuses_books_nothing(db, carrier):
    with pytest.raises(ValidationFailed) as refused:
        book(db, carrier, booking(procedure_code="2.000884"))
    assert "procedure_code" in refused.value.fields  # at the counter only
    with pytest.raises(ValidationFailed) as refused:
        book(db, carrier, booking(quoted_fee_vnd=20000))
    assert "quoted_fee_vnd" in refused.value.fields
    carrier.failure = CarrierUnavailable("simulator: 503")
    with pytest.raises(ServiceUnavailable):
        book(db, carrier)
    carrier.failure = CarrierRefused("no service to this commune")
    with pytest.raises(ValidationFailed) as refused:
        book(db, carrier)
    assert refused.value.fields == {"address": ["no service to this commune"]}
    assert carrier.orders == [] and db.published() == []


def test_a_signed_report_moves_the_pickup_once_and_never_back(db, carrier):
    booked = book(db, carrier)
    order, waybill, reference = carrier.orders[0], booked["waybill"], booked["pickup_id"]
    at = NOW + timedelta(hours=25)
    collected = report(db, waybill, reference, "collected", at, order=order, event_id="evt-1", signed_at=at)
    assert collected == {"status": "ok", "state": "collected", "applied": True}
    with pytest.raises(Unauthorized):  # the same callback again: a replay
        report(db, waybill, reference, "collected", at, order=order, event_id="evt-1", signed_at=at)
    later = at + timedelta(minutes=1)
    assert report(db, waybill, reference, "collected", at, order=order, event_id="evt-1",
                  signed_at=later)["applied"] is False  # the event itself again, freshly signed: a duplicate
    handed = report(db, waybill, reference, "handed_over", at + timedelta(hours=2), order=order, signed_at=later)
    assert handed["state"] == "handed_over"
    stale = report(db, waybill, reference, "collected", at - timedelta(hours=1), order=order, signed_at=later)
    assert stale == {"status": "ok", "state": "handed_over", "applied": False}
    assert [key for key, _ in db.published()] == ["pickup_booked", "pickup_collected", "pickup_handed_over"]


def test_a_report_not_signed_with_the_shared_secret_or_on_no_order_changes_nothing(db, carrier):
    booked = book(db, carrier)
    with pytest.raises(Unauthorized):
        report(db, booked["waybill"], booked["pickup_id"], "collection_failed", NOW, secret="a forger's secret")
    with pytest.raises(Unauthorized):  # signed ten minutes before it arrives
        body = json.dumps(rules.callback_payload(booked["waybill"], booked["pickup_id"], "collection_failed",
                                                 {"reason": "x"}, NOW)).encode()
        handlers.receive_carrier_callback(db, PinnedClock(NOW), SETTINGS, body,
                                          rules.signature_header(SECRET.encode(), body, int(NOW.timestamp()), "stale"))
    with pytest.raises(NotFound):
        report(db, "EB00000000VN", None, "collected", NOW)
    assert handlers.get_pickup(db, booked["pickup_id"], booked["tracking_key"])["state"] == "booked"
    assert [key for key, _ in db.published()] == ["pickup_booked"]


def test_a_completed_dossier_is_ordered_from_the_carrier_once(db, carrier):
    clock = PinnedClock(NOW)
    with pytest.raises(NotYet):  # status's news before intake's: retried until the delivery request is there
        handlers.order_delivery(db, clock, carrier, SETTINGS, as_received("status", "dossier_completed",
                                                                          completed(CODE)))
    handlers.take_submitted_dossier(db, clock, as_received("intake", "dossier_submitted", submitted(CODE)))
    news = as_received("status", "dossier_completed", completed(CODE))
    handlers.order_delivery(db, clock, carrier, SETTINGS, news)
    handlers.order_delivery(db, clock, carrier, SETTINGS, news)  # redelivered by the broker
    handlers.order_delivery(db, clock, carrier, SETTINGS,  # or announced again under another event id
                            as_received("status", "dossier_completed", completed(CODE)))
    assert [order["kind"] for order in carrier.orders] == ["delivery"]
    assert carrier.orders[0]["recipient"]["address"]["street"] == HOME["street"]
    assert carrier.orders[0]["max_attempts"] == SETTINGS.max_delivery_attempts
    assert [key for key, _ in db.published()] == ["delivery_ordered"]


def test_a_result_at_the_counter_orders_nothing_and_a_refused_delivery_is_parked(db, carrier):
    clock = PinnedClock(NOW)
    counter = "000.00.51.H24-261125-0002"
    handlers.take_submitted_dossier(db, clock, as_received("intake", "dossier_submitted",
                                                           submitted(counter, return_method="counter")))
    handlers.order_delivery(db, clock, carrier, SETTINGS, as_received("status", "dossier_completed",
                                                                      completed(counter, return_method="counter")))
    assert carrier.orders == []
    handlers.take_submitted_dossier(db, clock, as_received("intake", "dossier_submitted", submitted(CODE)))
    carrier.failure = CarrierRefused("address outside the service area")
    with pytest.raises(PermanentFailure):  # no retry can help: the message goes to the dead letters
        handlers.order_delivery(db, clock, carrier, SETTINGS, as_received("status", "dossier_completed",
                                                                          completed(CODE)))
    assert db.published() == []
