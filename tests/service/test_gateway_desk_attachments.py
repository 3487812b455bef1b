"""The files a citizen filed, read by officials at the desk (API and pages): the gateway and the REAL intake on
the real broker and PostgreSQL, the files in intake's attachment store; status, notify and catalog are FAKES
that load what arrives with the contract schemas and raise the real `motcua.errors`. Who may see a dossier is
status's rule (proven against the real status elsewhere): the fake lets in the agency that holds the dossier."""
import base64
import json
import re
from datetime import datetime, timedelta, timezone
from html import unescape
from urllib.parse import quote

import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy

from motcua.errors import Forbidden, NotFound
from motcua.stack import free_port
from motcua_contracts.catalog import AgencySchema
from motcua_contracts.desk import DeskDossierDetailSchema, OfficialSchema
from motcua_contracts.intake import FiledDossierSchema

from gateway.accounts import hash_password
from gateway.auth import issue_token
from gateway.desk_pages import SESSION_COOKIE
from tests.conftest import truncate_all
from tests.service.conftest import start_gateway
from tests.service.test_gateway_desk import KEYS, SECRET, assert_error, bearer, contract
from tests.service.test_intake_service import (
    AGENCY, BIRTH, FakeCatalog, body, started_intake, supplement_body,
)
from tests.unit.test_intake_samples import tiny_jpeg, tiny_pdf

OTHER_AGENCY = "000.00.00.H50"  # never held the dossier: status answers 404, as for a dossier that does not exist
BARRED_AGENCY = "000.00.00.H51"  # status answers 403: the gateway passes whatever status answers
PASSWORD = "mot-cua-2026-thu"
SUPPLEMENT = supplement_body(("bo-sung", "Xác nhận nơi sinh.pdf", tiny_pdf()),
                             ("giay-to-tuy-than", "cccd-mat-sau.jpg", tiny_jpeg()))

desk_gets: list[tuple[dict, str]] = []  # what the fake status was asked


class Catalog(FakeCatalog):
    """catalog for intake (the published birth registration) and for the desk pages (the agencies' names)."""

    @rpc
    def list_agencies(self):
        return AgencySchema(many=True).dump([BIRTH["agency"]])


class FakeStatus:
    name = "status"

    @rpc
    def desk_get(self, official, dossier_code):
        official = OfficialSchema().load(official)
        desk_gets.append((OfficialSchema().dump(official), dossier_code))
        if official["agency_code"] == BARRED_AGENCY:
            raise Forbidden("Status says no.")
        if official["agency_code"] != AGENCY:
            raise NotFound(f"No dossier {dossier_code}.")
        return contract(DeskDossierDetailSchema, {
            "dossier_code": dossier_code, "procedure_code": "1.001193", "procedure_name": BIRTH["name"],
            "state": "received", "national_status_code": 2, "agency_code": AGENCY, "holder_agency_code": AGENCY,
            "channel": "online", "submitted_at": "2026-11-27T09:30:00+00:00", "appointment_date": "2026-12-01",
            "overdue": False, "version": 2, "history": [], "apologies": [], "paused_working_days": 0})


class FakeNotify:
    name = "notify"

    @rpc
    def notification_log(self, dossier_code):
        return []


@pytest.fixture(scope="module")
def database(postgres_database):
    return postgres_database("intake")


