"""The gateway in a nameko container on the real broker, in front of fake catalog, intake and
status and notify services (the real ones are outside its bounded context). The fakes load their input
with the contract schemas and raise the real `motcua.errors`, as the real services do."""
import base64
import hashlib
import json
import socket
import time

import eventlet
import pytest
import requests
from nameko.rpc import rpc

from motcua.dependencies import WorkerContext
from motcua.errors import NotFound, ValidationFailed
from motcua_contracts.catalog import (
    AgencySchema, FieldOfWorkSchema, ProcedurePageSchema, ProcedureSearchSchema, ProcedureVersionSchema,
)
from motcua_contracts.intake import (
    NotificationPreferencesSchema, ReceiptSchema, SubmitDossierResultSchema, SubmitDossierSchema,
)
from motcua_contracts.notify import NotificationLogEntrySchema
from motcua_contracts.status import PublicDossierViewSchema

from tests.service.conftest import start_gateway

CODE = "000.00.00.H49-261125-0007"
KEY = "tk-8f3a2b1c9d4e5f60"
AGENCY = {"code": "000.00.00.H49", "name": "UBND phường Hồng Bàng", "level": "commune", "parent_code": None}
FIELD = {"code": "HT", "name": "Hộ tịch"}


def contract(schema, data: dict) -> dict:
    """What a real service would send: loads under the contract, then dumped to JSON types."""
    return schema().dump(schema().load(data))


PROCEDURE = contract(ProcedureVersionSchema, {
    "procedure_code": "1.001193", "name": "Đăng ký khai sinh", "field": FIELD, "version": 1,
    "status": "published", "valid_from": "2026-01-01", "agency": AGENCY,
    "time_limit": {"working_days": "1", "confirmed": True}, "cutoff_hour": "15:00",
    "fees": [{"code": "LP", "name": "Lệ phí đăng ký khai sinh", "amount_vnd": 0, "confirmed": True}],
    "documents": [{"code": "TK", "name": "Tờ khai đăng ký khai sinh", "mandatory": True, "accepted_types": ["pdf"]}],
    "form_fields": [{"name": "ho_ten_tre", "label": "Họ tên trẻ", "type": "text", "required": True}],
    "service_level": {"legacy": 4, "online": "toan_trinh"}, "channels": ["counter", "online", "postal"],
    "return_methods": ["counter", "postal"], "legal_basis": ["Luật Hộ tịch số 60/2014/QH13"],
    "sources": ["https://dichvucong.haiphong.gov.vn"], "unconfirmed": [], "workflow": [],
})
VIEW = contract(PublicDossierViewSchema, {
    "dossier_code": CODE, "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh",
    "state": "submitted", "national_status_code": 1, "holder_agency_code": AGENCY["code"], "channel": "online",
    "submitted_at": "2026-11-25T03:00:00+00:00", "appointment_date": "2026-11-26",
    "history": [{"at": "2026-11-25T03:00:00+00:00", "action": "register", "to_state": "submitted",
                 "agency_code": AGENCY["code"], "actor_kind": "citizen"}],
})


def receipt(code: str, documents: list[dict]) -> dict:
    return contract(ReceiptSchema, {
        "template": "01", "dossier_code": code, "agency_code": AGENCY["code"], "agency_name": AGENCY["name"],
        "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh", "procedure_version": 1,
        "applicant_name": "Nguyễn Văn An", "channel": "online", "return_method": "counter",
        "received_at": "2026-11-25T03:00:00+00:00", "appointment_date": "2026-11-26",
        "time_limit_working_days": "1", "documents": documents, "fees_vnd": 0,
    })


seen: dict[str, list] = {}  # what the fakes received, for the tests to check


