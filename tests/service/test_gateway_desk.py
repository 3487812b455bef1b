"""The officials' desk and its notification log, the reports, the citizen's supplement and the token tool: the gateway in
a nameko container on the real broker, in front of FAKE status, intake and notify services. The fakes
load what arrives with the contract schemas and raise the real `motcua.errors`; who may do what
is status's rule, proven against the real status elsewhere, so the fakes only record the official."""
import base64
import csv
import hashlib
import io
import json
import time
from datetime import timedelta

import jwt
import pytest
from nameko.rpc import rpc

from motcua.errors import Conflict, Forbidden, NotFound, Unauthorized
from motcua_contracts.desk import (
    DeskActionSchema, DeskDossierDetailSchema, DeskPageSchema, DeskQuerySchema, OfficialSchema, TokenRevokedSchema,
)
from motcua_contracts.intake import SupplementResultSchema, SupplementSchema
from motcua_contracts.reports import NationalSyncRecordSchema, OnTimeReportSchema, ReportQuerySchema
from motcua_contracts.status import ActionOutcomeSchema

from gateway import tokens
from gateway.auth import TokenKeys, issue_token
from tests.service.conftest import start_gateway

SECRET = "test-secret-of-at-least-32-bytes-long"
KEYS = TokenKeys("HS256", SECRET, SECRET)
AGENCY = "000.00.00.H49"
CODE = "000.00.00.H49-261125-0007"
TRACKING_KEY = "tk-8f3a2b1c9d4e5f60"


def contract(schema, data: dict) -> dict:
    return schema().dump(schema().load(data))


DOSSIER = {
    "dossier_code": CODE, "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh", "state": "received",
    "national_status_code": 2, "agency_code": AGENCY, "holder_agency_code": AGENCY, "assignee": None,
    "channel": "online", "submitted_at": "2026-11-25T03:00:00+00:00", "received_at": "2026-11-25T04:00:00+00:00",
    "appointment_date": "2026-11-26", "overdue": False, "version": 2,
}
PAGE = contract(DeskPageSchema, {"items": [DOSSIER], "page": 1, "per_page": 50, "total": 1})
DETAIL = contract(DeskDossierDetailSchema, {**DOSSIER, "history": [{
    "at": "2026-11-25T04:00:00+00:00", "action": "accept", "from_state": "submitted", "to_state": "received",
    "agency_code": AGENCY, "actor": {"kind": "official", "id": "nva", "agency_code": AGENCY}}],
    "apologies": [], "paused_working_days": 0})
CURRENT = {"state": "received", "version": 2, "holder_agency_code": AGENCY, "assignee": None}  # as status sends it
REPORT = contract(OnTimeReportSchema, {"from": "2026-01-01", "to": "2026-03-31", "group_by": "agency", "rows": [{
    "key": AGENCY, "received": 4, "completed_on_time": 3, "completed_late": 1, "unfinished_late": 0,
    "unfinished_on_time": 0, "on_time_rate": 0.75, "online_share": 0.5,
    "by_channel": {"online": 2, "counter": 2}, "by_state": {"completed": 4}}]})
RECORDS = [contract(NationalSyncRecordSchema, {
    "MaHoSo": CODE, "MaTTHC": "1.001193", "TenTTHC": "Đăng ký khai sinh", "DonViXuLy": AGENCY, "KenhThucHien": 2,
    "NgayTiepNhan": "20261125110000", "NgayHenTra": "20261126170000", "TrangThaiHoSo": 9,
    "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP", "Gia": 0}]}), contract(NationalSyncRecordSchema, {
    "MaHoSo": "000.00.00.H49-261125-0008", "MaTTHC": "1.001193", "TenTTHC": "Đăng ký khai sinh",
    "DonViXuLy": AGENCY, "KenhThucHien": 1, "NgayHenTra": "20261126170000", "TrangThaiHoSo": 2, "DanhSachLePhi": []})]

seen: dict[str, list] = {}  # what the fakes received, for the tests to check
revoked: set[str] = set()


def official(received: dict) -> dict:
    """As status would: the official under the contract, and refused once its token is revoked."""
    loaded = OfficialSchema().load(received)
    if loaded["token_id"] in revoked:
        raise Unauthorized("The token was revoked.")
    return received


