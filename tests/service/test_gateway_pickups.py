"""Postal pickups through the gateway: the JSON API and the portal's pages, in a nameko container on the
real broker, in front of FAKE catalog and postal services. The fakes load what arrives with the contract
schemas and raise the real `motcua.errors`, as the real services do; postal's own rules (the tariff, the
procedure's channels) are proven against the real postal elsewhere."""
import re
import unicodedata

import pytest
from nameko.rpc import rpc

from motcua.errors import Conflict, NotFound, ValidationFailed
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.postal import BookPickupResultSchema, BookPickupSchema, PickupQuoteSchema, PickupViewSchema

from tests.service.conftest import start_gateway

PICKUP_ID = "7d1b2c3a-0000-4000-8000-000000000001"
KEY = "pk-5b8e0c2d7a914f36"
CODE = "000.00.00.H49-261127-0003"
AGENCY = {"code": "000.00.00.H49", "name": "UBND phường Hồng Bàng", "level": "commune", "parent_code": None}


def contract(schema, data: dict) -> dict:
    return schema().dump(schema().load(data))


PROCEDURE = contract(ProcedureVersionSchema, {
    "procedure_code": "1.001193", "name": "Đăng ký khai sinh", "field": {"code": "HT", "name": "Hộ tịch"},
    "version": 1, "status": "published", "valid_from": "2026-01-01", "agency": AGENCY,
    "time_limit": {"working_days": "1", "confirmed": True}, "cutoff_hour": "15:00", "fees": [],
    "documents": [{"code": "TK", "name": "Tờ khai đăng ký khai sinh", "mandatory": True, "accepted_types": ["pdf"]}],
    "form_fields": [], "service_level": {"legacy": 4, "online": "toan_trinh"},
    "channels": ["counter", "online", "postal"], "return_methods": ["counter", "postal"],
    "legal_basis": ["Luật Hộ tịch số 60/2014/QH13"], "sources": ["https://dichvucong.haiphong.gov.vn"],
    "unconfirmed": [], "workflow": [],
})
COUNTER_ONLY = contract(ProcedureVersionSchema, {**PROCEDURE, "procedure_code": "2.000001",
                                                 "channels": ["counter"], "return_methods": ["counter"]})
BOOKING = {
    "procedure_code": "1.001193",
    "applicant": {"full_name": "Trần Thị Cúc", "phone": "0912345678", "email": "cuc@example.org"},
    "address": {"province": "Hải Phòng", "commune": "Phường Hồng Bàng", "street": "12 Lê Lợi"},
    "window": {"start": "2026-11-27T08:00:00+07:00", "end": "2026-11-27T11:30:00+07:00"},
    "quoted_fee_vnd": 25000,
}
CHECKLIST = [{"document_code": "TK", "name": "Tờ khai đăng ký khai sinh", "required": True, "present": None}]

seen: dict[str, list] = {}  # what the fakes received, for the tests to check


def fee(province: str) -> int:
    plain = unicodedata.normalize("NFD", province).encode("ascii", "ignore").decode().lower()
    return 25000 if plain == "hai phong" else 40000


class FakeCatalog:
    name = "catalog"

    @rpc
    def get_procedure(self, procedure_code):
        found = {p["procedure_code"]: p for p in (PROCEDURE, COUNTER_ONLY)}.get(procedure_code)
        if found is None:
            raise NotFound(f"No published procedure {procedure_code}.")
        return found