class FakeCatalog:
    name = "catalog"

    @rpc
    def search_procedures(self, query):
        seen.setdefault("search", []).append(query)
        query = ProcedureSearchSchema().load(query)
        summary = {key: PROCEDURE[key] for key in ("procedure_code", "name", "field", "agency", "version",
                                                    "service_level", "channels")}
        summary["time_limit_working_days"] = PROCEDURE["time_limit"]["working_days"]
        return contract(ProcedurePageSchema, {"items": [summary], "page": query["page"],
                                              "per_page": query["per_page"], "total": 1})

    @rpc
    def get_procedure(self, procedure_code):
        if procedure_code != PROCEDURE["procedure_code"]:
            raise NotFound(f"No published procedure {procedure_code}.")
        return PROCEDURE

    @rpc
    def list_agencies(self):
        return AgencySchema(many=True).dump([PROCEDURE["agency"]])

    @rpc
    def list_fields(self):
        return FieldOfWorkSchema(many=True).dump([PROCEDURE["field"]])


class FakeIntake:
    name = "intake"
    first_results: dict[str, dict] = {}

    @rpc
    def submit_dossier(self, submission, idempotency_key):
        submission = SubmitDossierSchema().load(submission)
        seen.setdefault("submit", []).append((submission, idempotency_key))
        if submission["procedure_code"] != PROCEDURE["procedure_code"]:
            raise NotFound(f"No published procedure {submission['procedure_code']}.")
        if not submission["form"].get("ho_ten_tre"):
            raise ValidationFailed("The form has invalid fields.",
                                   {"form.ho_ten_tre": ["Missing data for required field."]})
        if idempotency_key in self.first_results:
            return self.first_results[idempotency_key]
        # The bytes that arrived, hashed: the test compares them with the file it sent.
        documents = [{"document_code": a["document_code"], "name": "Tờ khai", "filename": a["filename"],
                      "sha256": hashlib.sha256(base64.b64decode(a["content_base64"], validate=True)).hexdigest()}
                     for a in submission["attachments"]]
        code = f"000.00.00.H49-261125-{len(seen['submit']):04d}"
        result = contract(SubmitDossierResultSchema, {
            "dossier_code": code, "tracking_key": KEY, "state": "submitted", "appointment_date": "2026-11-26",
            "receipt": receipt(code, documents),
        })
        if idempotency_key:
            self.first_results[idempotency_key] = result
        return result

    @rpc
    def get_receipt(self, dossier_code, tracking_key):
        if (dossier_code, tracking_key) != (CODE, KEY):
            raise NotFound("No dossier matches this code and tracking key.")
        return receipt(CODE, [{"document_code": "TK", "name": "Tờ khai đăng ký khai sinh"}])


class FakeStatus:
    name = "status"
    context = WorkerContext()

    @rpc
    def get_public_view(self, dossier_code, tracking_key):
        seen.setdefault("correlation_ids", []).append(self.context["correlation_id"])
        if (dossier_code, tracking_key) != (CODE, KEY):
            raise NotFound("No dossier matches this code and tracking key.")
        return VIEW


LOG = NotificationLogEntrySchema(many=True).dump(NotificationLogEntrySchema(many=True).load([{
    "notification_id": "7d1b2c3a-0000-4000-8000-000000000001", "template_id": "receipt", "template_version": 1,
    "channel": "email", "status": "sent", "attempts": 1, "created_at": "2026-11-25T03:00:00+00:00",
    "not_before": "2026-11-25T03:00:00+00:00", "sent_at": "2026-11-25T03:00:01+00:00",
    "updated_at": "2026-11-25T03:00:01+00:00"}]))


class FakeNotify:
    name = "notify"

    @rpc
    def set_preferences(self, dossier_code, tracking_key, preferences):
        preferences = NotificationPreferencesSchema().load(preferences)
        seen.setdefault("preferences", []).append((dossier_code, preferences))
        if (dossier_code, tracking_key) != (CODE, KEY):
            raise NotFound("No dossier matches this code and tracking key.")
        return NotificationPreferencesSchema().dump(preferences)

    @rpc
    def notification_log(self, dossier_code):
        seen.setdefault("log", []).append(dossier_code)
        return LOG


class SlowCatalog:
    name = "catalog"

    @rpc
    def get_procedure(self, procedure_code):
        eventlet.sleep(2)
        return PROCEDURE