class FakeStatus:
    name = "status"

    @rpc
    def desk_list(self, official_, query):
        seen.setdefault("desk_list", []).append((official(official_), DeskQuerySchema().load(query)))
        return PAGE

    @rpc
    def desk_get(self, official_, dossier_code):
        seen.setdefault("desk_get", []).append((official(official_), dossier_code))
        # As status answers: a dossier the official's agency never held does not exist for them.
        if official_["agency_code"] != AGENCY or dossier_code != CODE:
            raise NotFound(f"No dossier {dossier_code}.")
        return DETAIL

    @rpc
    def desk_action(self, official_, dossier_code, command, idempotency_key):
        command = DeskActionSchema().load(command)
        seen.setdefault("desk_action", []).append((official(official_), dossier_code, command, idempotency_key))
        if command["expected_version"] not in (None, CURRENT["version"]):
            raise Conflict("The dossier changed meanwhile.", {"current": CURRENT})
        return contract(ActionOutcomeSchema, {"dossier_code": dossier_code, "state": "in_progress", "version": 3,
                                              "appointment_date": "2026-11-26"})

    @rpc
    def report_on_time(self, official_, query):
        seen.setdefault("report", []).append((official(official_), ReportQuerySchema().load(query)))
        if "city_admin" not in official_["roles"]:
            raise Forbidden("Reports are for city admins.")
        return REPORT

    @rpc
    def export_national(self, official_, query):
        seen.setdefault("export", []).append((official(official_), ReportQuerySchema().load(query)))
        if "city_admin" not in official_["roles"]:
            raise Forbidden("The export is for city admins.")
        return RECORDS

    @rpc
    def revoke_token(self, token_id, expires_at):
        revoked.add(TokenRevokedSchema().load({"token_id": token_id, "expires_at": expires_at})["token_id"])
        return {"token_id": token_id, "expires_at": expires_at}


class FakeIntake:
    name = "intake"

    @rpc
    def submit_supplement(self, dossier_code, tracking_key, supplement, idempotency_key):
        supplement = SupplementSchema().load(supplement)
        seen.setdefault("supplement", []).append((dossier_code, supplement, idempotency_key))
        if (dossier_code, tracking_key) != (CODE, TRACKING_KEY):
            raise NotFound("No dossier matches this code and tracking key.")
        documents = [{"document_code": a["document_code"], "name": "Giấy khai sinh", "filename": a["filename"],
                      "sha256": hashlib.sha256(base64.b64decode(a["content_base64"], validate=True)).hexdigest()}
                     for a in supplement["attachments"]]
        return contract(SupplementResultSchema, {"dossier_code": dossier_code, "supplement_id": "sup-1",
                                                 "received_at": "2026-11-27T02:00:00+00:00", "documents": documents})


class FakeCatalog:
    name = "catalog"

    @rpc
    def list_agencies(self):
        return [{"code": AGENCY, "name": "Ủy ban nhân dân phường Ba Đình", "level": "commune", "parent_code": None}]


class FakeNotify:
    name = "notify"

    @rpc
    def notification_log(self, dossier_code):
        seen.setdefault("log", []).append(dossier_code)
        return []


@pytest.fixture
def start(container_factory, rabbit_config, web_config, metrics_config, monkeypatch):
    """The fakes, then the gateway; keys only from what the test passes, never the environment."""
    seen.clear()
    revoked.clear()
    for name in ("JWT_SECRET", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)

    def start_all(**settings):
        start_gateway(container_factory, rabbit_config, web_config, metrics_config,
                      (FakeStatus, FakeIntake, FakeNotify, FakeCatalog), **settings)

    return start_all


@pytest.fixture
def gateway(start):
    start(JWT_SECRET=SECRET)


