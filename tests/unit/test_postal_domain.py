"""postal's rules without broker or database: the tariff, bookings, checklists, both state machines, keys."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from motcua.errors import ValidationFailed
from motcua_contracts.postal import (
    BookPickupSchema, CarrierCallbackSchema, CarrierOrderSchema, DeliveryEventSchema, PickupEventSchema,
    PickupHandedOverSchema, PickupViewSchema,
)
from motcua.fees import fees_due
from postal.domain import delivery, pickup
from postal.domain.office import Office
from postal.domain.tariff import Tariff, province_key, quote
from postal.settings import PostalSettings

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
AGENCY = "000.00.51.H24"
CODE = f"{AGENCY}-261125-0007"
TARIFF = Tariff(home_province="Hải Phòng", home_fee_vnd=25_000, other_fee_vnd=40_000)
OFFICE = Office(province="Hải Phòng", commune="Hồng Bàng", street="Bộ phận Một cửa", phone=None)
CALLBACK_URL = "http://127.0.0.1:8005/callbacks/carrier"

VERSION = {
    "procedure_code": "1.001193", "name": "Thủ tục đăng ký khai sinh", "version": 3,
    "agency": {"code": AGENCY, "name": "UBND xã Vĩnh Bảo", "level": "commune", "parent_code": None},
    "channels": ["counter", "online", "postal"], "return_methods": ["counter", "postal"],
    "fees": [{"code": "le-phi", "name": "Lệ phí", "amount_vnd": 0, "unit": None, "online_amount_vnd": None,
              "confirmed": True, "note": None}],
    "documents": [
        {"code": "to-khai", "name": "Tờ khai", "mandatory": True, "accepted_types": ["pdf"], "max_size_mb": None},
        {"code": "giay-chung-sinh", "name": "Giấy chứng sinh", "mandatory": True, "accepted_types": ["pdf"],
         "max_size_mb": None},
        {"code": "van-ban-uy-quyen", "name": "Văn bản ủy quyền", "mandatory": False, "accepted_types": ["pdf"],
         "max_size_mb": None},
    ],
}


def booking(**changes) -> dict:
    raw = {
        "procedure_code": "1.001193",
        "applicant": {"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "email": "lan@example.vn"},
        "address": {"province": "Hải Phòng", "commune": "Vĩnh Bảo", "street": "Thôn Nam Tiến, số 12"},
        "window": {"start": (NOW + timedelta(days=1)).isoformat(), "end": (NOW + timedelta(days=1, hours=4)).isoformat()},
        "quoted_fee_vnd": 25_000, "return_method": "postal",
    }
    return BookPickupSchema().load({**raw, **changes})


def callback(event: str, at: datetime = NOW, **fields) -> dict:
    return CarrierCallbackSchema().load({"event_id": f"evt-{uuid.uuid4().hex}", "waybill": "EE123456785VN",
                                         "event": event, "occurred_at": at.isoformat(), **fields})


def booked(**changes) -> dict:
    data = booking(**changes)
    accepted = {"waybill": "EE123456785VN", "client_reference": "x", "carrier": "Bưu điện"}
    return pickup.new_pickup(uuid.uuid4(), data, VERSION, accepted, "a" * 64, 0, NOW)


def ordered() -> dict:
    request = {"dossier_code": CODE, "agency_code": AGENCY, "name": "Nguyễn Thị Lan", "phone": "0912345678",
               "address": {"province": "Hải Phòng", "commune": "Vĩnh Bảo", "street": "Thôn Nam Tiến"}}
    accepted = {"waybill": "EE123456785VN", "client_reference": str(delivery.delivery_id(CODE)), "carrier": "VNPost"}
    return delivery.new_delivery(request, accepted, 2, NOW - timedelta(days=1), NOW)


def apply(rules, row: dict, event: dict) -> dict:
    """The row after the event, whether or not it moved."""
    return {**row, **(rules.apply_event(row, event) or {})}


# --- the tariff -------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["Hải Phòng", "hai phong", "HẢI PHÒNG", "  Hải   Phòng ", "Thành phố Hải Phòng",
                                     "TP. Hải Phòng", "tp hai phong"])
def test_the_home_province_is_recognised_however_it_is_written(written):
    assert TARIFF.pickup_fee(written) == 25_000


@pytest.mark.parametrize("other", ["Hà Nội", "Quảng Ninh", "Hải Dương", "Phòng"])
def test_any_other_province_pays_the_other_fee(other):
    assert TARIFF.pickup_fee(other) == 40_000


def test_province_keys_ignore_case_diacritics_and_d_with_stroke():
    assert province_key("Đà Nẵng") == province_key("da nang") == "da nang"


def test_the_tariff_and_office_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("POSTAL_HOME_PROVINCE", "Quảng Ninh")
    monkeypatch.setenv("POSTAL_PICKUP_FEE_VND", "20000")
    monkeypatch.delenv("POSTAL_PICKUP_FEE_OTHER_PROVINCE_VND", raising=False)
    monkeypatch.delenv("POSTAL_OFFICE_PROVINCE", raising=False)
    settings = PostalSettings.from_env()
    assert (settings.tariff.pickup_fee("quang ninh"), settings.tariff.pickup_fee("Hải Phòng")) == (20_000, 40_000)
    assert settings.office.province == "Quảng Ninh"  # the office is in the home province unless set


def test_agency_fees_are_stated_only_when_unambiguous():
    def fee(amount, confirmed=True):
        return {"amount_vnd": amount, "confirmed": confirmed}
    assert fees_due([], "postal") == 0
    assert fees_due([fee(0), fee(0)], "postal") == 0
    assert fees_due([fee(8000)], "postal") == 8000
    assert fees_due([fee(0), fee(8000)], "postal") is None  # alternatives or a sum: the catalogue does not say
    assert fees_due([fee(None)], "postal") is None
    assert fees_due([fee(5000, confirmed=False)], "postal") is None


def test_a_quote_names_the_fee_for_the_province_and_the_agency_fees():
    assert quote(VERSION, "Hà Nội", TARIFF) == {"procedure_code": "1.001193", "province": "Hà Nội",
                                               "fee_vnd": 40_000, "agency_fees_vnd": 0}


# --- booking ----------------------------------------------------------------------------------


def test_a_good_booking_passes():
    pickup.check_booking(VERSION, booking(), TARIFF, NOW)


def test_a_procedure_without_the_postal_channel_is_refused_on_its_code():
    with pytest.raises(ValidationFailed) as refused:
        pickup.check_booking(dict(VERSION, channels=["counter"]), booking(), TARIFF, NOW)
    assert list(refused.value.fields) == ["procedure_code"]
    assert "bưu chính" in refused.value.fields["procedure_code"][0] and "by post" in refused.value.fields[
        "procedure_code"][0]


def test_every_problem_of_a_booking_is_reported_together():
    data = booking(address={"province": "Hà Nội", "commune": "  ", "street": "   "},
                   window={"start": (NOW - timedelta(hours=5)).isoformat(),
                           "end": (NOW - timedelta(hours=1)).isoformat()})
    with pytest.raises(ValidationFailed) as refused:
        pickup.check_booking(dict(VERSION, return_methods=["counter"]), data, TARIFF, NOW)
    fields = refused.value.fields
    assert set(fields) == {"address.commune", "address.street", "return_method", "window.end", "quoted_fee_vnd"}
    assert "40000" in fields["quoted_fee_vnd"][0]  # the quote for Hà Nội, to ask again


def test_a_blank_delivery_address_is_incomplete():
    data = booking(delivery_address={"province": "Hải Phòng", "commune": "Lê Chân", "street": "  "})
    with pytest.raises(ValidationFailed) as refused:
        pickup.check_booking(VERSION, data, TARIFF, NOW)
    assert list(refused.value.fields) == ["delivery_address.street"]


def test_the_checklist_is_every_document_of_the_version_with_its_required_flag_and_nothing_ticked():
    assert pickup.checklist(VERSION["documents"]) == [
        {"document_code": "to-khai", "name": "Tờ khai", "required": True, "present": None},
        {"document_code": "giay-chung-sinh", "name": "Giấy chứng sinh", "required": True, "present": None},
        {"document_code": "van-ban-uy-quyen", "name": "Văn bản ủy quyền", "required": False, "present": None},
    ]


def test_the_carrier_order_goes_from_the_citizen_to_the_office_with_the_documents():
    data = booking()
    pickup_id = uuid.uuid4()
    order = CarrierOrderSchema().load(CarrierOrderSchema().dump(
        pickup.carrier_order(pickup_id, data, VERSION, 8000, OFFICE, CALLBACK_URL)))
    assert order["client_reference"] == str(pickup_id) and order["kind"] == "pickup"
    assert order["sender"]["name"] == "Nguyễn Thị Lan" and order["sender"]["address"] == data["address"]
    assert order["recipient"]["name"] == "UBND xã Vĩnh Bảo"
    assert [d["code"] for d in order["documents"]] == ["to-khai", "giay-chung-sinh", "van-ban-uy-quyen"]
    assert order["cash_on_delivery_vnd"] == 8000 and order["callback_url"] == CALLBACK_URL


def test_the_result_goes_back_to_the_pickup_address_unless_another_is_given():
    assert booked()["delivery_address"] == booking()["address"]
    other = {"province": "Hải Phòng", "commune": "Lê Chân", "street": "Số 5 Trần Nguyên Hãn"}
    assert booked(delivery_address=other)["delivery_address"] == other
    assert booked(return_method="counter")["delivery_address"] is None


def test_a_retried_booking_gets_the_same_pickup_id_and_a_new_one_without_a_key():
    assert pickup.pickup_id_for("k" * 64, "b" * 64) == pickup.pickup_id_for("k" * 64, "b" * 64)
    assert pickup.pickup_id_for("k" * 64, "b" * 64) != pickup.pickup_id_for("k" * 64, "c" * 64)
    assert pickup.pickup_id_for(None, "b" * 64) != pickup.pickup_id_for(None, "b" * 64)


def test_the_booked_view_and_event_fit_their_contracts_and_only_the_booking_carries_the_applicant():
    row = booked()
    PickupViewSchema().load(PickupViewSchema().dump(pickup.view(row)))
    event = PickupEventSchema().load(PickupEventSchema().dump(pickup.event_data(row)))
    assert event["applicant"]["full_name"] == "Nguyễn Thị Lan"
    collected = apply(pickup, row, callback("collected", checklist=[]))
    assert pickup.event_data(collected)["applicant"] is None


# --- the pickup state machine ------------------------------------------------------------------


def test_a_pickup_is_collected_with_the_carriers_ticks_and_fees_then_handed_over():
    row = booked()
    row = apply(pickup, row, callback("collected", NOW + timedelta(hours=2), fees_collected_vnd=8000,
                                      seal_number="NP123", carrier_staff="Bưu tá An",
                                      checklist=[{"code": "to-khai", "present": True},
                                                 {"code": "giay-chung-sinh", "present": False}]))
    assert row["state"] == "collected" and row["fees_collected_vnd"] == 8000
    assert [item["present"] for item in row["checklist"]] == [True, False, None]  # not reported: unknown
    row = apply(pickup, row, callback("handed_over", NOW + timedelta(hours=5), received_by="Cán bộ Một cửa"))
    assert row["state"] == "handed_over" and row["handed_over_at"] == NOW + timedelta(hours=5)
    handed = PickupHandedOverSchema().load(PickupHandedOverSchema().dump(pickup.handed_over_data(row)))
    assert handed["handover"]["seal_number"] == "NP123" and handed["handover"]["carrier_staff"] == "Bưu tá An"
    assert handed["delivery_address"] == booking()["address"] and handed["tracking_key_hash"] == "a" * 64
    row = {**row, **pickup.register(CODE, NOW + timedelta(hours=6))}
    assert (row["state"], pickup.view(row)["dossier_code"]) == ("registered", CODE)


def test_a_checklist_naming_a_document_the_procedure_does_not_list_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        pickup.apply_event(booked(), callback("collected", checklist=[{"code": "ho-chieu", "present": True}]))
    assert "ho-chieu" in refused.value.fields["checklist"][0]


def test_a_handover_without_who_signed_or_a_seal_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        pickup.apply_event(booked(), callback("handed_over"))
    assert set(refused.value.fields) == {"received_by", "seal_number", "carrier_staff"}


def test_a_handover_before_its_collection_moves_the_pickup_and_the_late_collection_changes_nothing():
    row = apply(pickup, booked(), callback("handed_over", NOW + timedelta(hours=5), received_by="Cán bộ",
                                           seal_number="NP1", carrier_staff="An"))
    assert row["state"] == "handed_over"
    assert pickup.apply_event(row, callback("collected", NOW + timedelta(hours=2), checklist=[])) is None


def test_a_failed_collection_ends_the_pickup_and_needs_a_reason():
    with pytest.raises(ValidationFailed):
        pickup.apply_event(booked(), callback("collection_failed"))
    row = apply(pickup, booked(), callback("collection_failed", reason="Không liên hệ được"))
    assert (row["state"], row["failure_reason"]) == ("collection_failed", "Không liên hệ được")
    assert pickup.apply_event(row, callback("collected", checklist=[])) is None
    assert pickup.apply_event(apply(pickup, booked(), callback("collected", checklist=[])),
                              callback("collection_failed", reason="late")) is None


def test_a_delivery_event_on_a_pickup_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        pickup.apply_event(booked(), callback("delivered", recipient_name="Lan"))
    assert "event" in refused.value.fields


# --- the delivery state machine ----------------------------------------------------------------


def test_the_delivery_id_is_fixed_by_the_dossier_code():
    assert delivery.delivery_id(CODE) == delivery.delivery_id(CODE) != delivery.delivery_id(CODE[:-1] + "8")


def test_a_delivery_request_keeps_the_name_phone_and_address_only_for_a_postal_return():
    submitted = {"dossier_code": CODE, "agency_code": AGENCY, "return_method": "postal",
                 "applicant": {"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "email": "lan@example.vn"},
                 "delivery_address": {"province": "Hải Phòng", "commune": "Vĩnh Bảo", "street": "Thôn Nam Tiến"}}
    assert delivery.delivery_request(submitted) == {
        "dossier_code": CODE, "agency_code": AGENCY, "name": "Nguyễn Thị Lan", "phone": "0912345678",
        "address": submitted["delivery_address"]}
    assert delivery.delivery_request(dict(submitted, return_method="counter")) is None


def test_the_delivery_order_goes_from_the_office_to_the_citizen():
    request = {"dossier_code": CODE, "agency_code": AGENCY, "name": "Lan", "phone": None,
               "address": {"province": "Hải Phòng", "commune": "Vĩnh Bảo", "street": "Thôn Nam Tiến"}}
    order = CarrierOrderSchema().load(delivery.carrier_order(request, OFFICE, 3, CALLBACK_URL))
    assert order["client_reference"] == str(delivery.delivery_id(CODE)) and order["kind"] == "delivery"
    assert order["recipient"]["address"] == request["address"] and order["max_attempts"] == 3
    assert order["sender"]["address"]["street"] == "Bộ phận Một cửa"


def test_a_delivery_goes_through_two_failed_attempts_to_returned_to_sender():
    row, at = ordered(), NOW
    for event, extra in [("picked_up", {}), ("out_for_delivery", {}), ("attempt_failed", {"reason": "Vắng nhà"}),
                         ("out_for_delivery", {}), ("attempt_failed", {"reason": "Vắng nhà"}),
                         ("returned_to_sender", {})]:
        at += timedelta(hours=1)
        changes = delivery.apply_event(row, callback(event, at, **extra))
        assert changes is not None, event
        row = {**row, **changes}
        DeliveryEventSchema().load(DeliveryEventSchema().dump(delivery.event_data(row)))
    assert (row["state"], row["attempts"], row["reason"]) == ("returned_to_sender", 2, "Vắng nhà")


def test_delivered_carries_the_proof_of_delivery():
    with pytest.raises(ValidationFailed):
        delivery.apply_event(ordered(), callback("delivered"))
    row = apply(delivery, ordered(), callback("delivered", NOW + timedelta(hours=3), recipient_name="Nguyễn Thị Lan"))
    data = delivery.event_data(row)
    assert (data["state"], data["recipient_name"], data["at"]) == ("delivered", "Nguyễn Thị Lan",
                                                                   NOW + timedelta(hours=3))
    assert row["delivered_at"] == NOW + timedelta(hours=3)


def test_delivered_before_picked_up_is_delivered_and_the_late_picked_up_changes_nothing():
    row = apply(delivery, ordered(), callback("delivered", NOW + timedelta(hours=3), recipient_name="Lan"))
    assert row["state"] == "delivered"
    assert delivery.apply_event(row, callback("picked_up", NOW + timedelta(hours=1))) is None


def test_inside_the_attempt_cycle_the_later_report_wins():
    row = apply(delivery, ordered(), callback("out_for_delivery", NOW + timedelta(hours=2)))
    row = apply(delivery, row, callback("attempt_failed", NOW + timedelta(hours=4), reason="Vắng nhà"))
    stale = callback("out_for_delivery", NOW + timedelta(hours=3))  # sent before the failure, arrived after it
    assert delivery.apply_event(row, stale) is None
    again = apply(delivery, row, callback("out_for_delivery", NOW + timedelta(hours=26)))
    assert (again["state"], again["attempts"]) == ("out_for_delivery", 1)
    assert delivery.apply_event(again, callback("picked_up", NOW + timedelta(hours=27))) is None


def test_nothing_moves_a_returned_delivery():
    row = apply(delivery, ordered(), callback("returned_to_sender"))
    for event, extra in [("delivered", {"recipient_name": "Lan"}), ("attempt_failed", {"reason": "x"}),
                         ("out_for_delivery", {})]:
        assert delivery.apply_event(row, callback(event, NOW + timedelta(days=1), **extra)) is None


def test_a_pickup_event_on_a_delivery_is_refused():
    with pytest.raises(ValidationFailed):
        delivery.apply_event(ordered(), callback("handed_over", received_by="x"))