class FakePostal:
    name = "postal"
    first_results: dict[str, tuple[dict, dict]] = {}

    @rpc
    def quote_pickup(self, procedure_code, province):
        seen.setdefault("quote", []).append((procedure_code, province))
        if procedure_code != PROCEDURE["procedure_code"]:
            raise NotFound(f"No published procedure {procedure_code}.")
        return contract(PickupQuoteSchema, {"procedure_code": procedure_code, "province": province,
                                            "fee_vnd": fee(province), "agency_fees_vnd": 8000})

    @rpc
    def book_pickup(self, booking, idempotency_key):
        booking = BookPickupSchema().load(booking)
        seen.setdefault("book", []).append((booking, idempotency_key))
        if idempotency_key in self.first_results:
            first_booking, result = self.first_results[idempotency_key]
            if first_booking != booking:
                raise Conflict("This Idempotency-Key was used with another booking.")
            return result
        if booking["quoted_fee_vnd"] != fee(booking["address"]["province"]):
            raise ValidationFailed("The quoted fee is not the current one.",
                                   {"quoted_fee_vnd": [f"The fee is now {fee(booking['address']['province'])}."]})
        result = contract(BookPickupResultSchema, {
            "pickup_id": PICKUP_ID, "waybill": "EE123456789VN", "state": "booked", "procedure_code": "1.001193",
            "agency_code": AGENCY["code"], "window": BookPickupSchema().dump(booking)["window"],
            "quoted_fee_vnd": booking["quoted_fee_vnd"], "return_method": booking["return_method"],
            "checklist": CHECKLIST, "booked_at": "2026-11-26T02:00:00+00:00", "tracking_key": KEY,
        })
        if idempotency_key:
            self.first_results[idempotency_key] = (booking, result)
        return result

    @rpc
    def get_pickup(self, pickup_id, tracking_key):
        seen.setdefault("get", []).append(pickup_id)
        if (pickup_id, tracking_key) != (PICKUP_ID, KEY):
            raise NotFound("No pickup matches this id and tracking key.")
        return contract(PickupViewSchema, {
            "pickup_id": PICKUP_ID, "waybill": "EE123456789VN", "state": "registered", "procedure_code": "1.001193",
            "agency_code": AGENCY["code"], "window": BOOKING["window"], "quoted_fee_vnd": 25000,
            "return_method": "postal", "fees_collected_vnd": 33000,
            "checklist": [{**CHECKLIST[0], "present": True},
                          {"document_code": "GCS", "name": "Giấy chứng sinh", "required": True, "present": False}],
            "booked_at": "2026-11-26T02:00:00+00:00", "collected_at": "2026-11-27T02:00:00+00:00",
            "handed_over_at": "2026-11-27T07:00:00+00:00", "dossier_code": CODE,
        })


@pytest.fixture
def start(container_factory, rabbit_config, web_config, metrics_config):
    seen.clear()
    FakePostal.first_results = {}

    def start_all(fakes=(FakeCatalog, FakePostal), **settings):
        start_gateway(container_factory, rabbit_config, web_config, metrics_config, fakes, **settings)

    return start_all


@pytest.fixture
def gateway(start):
    start()


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    return body["error"]


# --- the JSON API ------------------------------------------------------------------------------


def test_the_quote_is_postal_s_answer_for_the_procedure_and_province(gateway, web_session):
    response = web_session.get("/api/v1/pickups/quote", params={"procedure_code": "1.001193", "province": "Hà Nội"})
    assert response.status_code == 200, response.text
    assert response.json() == {"procedure_code": "1.001193", "province": "Hà Nội", "fee_vnd": 40000,
                               "agency_fees_vnd": 8000}
    assert_error(web_session.get("/api/v1/pickups/quote", params={"procedure_code": "9.9", "province": "Hà Nội"}),
                 404, "not_found")
    error = assert_error(web_session.get("/api/v1/pickups/quote", params={"procedure_code": "1.001193"}), 422,
                         "validation_failed")
    assert set(error["fields"]) == {"province"}
    assert len(seen["quote"]) == 2  # the incomplete query made no RPC


def test_a_booking_is_201_with_the_tracking_key_once_and_no_cache(gateway, web_session):
    response = web_session.post("/api/v1/pickups", json=BOOKING, headers={"Idempotency-Key": "pickup-0001"})
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["tracking_key"] == KEY and result["waybill"] == "EE123456789VN"
    assert response.headers["Location"] == f"/api/v1/pickups/{PICKUP_ID}"
    assert response.headers["Cache-Control"] == "no-store"
    booking, key = seen["book"][0]
    assert key == "pickup-0001" and booking["address"]["street"] == "12 Lê Lợi"