@pytest.fixture
def start(container_factory, rabbit_config, web_config, metrics_config):
    """Start the fakes, then the gateway with the given settings on web_config's free port."""
    seen.clear()
    FakeIntake.first_results = {}

    def start_all(fakes=(FakeCatalog, FakeIntake, FakeStatus, FakeNotify), **settings):
        start_gateway(container_factory, rabbit_config, web_config, metrics_config, fakes, **settings)

    return start_all


@pytest.fixture
def gateway(start):
    start()


def submission(**changes):
    return {"procedure_code": "1.001193", "applicant": {"full_name": "Nguyễn Văn An"},
            "form": {"ho_ten_tre": "Nguyễn Văn Bình"}, **changes}


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return body["error"]


def test_search_passes_the_validated_query(gateway, web_session):
    response = web_session.get("/api/v1/procedures", params={"q": "khai sinh", "page": "2"})
    assert response.status_code == 200
    assert response.json()["items"][0]["procedure_code"] == "1.001193"
    assert seen["search"] == [{"q": "khai sinh", "page": 2, "per_page": 20}]  # typed; unset ones left out


def test_search_with_a_bad_page_is_422_with_fields(gateway, web_session):
    error = assert_error(web_session.get("/api/v1/procedures", params={"page": "zero", "per_page": "500"}),
                         422, "validation_failed")
    assert set(error["fields"]) == {"page", "per_page"}
    assert "search" not in seen


def test_procedure_and_unknown_procedure(gateway, web_session):
    assert web_session.get("/api/v1/procedures/1.001193").json() == PROCEDURE
    error = assert_error(web_session.get("/api/v1/procedures/9.999999"), 404, "not_found")
    assert "9.999999" in error["message"]


def test_submit_json_is_201_with_location(gateway, web_session):
    content = b"%PDF-1.7 to khai"
    body = submission(attachments=[{"document_code": "TK", "filename": "tk.pdf",
                                    "content_base64": base64.b64encode(content).decode()}])
    response = web_session.post("/api/v1/dossiers", json=body)
    assert response.status_code == 201, response.text
    result = response.json()
    assert response.headers["Location"] == f"/api/v1/dossiers/{result['dossier_code']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert result["receipt"]["documents"][0]["sha256"] == hashlib.sha256(content).hexdigest()


def test_submit_multipart_converts_files_to_base64(gateway, web_session):
    first, second = b"%PDF-1.7\x00\xff page one", bytes(range(256)) * 40
    response = web_session.post(
        "/api/v1/dossiers",
        data={"submission": json.dumps(submission(), ensure_ascii=False)},
        files=[("document.TK", ("to-khai-1.pdf", first, "application/pdf")),
               ("document.TK", ("to-khai-2.pdf", second, "application/pdf"))],
    )
    assert response.status_code == 201, response.text
    documents = response.json()["receipt"]["documents"]
    assert [(d["document_code"], d["filename"], d["sha256"]) for d in documents] == [
        ("TK", "to-khai-1.pdf", hashlib.sha256(first).hexdigest()),
        ("TK", "to-khai-2.pdf", hashlib.sha256(second).hexdigest()),
    ]
    sent, _ = seen["submit"][0]
    assert sent["applicant"]["full_name"] == "Nguyễn Văn An"


def test_malformed_json_is_400(gateway, web_session):
    response = web_session.post("/api/v1/dossiers", data=b'{"procedure_code": ',
                                headers={"Content-Type": "application/json"})
    assert "body" in assert_error(response, 400, "malformed_input")["fields"]
    assert "submit" not in seen


def test_wrong_content_type_is_415(gateway, web_session):
    response = web_session.post("/api/v1/dossiers", data="procedure_code=1.001193",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 415, "unsupported_media_type")


def test_oversize_body_is_413_by_content_length_and_by_stream(gateway, web_session):
    big = b"x" * (1024 * 1024 + 1)  # the gateway runs with GATEWAY_MAX_BODY_MB=1
    by_length = web_session.post("/api/v1/dossiers", data=big, headers={"Content-Type": "application/json"})
    assert_error(by_length, 413, "payload_too_large")
    chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))  # chunked: no Content-Length to check
    by_stream = web_session.post("/api/v1/dossiers", data=chunks, headers={"Content-Type": "application/json"})
    assert_error(by_stream, 413, "payload_too_large")
    assert "submit" not in seen
    page = web_session.post("/tra-cuu", data={"code": CODE, "key": "k" * len(big)})
    assert page.status_code == 413 and "Dữ liệu gửi lên quá lớn" in page.text