def bearer(*roles: str, agency: str = AGENCY) -> tuple[dict, dict]:
    """An Authorization header for a fresh token, and the official status should receive."""
    token, claims = issue_token(KEYS, "nva", agency, list(roles or ["handler"]), timedelta(hours=1))
    expected = OfficialSchema().dump(OfficialSchema().load({
        "subject": "nva", "agency_code": agency, "roles": claims["roles"], "token_id": claims["jti"],
        "expires_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(claims["exp"]))}))
    return {"Authorization": f"Bearer {token}"}, expected


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    return body["error"]


def test_desk_list_passes_the_verified_official_and_the_typed_filters(gateway, web_session):
    headers, expected = bearer("handler", "approver")
    response = web_session.get("/api/v1/desk/dossiers", headers=headers,
                               params=[("state", "received"), ("state", "in_progress"), ("overdue", "false")])
    assert response.status_code == 200, response.text
    assert response.json() == PAGE and response.headers["Cache-Control"] == "no-store"
    [(sent, query)] = seen["desk_list"]
    assert sent == expected
    assert query["state"] == ["received", "in_progress"] and query["overdue"] is False


def test_desk_list_with_bad_filters_is_422_before_any_rpc(gateway, web_session):
    headers, _ = bearer()
    error = assert_error(web_session.get("/api/v1/desk/dossiers", headers=headers,
                                         params={"state": "lost", "page": "0"}), 422, "validation_failed")
    assert set(error["fields"]) == {"state.0", "page"}
    assert "desk_list" not in seen


def test_desk_detail_and_unknown_dossier(gateway, web_session):
    headers, expected = bearer("receptionist")
    response = web_session.get(f"/api/v1/desk/dossiers/{CODE}", headers=headers)
    assert response.status_code == 200 and response.json() == DETAIL
    assert seen["desk_get"] == [(expected, CODE)]
    assert_error(web_session.get("/api/v1/desk/dossiers/000.00.00.H49-261125-9999", headers=headers), 404,
                 "not_found")
    assert_error(web_session.get("/api/v1/desk/dossiers/not-a-code", headers=headers), 404, "not_found")
    assert len(seen["desk_get"]) == 2  # the string that cannot be a code made no RPC


def test_the_notification_log_for_an_official_whom_status_allows(gateway, web_session):
    headers, expected = bearer("receptionist")
    response = web_session.get(f"/api/v1/desk/dossiers/{CODE}/notifications", headers=headers)
    assert response.status_code == 200 and response.json() == []
    assert seen["desk_get"] == [(expected, CODE)] and seen["log"] == [CODE]
    other, _ = bearer("receptionist", agency="000.00.00.H50")
    assert_error(web_session.get(f"/api/v1/desk/dossiers/{CODE}/notifications", headers=other), 404, "not_found")
    assert_error(web_session.get(f"/api/v1/desk/dossiers/{CODE}/notifications"), 401, "missing_token")
    assert seen["log"] == [CODE]  # refused by status: notify was never asked


def test_desk_action_json_passes_official_command_and_key(gateway, web_session):
    headers, expected = bearer("handler")
    response = web_session.post(f"/api/v1/desk/dossiers/{CODE}/actions",
                                headers={**headers, "Idempotency-Key": "act-7d1e2f3a"},
                                json={"action": "transfer", "to_agency_code": "000.00.01.H49",
                                      "reason": "Thuộc thẩm quyền Sở Tư pháp", "expected_version": 2})
    assert response.status_code == 200, response.text
    assert response.json() == {"dossier_code": CODE, "state": "in_progress", "version": 3,
                               "appointment_date": "2026-11-26"}
    [(sent, code, command, key)] = seen["desk_action"]
    assert (sent, code, key) == (expected, CODE, "act-7d1e2f3a")
    assert (command["action"], command["to_agency_code"], command["reason"]) == (
        "transfer", "000.00.01.H49", "Thuộc thẩm quyền Sở Tư pháp")


def stale_action(web_session):
    headers, _ = bearer("handler")
    response = web_session.post(f"/api/v1/desk/dossiers/{CODE}/actions",
                                headers={**headers, "Idempotency-Key": "act-stale-01"},
                                json={"action": "accept", "expected_version": 1})
    return assert_error(response, 409, "conflict")["fields"]["current"]


def test_desk_action_conflict_is_409_with_the_fresh_view(gateway, web_session):
    current = stale_action(web_session)
    assert (current["state"], current["holder_agency_code"]) == ("received", AGENCY)


def test_the_fresh_view_keeps_its_types_across_rpc(gateway, web_session):
    assert stale_action(web_session) == CURRENT


def test_desk_action_without_idempotency_key_is_400_before_any_rpc(gateway, web_session):
    headers, _ = bearer("handler")
    response = web_session.post(f"/api/v1/desk/dossiers/{CODE}/actions", headers=headers, json={"action": "accept"})
    assert "Idempotency-Key" in assert_error(response, 400, "malformed_input")["fields"]
    assert "desk_action" not in seen


def test_multipart_complete_sends_the_result_document_as_base64(gateway, web_session):
    headers, expected = bearer("approver")
    content = b"%PDF-1.7\x00\xff" + "Quyết định cấp giấy khai sinh".encode() + bytes(range(256)) * 50
    response = web_session.post(
        f"/api/v1/desk/dossiers/{CODE}/actions", headers={**headers, "Idempotency-Key": "act-complete-1"},
        data={"command": json.dumps({"action": "complete", "reason": "Đã ký"}, ensure_ascii=False)},
        files={"result_document": ("ket-qua.pdf", content, "application/pdf")},
    )
    assert response.status_code == 200, response.text
    [(sent, _, command, key)] = seen["desk_action"]
    assert sent == expected and key == "act-complete-1" and command["reason"] == "Đã ký"
    assert command["result_document"]["filename"] == "ket-qua.pdf"
    assert base64.b64decode(command["result_document"]["content_base64"], validate=True) == content


def test_missing_expired_and_tampered_tokens_are_401_with_the_challenge(gateway, web_session):
    missing = web_session.get("/api/v1/desk/dossiers")
    assert_error(missing, 401, "missing_token")
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="motcua"'
    now = int(time.time())
    expired = jwt.encode({"iss": "motcua", "sub": "nva", "agency": AGENCY, "roles": ["handler"], "jti": "j-1",
                          "iat": now - 7200, "exp": now - 60}, SECRET, algorithm="HS256")
    refused = web_session.get(f"/api/v1/desk/dossiers/{CODE}", headers={"Authorization": f"Bearer {expired}"})
    assert_error(refused, 401, "token_expired")
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="motcua", error="invalid_token"'
    token = bearer("handler")[0]["Authorization"]
    promoted = token.split(".")
    payload = {**json.loads(base64.urlsafe_b64decode(promoted[1] + "==")), "roles": ["city_admin"]}
    promoted[1] = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    tampered = web_session.get("/api/v1/reports/on-time", params={"from": "2026-01-01", "to": "2026-03-31"},
                               headers={"Authorization": ".".join(promoted)})
    assert_error(tampered, 401, "invalid_token")
    foreign, _ = issue_token(TokenKeys("HS256", "x" * 32, "x" * 32), "nva", AGENCY, ["handler"], timedelta(hours=1))
    assert_error(web_session.post(f"/api/v1/desk/dossiers/{CODE}/actions", json={"action": "accept"},
                                  headers={"Authorization": f"Bearer {foreign}", "Idempotency-Key": "act-000001"}),
                 401, "invalid_token")
    assert not {"desk_list", "desk_get", "desk_action", "report"} & set(seen)


def test_without_a_key_configured_the_desk_is_503_and_the_rest_works(start, web_session):
    start()
    headers, _ = bearer("city_admin")
    for response in (web_session.get("/api/v1/desk/dossiers", headers=headers),
                     web_session.get("/api/v1/reports/national-export", headers=headers,
                                     params={"from": "2026-01-01", "to": "2026-01-31"})):
        assert_error(response, 503, "auth_not_configured")
    assert web_session.get("/api/v1/openapi.json").status_code == 200
    supplement = web_session.post(f"/api/v1/dossiers/{CODE}/supplements", headers={"X-Tracking-Key": TRACKING_KEY},
                                  files={"document.GKS": ("gks.pdf", b"%PDF", "application/pdf")})
    assert supplement.status_code == 202, supplement.text
    assert not {"desk_list", "export"} & set(seen)


def test_supplement_json_and_multipart_are_202_with_the_stored_documents(gateway, web_session):
    content = b"%PDF-1.7 giay khai sinh \x00\xff"
    as_json = web_session.post(
        f"/api/v1/dossiers/{CODE}/supplements", headers={"X-Tracking-Key": TRACKING_KEY, "Idempotency-Key": "sup-0001"},
        json={"note": "Bổ sung bản sao giấy khai sinh", "attachments": [
            {"document_code": "GKS", "filename": "gks.pdf", "content_base64": base64.b64encode(content).decode()}]})
    as_parts = web_session.post(f"/api/v1/dossiers/{CODE}/supplements", params={"key": TRACKING_KEY},
                                data={"note": "Bổ sung bản sao giấy khai sinh"},
                                files={"document.GKS": ("gks.pdf", content, "application/pdf")})
    for response in (as_json, as_parts):
        assert response.status_code == 202, response.text
        assert response.headers["Cache-Control"] == "no-store"
        assert response.json()["documents"][0]["sha256"] == hashlib.sha256(content).hexdigest()
    assert [(code, s["note"], key) for code, s, key in seen["supplement"]] == [
        (CODE, "Bổ sung bản sao giấy khai sinh", "sup-0001"), (CODE, "Bổ sung bản sao giấy khai sinh", None)]


def test_supplement_needs_the_tracking_key_and_is_rate_limited(start, web_session):
    start(JWT_SECRET=SECRET, LOOKUP_RATE_PER_MINUTE=3)
    files = {"document.GKS": ("gks.pdf", b"%PDF", "application/pdf")}
    url = f"/api/v1/dossiers/{CODE}/supplements"
    assert_error(web_session.post(url, files=files), 401, "unauthorized")
    assert_error(web_session.post(url, files=files, headers={"X-Tracking-Key": "guess-0001"}), 404, "not_found")
    refused = web_session.post(url, files=files, headers={"X-Tracking-Key": TRACKING_KEY})
    assert_error(refused, 429, "rate_limited")  # the failed guess cost extra
    assert "Retry-After" in refused.headers and len(seen["supplement"]) == 1


def test_on_time_report_as_json_and_as_csv(gateway, web_session):
    headers, expected = bearer("city_admin")
    period = {"from": "2026-01-01", "to": "2026-03-31"}
    as_json = web_session.get("/api/v1/reports/on-time", headers=headers, params=period)
    # The agency by its name from the catalogue, beside its code.
    assert as_json.status_code == 200 and as_json.json() == {
        **REPORT, "rows": [{**row, "name": "Ủy ban nhân dân phường Ba Đình"} for row in REPORT["rows"]]}
    by_param = web_session.get("/api/v1/reports/on-time", headers=headers, params={**period, "format": "csv"})
    by_accept = web_session.get("/api/v1/reports/on-time", headers={**headers, "Accept": "text/csv"},
                                params={**period, "group_by": "agency"})
    for response in (by_param, by_accept):
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"] == \
            'attachment; filename="on-time_2026-01-01_2026-03-31_agency.csv"'
        assert response.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["Cơ quan", "Mã", "Tiếp nhận"] and len(rows) == 2
        assert rows[1][:3] == ["Ủy ban nhân dân phường Ba Đình", AGENCY, "4"]
    assert [(sent, query["group_by"]) for sent, query in seen["report"]] == [(expected, "agency")] * 3


def test_reports_refused_by_status_and_bad_periods(gateway, web_session):
    headers, _ = bearer("handler")
    period = {"from": "2026-01-01", "to": "2026-03-31"}
    assert_error(web_session.get("/api/v1/reports/on-time", headers=headers, params=period), 403, "forbidden")
    assert_error(web_session.get("/api/v1/reports/national-export", headers=headers, params=period), 403, "forbidden")
    admin, _ = bearer("city_admin")
    error = assert_error(web_session.get("/api/v1/reports/on-time", headers=admin,
                                         params={"from": "2026-02-30", "format": "pdf"}), 422, "validation_failed")
    assert "format" in error["fields"]
    error = assert_error(web_session.get("/api/v1/reports/on-time", headers=admin, params={"from": "2026-02-30"}),
                         422, "validation_failed")
    assert set(error["fields"]) == {"from", "to"}
    assert len(seen["report"]) == 1


def test_national_export_is_json_lines(gateway, web_session):
    headers, expected = bearer("city_admin")
    response = web_session.get("/api/v1/reports/national-export", headers=headers,
                               params={"from": "2026-11-01", "to": "2026-11-30"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response.content.decode("utf-8").endswith("\n") and "Đăng ký khai sinh" in response.content.decode()
    assert [json.loads(line) for line in response.content.decode().splitlines()] == RECORDS
    [(sent, query)] = seen["export"]
    assert sent == expected and (str(query["date_from"]), str(query["date_to"])) == ("2026-11-01", "2026-11-30")


def test_revoke_calls_status_and_the_revoked_token_is_then_refused(gateway, rabbit_config, web_session):
    headers, expected = bearer("handler")
    assert web_session.get("/api/v1/desk/dossiers", headers=headers).status_code == 200
    answer = tokens.revoke({"AMQP_URI": rabbit_config["AMQP_URI"]}, expected["token_id"], expected["expires_at"],
                           timeout=5)
    assert answer == {"token_id": expected["token_id"], "expires_at": expected["expires_at"]}
    assert revoked == {expected["token_id"]}
    refused = web_session.get("/api/v1/desk/dossiers", headers=headers)
    assert_error(refused, 401, "unauthorized")  # status's refusal, with the gateway's challenge
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="motcua", error="invalid_token"'