def test_a_retried_booking_forwards_its_key_and_postal_s_conflict_is_409(gateway, web_session):
    """The replay itself is postal's (tests/service/test_postal_service.py): the gateway passes the key on and
    answers postal's Conflict as 409."""
    headers = {"Idempotency-Key": "pickup-retry-01"}
    first = web_session.post("/api/v1/pickups", json=BOOKING, headers=headers)
    again = web_session.post("/api/v1/pickups", json=BOOKING, headers=headers)
    assert first.status_code == again.status_code == 201
    changed = {**BOOKING, "note": "Gọi trước 15 phút"}
    assert_error(web_session.post("/api/v1/pickups", json=changed, headers=headers), 409, "conflict")
    assert [key for _, key in seen["book"]] == ["pickup-retry-01"] * 3


def test_bad_bookings_are_4xx_with_field_messages_before_any_rpc(gateway, web_session):
    incomplete = {**BOOKING, "address": {"province": "Hải Phòng", "commune": ""}}
    error = assert_error(web_session.post("/api/v1/pickups", json=incomplete), 422, "validation_failed")
    assert {"address.commune", "address.street"} <= set(error["fields"])
    assert_error(web_session.post("/api/v1/pickups", data=b'{"procedure_code": ',
                                  headers={"Content-Type": "application/json"}), 400, "malformed_input")
    assert_error(web_session.post("/api/v1/pickups", data="procedure_code=1.001193",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 415, "unsupported_media_type")
    assert_error(web_session.post("/api/v1/pickups", json=BOOKING, headers={"Idempotency-Key": "short"}), 400,
                 "malformed_input")
    assert "book" not in seen


def test_a_stale_quote_is_refused_by_postal_with_its_field(gateway, web_session):
    stale = {**BOOKING, "quoted_fee_vnd": 20000}
    error = assert_error(web_session.post("/api/v1/pickups", json=stale), 422, "validation_failed")
    assert error["fields"] == {"quoted_fee_vnd": ["The fee is now 25000."]}


def test_a_pickup_is_looked_up_with_its_tracking_key(gateway, web_session):
    by_header = web_session.get(f"/api/v1/pickups/{PICKUP_ID}", headers={"X-Tracking-Key": KEY})
    by_query = web_session.get(f"/api/v1/pickups/{PICKUP_ID.upper()}", params={"key": KEY})
    assert by_header.status_code == by_query.status_code == 200, by_header.text
    assert by_header.json() == by_query.json()
    assert by_header.json()["dossier_code"] == CODE and by_header.headers["Cache-Control"] == "no-store"
    assert "key" in assert_error(web_session.get(f"/api/v1/pickups/{PICKUP_ID}"), 401, "unauthorized")["fields"]
    assert_error(web_session.get(f"/api/v1/pickups/{PICKUP_ID}", params={"key": "wrong-key"}), 404, "not_found")
    malformed = assert_error(web_session.get("/api/v1/pickups/not-a-uuid", params={"key": KEY}), 400,
                             "malformed_input")
    assert "pickup_id" in malformed["fields"]
    assert seen["get"] == [PICKUP_ID, PICKUP_ID, PICKUP_ID]  # the malformed id never reached postal


def test_pickup_lookups_share_the_rate_limit(start, web_session):
    start(LOOKUP_RATE_PER_MINUTE=3)
    assert web_session.get(f"/api/v1/pickups/{PICKUP_ID}", params={"key": KEY}).status_code == 200
    assert web_session.get(f"/api/v1/pickups/{PICKUP_ID}", params={"key": "guess-0001"}).status_code == 404
    refused = web_session.get(f"/api/v1/pickups/{PICKUP_ID}", params={"key": KEY})
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(seen["get"]) == 2


def test_pickups_are_503_when_postal_is_not_running(start, web_session):
    start(fakes=())
    assert_error(web_session.post("/api/v1/pickups", json=BOOKING), 503, "service_unavailable")


# --- the portal ---------------------------------------------------------------------------------

PORTAL_FORM = {
    "procedure_code": "1.001193", "applicant.full_name": "Trần Thị Cúc", "applicant.phone": "0912 345 678",
    "applicant.email": "", "address.province": "Hải Phòng", "address.commune": "Phường Hồng Bàng",
    "address.street": "12 Lê Lợi", "window.date": "2026-11-27", "window.start": "08:00", "window.end": "11:30",
    "return_method": "counter", "delivery_address.province": "", "delivery_address.commune": "",
    "delivery_address.street": "", "note": "",
}


def hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_a_procedure_open_to_the_postal_channel_offers_the_booking_form(gateway, web_session):
    page = web_session.get("/thu-tuc/1.001193")
    assert page.status_code == 200
    assert 'action="/buu-chinh/dat-lich"' in page.text and 'name="address.province"' in page.text
    assert 'name="delivery_address.street"' in page.text  # the online form's delivery address too
    counter = web_session.get("/thu-tuc/2.000001")
    assert counter.status_code == 200 and "/buu-chinh/dat-lich" not in counter.text


def test_the_portal_shows_the_quote_then_books_and_shows_the_tracking_key(gateway, web_session):
    confirm = web_session.post("/buu-chinh/dat-lich", data=PORTAL_FORM)
    assert confirm.status_code == 200, confirm.text
    assert "25.000 đồng" in confirm.text and "08:00 - 11:30, ngày 27 tháng 11 năm 2026" in confirm.text
    assert "book" not in seen and seen["quote"] == [("1.001193", "Hải Phòng")]
    carried = hidden(confirm.text)
    assert carried["quoted_fee_vnd"] == "25000" and carried["address.street"] == "12 Lê Lợi"
    assert len(carried["idempotency_key"]) >= 16

    booked = web_session.post("/buu-chinh/dat-lich", data=carried)
    again = web_session.post("/buu-chinh/dat-lich", data=carried)  # a resend books once
    assert booked.status_code == again.status_code == 201, booked.text
    assert KEY in booked.text and "EE123456789VN" in booked.text and "Tờ khai đăng ký khai sinh" in booked.text
    assert booked.headers["Cache-Control"] == "no-store"
    assert f"/buu-chinh/tra-cuu?pickup={PICKUP_ID}" in booked.text
    (first, key), (second, same_key) = seen["book"]
    assert key == same_key == carried["idempotency_key"] and first == second
    assert first["applicant"]["phone"] == "0912345678" and first["window"]["start"].isoformat() == \
        "2026-11-27T08:00:00+07:00"


def test_the_portal_names_the_missing_fields_before_quoting(gateway, web_session):
    refused = web_session.post("/buu-chinh/dat-lich", data={**PORTAL_FORM, "address.street": "", "window.date": ""})
    assert refused.status_code == 422 and "address.street" in refused.text and "window" in refused.text
    assert "Thông tin chưa hợp lệ" in refused.text and "quote" not in seen


def test_the_pickup_lookup_page_shows_state_checklist_and_the_dossier_code(gateway, web_session):
    empty = web_session.get("/buu-chinh/tra-cuu", params={"pickup": PICKUP_ID})
    assert empty.status_code == 200 and f'value="{PICKUP_ID}"' in empty.text
    found = web_session.post("/buu-chinh/tra-cuu", data={"pickup": PICKUP_ID, "key": KEY})
    assert found.status_code == 200 and found.headers["Cache-Control"] == "no-store"
    html = found.text
    assert "Đã tiếp nhận, có mã hồ sơ" in html and "EE123456789VN" in html and CODE in html
    assert "08:00 - 11:30, ngày 27 tháng 11 năm 2026" in html and "33.000 đồng" in html
    assert "Có trong hồ sơ" in html and "Thiếu" in html  # the carrier's checklist
    wrong = web_session.post("/buu-chinh/tra-cuu", data={"pickup": PICKUP_ID, "key": "wrong-key"})
    assert wrong.status_code == 404 and "Không tìm thấy lịch nhận hồ sơ" in wrong.text
    malformed = web_session.post("/buu-chinh/tra-cuu", data={"pickup": "EE123456789VN", "key": KEY})
    assert malformed.status_code == 400 and "không đúng định dạng" in malformed.text
    missing = web_session.post("/buu-chinh/tra-cuu", data={"pickup": PICKUP_ID})
    assert missing.status_code == 400