@pytest.fixture
def filed(container_factory, rabbit_config, web_config, metrics_config, database, tmp_path, monkeypatch):
    """The real intake, the fakes and the gateway; then two dossiers filed through intake, the first with a
    supplement.

    Returns (the first dossier's code, its files as intake lists them, the second dossier's code)."""
    truncate_all(database)
    desk_gets.clear()
    monkeypatch.setenv("INTAKE_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    for name in ("JWT_SECRET", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)
    # intake's own ops port, apart from the gateway's (web_config).
    started_intake(container_factory, dict(rabbit_config, DATABASE_URL=database,
                                           WEB_SERVER_ADDRESS=f"127.0.0.1:{free_port()}"))
    officials = tmp_path / "officials.json"
    officials.write_text(json.dumps({"officials": [
        {"username": username, "name": "Nguyễn Thị Lan", "agency_code": agency, "roles": ["receptionist"],
         "password_hash": hash_password(PASSWORD)}
        for username, agency in (("tiepnhan", AGENCY), ("tiepnhan.khac", OTHER_AGENCY))]}))
    start_gateway(container_factory, rabbit_config, web_config, metrics_config, (Catalog, FakeStatus, FakeNotify),
                  JWT_SECRET=SECRET, GATEWAY_OFFICIALS_FILE=str(officials))
    with ClusterRpcProxy(rabbit_config, timeout=30) as cluster:
        first = cluster.intake.submit_dossier(body())
        cluster.intake.submit_supplement(first["dossier_code"], first["tracking_key"], SUPPLEMENT)
        second = cluster.intake.submit_dossier(body())["dossier_code"]
        files = cluster.intake.get_filed_dossier(first["dossier_code"])["attachments"]
    return first["dossier_code"], files, second


def sent_content(filename: str) -> bytes:
    """The bytes the citizen sent under `filename`, with the dossier or the supplement."""
    return next(base64.b64decode(sent["content_base64"]) for sent in body()["attachments"] + SUPPLEMENT["attachments"]
                if sent["filename"] == filename)


def test_an_official_of_the_holding_agency_lists_the_files_and_gets_each_ones_exact_bytes(filed, web_session):
    code, files, _ = filed
    headers, official = bearer("receptionist", agency=AGENCY)
    listed = web_session.get(f"/api/v1/desk/dossiers/{code}/filed", headers=headers)
    assert listed.status_code == 200, listed.text
    assert listed.headers["Cache-Control"] == "no-store"
    filed_dossier = FiledDossierSchema().load(listed.json())
    assert listed.json()["attachments"] == files
    assert filed_dossier["applicant"] == body()["applicant"] and filed_dossier["dossier_code"] == code
    answers = {answer["name"]: answer["value"] for answer in filed_dossier["form"]}
    assert answers == {**body()["form"], "applicant_phone": "0912345678"}  # as intake keeps it: digits only
    assert [(listed_file["filename"], listed_file["supplement_id"] is not None) for listed_file in files] == [
        ("to-khai.pdf", False), ("giay-chung-sinh.png", False), ("cccd.jpg", False),
        ("cccd-mat-sau.jpg", True), ("Xác nhận nơi sinh.pdf", True)]
    assert desk_gets == [(official, code)]

    for attachment in files:
        response = web_session.get(f"/api/v1/desk/dossiers/{code}/attachments/{attachment['id']}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.content == sent_content(attachment["filename"])
        assert response.headers["Content-Type"] == attachment["content_type"]
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("inline; ")  # PDF, PNG, JPEG: shown in the tab
    supplemented = next(listed for listed in files if listed["document_code"] == "bo-sung")
    disposition = web_session.get(f"/api/v1/desk/dossiers/{code}/attachments/{supplemented['id']}",
                                  headers=headers).headers["Content-Disposition"]
    assert disposition == ("inline; filename=\"Xac nhan noi sinh.pdf\"; "
                           f"filename*=UTF-8''{quote('Xác nhận nơi sinh.pdf', safe='')}")


def test_an_official_status_does_not_let_in_gets_its_answer_and_never_the_file(filed, web_session):
    code, files, _ = filed
    url, filed_url = f"/api/v1/desk/dossiers/{code}/attachments", f"/api/v1/desk/dossiers/{code}/filed"
    other, _ = bearer("receptionist", agency=OTHER_AGENCY)
    for path in (filed_url, f"{url}/{files[0]['id']}", f"{url}/00000000-0000-4000-8000-000000000000"):
        # status's 404 (its message), not intake's: the file is never read for this official
        assert assert_error(web_session.get(path, headers=other), 404, "not_found")["message"] == f"No dossier {code}."
    barred, _ = bearer("city_admin", agency=BARRED_AGENCY)
    for path in (filed_url, f"{url}/{files[0]['id']}"):
        assert_error(web_session.get(path, headers=barred), 403, "forbidden")
    for path in (filed_url, f"{url}/{files[0]['id']}"):
        missing = web_session.get(path)
        assert_error(missing, 401, "missing_token")
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="motcua"'
    assert len(desk_gets) == 5  # the requests without a token asked nobody


def test_an_unknown_or_another_dossiers_file_is_404_and_a_malformed_id_400_before_any_rpc(filed, web_session):
    code, _, second = filed
    headers, _ = bearer("handler", agency=AGENCY)
    url = f"/api/v1/desk/dossiers/{code}/attachments"
    others = web_session.get(f"/api/v1/desk/dossiers/{second}/filed", headers=headers).json()["attachments"]
    for attachment_id in ("7c1e0d9a-4b7f-4f55-9d1e-3b2a1c0d9e8f", others[0]["id"]):
        error = assert_error(web_session.get(f"{url}/{attachment_id}", headers=headers), 404, "not_found")
        assert list(error["fields"]) == ["attachment_id"]
    asked = len(desk_gets)
    for malformed in ("not-a-uuid", "1234", "7c1e0d9a-4b7f-4f55-9d1e-3b2a1c0d9e8"):
        error = assert_error(web_session.get(f"{url}/{malformed}", headers=headers), 400, "malformed_input")
        assert error["fields"] == {"attachment_id": ["Must be a UUID."]}
    assert_error(web_session.get("/api/v1/desk/dossiers/not-a-code/filed", headers=headers), 404, "not_found")
    assert len(desk_gets) == asked


def sign_in(web_session, username: str) -> dict:
    """The desk's sign-in form; the session cookie, sent by hand (a `__Host-` cookie is Secure: requests keeps it
    for https only)."""
    response = web_session.post("/can-bo/dang-nhap", data={"username": username, "password": PASSWORD},
                                allow_redirects=False)
    assert response.status_code == 303, response.text
    return {"Cookie": f"{SESSION_COOKIE}={response.cookies[SESSION_COOKIE]}"}


def test_the_dossiers_page_lists_the_files_and_its_links_serve_them_to_the_signed_in_official(filed, web_session):
    code, files, _ = filed
    session = sign_in(web_session, "tiepnhan")
    page = web_session.get(f"/can-bo/ho-so/{code}", headers=session)
    assert page.status_code == 200, page.text
    html = unescape(page.text)
    section = html[html.index("<h2>Giấy tờ đã nộp</h2>"):html.index("<h2>Xử lý</h2>")]
    names = {doc["code"]: doc["name"] for doc in BIRTH["documents"]}
    rows = re.findall(r"<tr><td>(.*?)</td>\s*<td><a href=\"([^\"]+)\">([^<]+)</a></td>\s*<td>([^<]+)</td>", section)
    assert [(href, filename) for _, href, filename in (row[:3] for row in rows)] == [
        (f"/can-bo/ho-so/{code}/giay-to/{listed['id']}", listed["filename"]) for listed in files]
    assert [re.sub(r"<[^>]+>", "", name) for name, *_ in rows] == [
        names["to-khai"], names["giay-chung-sinh"], names["giay-to-tuy-than"],
        f"{names['giay-to-tuy-than']} (bổ sung)", "Tài liệu bổ sung (bổ sung)"]
    assert rows[0][3] == "0,2 KB" and "target=" not in section  # 125 bytes; opens in the same tab

    for attachment in files:
        served = web_session.get(f"/can-bo/ho-so/{code}/giay-to/{attachment['id']}", headers=session,
                                 allow_redirects=False)
        assert served.status_code == 200, served.text
        assert served.content == sent_content(attachment["filename"])
        assert (served.headers["Content-Type"], served.headers["Cache-Control"]) == (
            attachment["content_type"], "no-store")
        assert served.headers["Content-Disposition"].startswith("inline; ")


def test_the_files_page_route_wants_a_session_and_refuses_as_status_and_intake_do(filed, web_session):
    code, files, second = filed
    url = f"/can-bo/ho-so/{code}/giay-to"
    unsigned = web_session.get(f"{url}/{files[0]['id']}", allow_redirects=False)
    assert (unsigned.status_code, unsigned.headers["Location"]) == (303, "/can-bo/dang-nhap")
    other = sign_in(web_session, "tiepnhan.khac")
    refused = web_session.get(f"{url}/{files[0]['id']}", headers=other)
    assert refused.status_code == 404 and refused.headers["Content-Type"].startswith("text/html")
    assert refused.content != sent_content(files[0]["filename"])
    session = sign_in(web_session, "tiepnhan")
    others = web_session.get(f"/api/v1/desk/dossiers/{second}/filed",
                             headers=bearer(agency=AGENCY)[0]).json()["attachments"]
    assert web_session.get(f"{url}/{others[0]['id']}", headers=session).status_code == 404
    malformed = web_session.get(f"{url}/not-a-uuid", headers=session)
    assert malformed.status_code == 400 and malformed.headers["Content-Type"].startswith("text/html")


def test_an_expired_session_opens_no_desk_page_and_sends_the_official_to_sign_in_again(filed, web_session):
    code, _, _ = filed
    now = datetime.now(timezone.utc)
    expired, _ = issue_token(KEYS, "tiepnhan", AGENCY, ["receptionist"], timedelta(hours=8), now - timedelta(hours=9),
                             {"csrf": "c" * 32})
    current, _ = issue_token(KEYS, "tiepnhan", AGENCY, ["receptionist"], timedelta(hours=8), now, {"csrf": "c" * 32})
    refused = web_session.get(f"/can-bo/ho-so/{code}", cookies={SESSION_COOKIE: expired}, allow_redirects=False)
    assert refused.status_code == 303 and refused.headers["Location"] == "/can-bo/dang-nhap" and desk_gets == []
    opened = web_session.get(f"/can-bo/ho-so/{code}", cookies={SESSION_COOKIE: current}, allow_redirects=False)
    assert opened.status_code == 200 and [asked for _, asked in desk_gets] == [code]