def test_a_small_chunked_body_is_read(gateway, web_session):
    body = json.dumps(submission()).encode()
    response = web_session.post("/api/v1/dossiers", data=iter([body[:10], body[10:]]),
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


def test_intake_validation_failure_comes_back_as_422_with_its_fields(gateway, web_session):
    error = assert_error(web_session.post("/api/v1/dossiers", json=submission(form={})), 422, "validation_failed")
    assert error["fields"] == {"form.ho_ten_tre": ["Missing data for required field."]}


def test_gateway_refuses_a_body_outside_the_contract_before_any_rpc(gateway, web_session):
    error = assert_error(web_session.post("/api/v1/dossiers", json={"applicant": {}, "extra": 1}), 422,
                         "validation_failed")
    assert {"procedure_code", "form", "applicant.full_name", "extra"} <= set(error["fields"])
    assert "submit" not in seen


def test_the_idempotency_key_is_forwarded_on_every_try_and_none_is_made_up(gateway, web_session):
    """The replay itself is intake's (tests/unit/test_intake_handlers.py): the gateway passes the key on as sent."""
    headers = {"Idempotency-Key": "retry-4f1c2a9e"}
    first = web_session.post("/api/v1/dossiers", json=submission(), headers=headers)
    again = web_session.post("/api/v1/dossiers", json=submission(), headers=headers)
    other = web_session.post("/api/v1/dossiers", json=submission())
    assert first.status_code == again.status_code == other.status_code == 201
    assert [key for _, key in seen["submit"]] == ["retry-4f1c2a9e", "retry-4f1c2a9e", None]


def test_a_bad_idempotency_key_is_400_with_its_field(gateway, web_session):
    response = web_session.post("/api/v1/dossiers", json=submission(), headers={"Idempotency-Key": "short"})
    assert "Idempotency-Key" in assert_error(response, 400, "malformed_input")["fields"]


def test_dossier_lookup_with_header_or_query_key(gateway, web_session):
    by_header = web_session.get(f"/api/v1/dossiers/{CODE}", headers={"X-Tracking-Key": KEY})
    by_query = web_session.get(f"/api/v1/dossiers/{CODE}", params={"key": KEY})
    assert by_header.status_code == by_query.status_code == 200
    assert by_header.json() == by_query.json() == VIEW
    assert by_header.headers["Cache-Control"] == "no-store"


def test_dossier_lookup_without_key_is_401_and_unknown_is_404(gateway, web_session):
    assert "key" in assert_error(web_session.get(f"/api/v1/dossiers/{CODE}"), 401, "unauthorized")["fields"]
    assert_error(web_session.get(f"/api/v1/dossiers/{CODE}", params={"key": "wrong-key"}), 404, "not_found")
    assert_error(web_session.get("/api/v1/dossiers/000.00.00.H49-261125-9999", params={"key": KEY}), 404, "not_found")
    assert_error(web_session.get("/api/v1/dossiers/not-a-code", params={"key": KEY}), 404, "not_found")


def test_the_notification_log_needs_the_right_tracking_key(gateway, web_session):
    response = web_session.get(f"/api/v1/dossiers/{CODE}/notifications", headers={"X-Tracking-Key": KEY})
    assert response.status_code == 200 and response.json() == LOG
    assert response.headers["Cache-Control"] == "no-store"
    assert_error(web_session.get(f"/api/v1/dossiers/{CODE}/notifications", params={"key": "wrong-key"}), 404,
                 "not_found")
    assert seen["log"] == [CODE]  # the wrong key never reached notify


def test_notification_preferences_are_set_with_the_tracking_key(gateway, web_session):
    url = f"/api/v1/dossiers/{CODE}/notification-preferences"
    response = web_session.put(url, json={"channels": ["email"], "language": "en"}, headers={"X-Tracking-Key": KEY})
    assert response.status_code == 200, response.text
    assert response.json() == {"channels": ["email"], "language": "en", "opted_out": False}
    assert_error(web_session.put(url, json={"channels": ["sms"]}, params={"key": "wrong-key"}), 404, "not_found")
    assert "channels.0" in assert_error(web_session.put(url, json={"channels": ["fax"]}, params={"key": KEY}), 422,
                                      "validation_failed")["fields"]
    assert_error(web_session.put(url, json={"channels": ["sms"]}), 401, "unauthorized")
    assert len(seen["preferences"]) == 2  # the invalid body and the missing key made no RPC


def test_lookups_are_rate_limited_per_client(start, web_session):
    start(LOOKUP_RATE_PER_MINUTE=3)
    for _ in range(3):
        assert web_session.get(f"/api/v1/dossiers/{CODE}", params={"key": KEY}).status_code == 200
    refused = web_session.get(f"/api/v1/dossiers/{CODE}", params={"key": KEY})
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 20
    assert len(seen["correlation_ids"]) == 3  # the refused lookup never reached status


def test_a_failed_lookup_costs_more_than_one(start, web_session):
    start(LOOKUP_RATE_PER_MINUTE=3)
    assert web_session.get(f"/api/v1/dossiers/{CODE}", params={"key": "guess-0001"}).status_code == 404
    assert web_session.get(f"/api/v1/dossiers/{CODE}", params={"key": KEY}).status_code == 429


def test_receipt_json_and_printable_page(gateway, web_session):
    as_json = web_session.get(f"/api/v1/dossiers/{CODE}/receipt", headers={"X-Tracking-Key": KEY})
    assert as_json.json()["dossier_code"] == CODE
    page = web_session.get(f"/dossiers/{CODE}/receipt", params={"key": KEY})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in html and CODE in html
    assert "ngày 26 tháng 11 năm 2026" in html  # the appointment date
    assert "10 giờ 00 phút, ngày 25 tháng 11 năm 2026" in html  # received 03:00 UTC, shown in Vietnam time
    assert "@media print" in html
    missing = web_session.get(f"/dossiers/{CODE}/receipt")
    assert missing.status_code == 401 and "Cần mã tra cứu" in missing.text


def test_openapi_document_validates_and_lists_the_api(gateway, web_session):
    from openapi_spec_validator import validate

    document = web_session.get("/api/v1/openapi.json").json()
    validate(document)
    assert {"/api/v1/procedures", "/api/v1/procedures/{code}", "/api/v1/dossiers", "/api/v1/dossiers/{code}",
            "/api/v1/dossiers/{code}/receipt", "/dossiers/{code}/receipt", "/api/v1/pickups/quote", "/api/v1/pickups",
            "/api/v1/pickups/{pickup_id}"} <= set(document["paths"])


def test_unknown_api_route_is_404_in_the_error_shape(gateway, web_session):
    assert_error(web_session.get("/api/v1/nothing-here"), 404, "not_found")


def test_portal_pages_render_vietnamese_and_escape_input(gateway, web_session):
    home = web_session.get("/", params={"q": "<script>alert(1)</script>"})
    assert home.status_code == 200
    assert "Tìm thủ tục hành chính" in home.text and "Đăng ký khai sinh" in home.text
    assert "<script>alert(1)</script>" not in home.text and "&lt;script&gt;" in home.text
    procedure = web_session.get("/thu-tuc/1.001193")
    assert "Thời hạn giải quyết" in procedure.text and "Luật Hộ tịch số 60/2014/QH13" in procedure.text
    assert 'name="document.TK"' in procedure.text
    missing = web_session.get("/thu-tuc/9.999999")
    assert missing.status_code == 404 and "Không tìm thấy" in missing.text


def test_portal_form_submits_a_dossier_with_its_file(gateway, web_session):
    content = b"%PDF-1.7 from the portal"
    response = web_session.post(
        "/thu-tuc/1.001193",
        data={"applicant.full_name": "Trần Thị Cúc", "form.ho_ten_tre": "Trần Văn Dũng", "return_method": "counter",
              "idempotency_key": "portal-form-0001"},
        files={"document.TK": ("tk.pdf", content, "application/pdf")},
    )
    assert response.status_code == 201, response.text
    assert KEY in response.text and "000.00.00.H49-261125-0001" in response.text
    sent, key = seen["submit"][0]
    assert key == "portal-form-0001" and sent["applicant"]["full_name"] == "Trần Thị Cúc"
    assert base64.b64decode(sent["attachments"][0]["content_base64"]) == content


def test_tracking_page_shows_the_public_view(gateway, web_session):
    assert "Tra cứu tình trạng hồ sơ" in web_session.get("/tra-cuu").text
    found = web_session.post("/tra-cuu", data={"code": CODE, "key": KEY})
    assert found.status_code == 200 and "Mới nộp, chờ tiếp nhận" in found.text and "26/11/2026" in found.text
    wrong = web_session.post("/tra-cuu", data={"code": CODE, "key": "wrong-key"})
    assert wrong.status_code == 404 and "Không tìm thấy hồ sơ" in wrong.text


def test_correlation_id_from_the_header_reaches_the_services_and_comes_back(gateway, web_session):
    response = web_session.get(f"/api/v1/dossiers/{CODE}", params={"key": KEY}, headers={"X-Correlation-ID": "req-42"})
    assert response.headers["X-Correlation-ID"] == "req-42"
    assert seen["correlation_ids"] == ["req-42"]
    refused = "forged\" level=\"ERROR"
    made_up = web_session.get("/api/v1/procedures/9.999999", headers={"X-Correlation-ID": refused})
    assert made_up.status_code == 404 and made_up.headers["X-Correlation-ID"] not in ("", refused)


def test_rpc_timeout_is_503(start, web_session):
    start(fakes=(SlowCatalog,), RPC_TIMEOUT_SECONDS=0.3)
    began = time.monotonic()
    assert_error(web_session.get("/api/v1/procedures/1.001193"), 503, "service_unavailable")
    assert time.monotonic() - began < 1.5


def test_a_service_that_is_not_running_is_503(start, web_session):
    start(fakes=())
    assert_error(web_session.get("/api/v1/procedures/1.001193"), 503, "service_unavailable")


def test_ops_endpoints_and_the_metrics_on_their_own_port_only(gateway, web_session, metrics_config):
    assert web_session.get("/healthz").json() == {"status": "ok"}
    assert web_session.get("/readyz").json() == {"status": "ready"}
    metrics = requests.get(f"http://{metrics_config['METRICS_ADDRESS']}/metrics", timeout=5)
    assert "motcua_entrypoint_calls_total" in metrics.text
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert web_session.get("/metrics").status_code == 404  # the public port serves no metrics


@pytest.mark.parametrize("method, path, allow", [
    ("OPTIONS", "/api/v1/procedures", "GET, HEAD"),
    ("DELETE", "/api/v1/procedures/1.001193", "GET, HEAD"),
    ("GET", "/api/v1/dossiers", "POST"),
    ("POST", "/healthz", "GET, HEAD"),
    ("PUT", "/readyz", "GET, HEAD"),
])
def test_a_method_a_route_does_not_take_is_405_in_the_one_shape_with_the_routes_own_methods(
        gateway, web_session, method, path, allow):
    answer = web_session.request(method, path)
    assert_error(answer, 405, "method_not_allowed")
    assert answer.headers["Allow"] == allow
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_what_no_route_takes_is_a_json_404_under_the_api_and_the_portals_page_elsewhere(gateway, web_session):
    assert_error(web_session.post("/api/v1/nothing-here"), 404, "not_found")
    page = web_session.get("/khong-co-trang-nay")
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")


def test_a_connection_that_sends_nothing_more_is_closed_after_the_read_timeout(start, web_config_port, monkeypatch):
    monkeypatch.setenv("HTTP_SOCKET_TIMEOUT_SECONDS", "0.5")
    start(fakes=())
    with socket.create_connection(("127.0.0.1", web_config_port), timeout=10) as idle:
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and then nothing: a slow client's headers
        assert idle.recv(1024) == b""  # the server hung up; a hold-forever server would make recv time out
