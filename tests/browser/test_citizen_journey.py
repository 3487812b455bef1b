"""A citizen's whole journey in Debian's chromium against the running system: find a procedure typed without
diacritics, fill its form and attach the files, submit (a double click files one dossier), print the receipt on A4
with its QR code, track the dossier, send the supplement the agency asks for, and see the result and the
notifications. The agency's side goes through the desk API with officials' tokens."""
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import requests
import segno

from gateway.auth import issue_token, keys_from_config
from motcua.samples import SAMPLE_PDF, form_value
from tests.browser.visitor import ARTIFACTS
from tests.whole_system import JWT_SECRET

BIRTH = "1.001193"  # Thủ tục đăng ký khai sinh, at UBND xã Vĩnh Bảo
COMMUNE = "000.00.51.H24"


def bearer(agency: str, *roles: str) -> dict:
    keys = keys_from_config({"JWT_SECRET": JWT_SECRET}.get)
    token, _ = issue_token(keys, f"official-{uuid.uuid4().hex[:6]}", agency, list(roles), timedelta(hours=1),
                           now=datetime.now(timezone.utc))
    return {"Authorization": f"Bearer {token}"}


def desk_action(api: str, code: str, headers: dict, **command) -> dict:
    response = requests.post(f"{api}/desk/dossiers/{code}/actions", json=command, timeout=30,
                             headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_state(api: str, code: str, key: str, state: str, seconds: float = 30) -> None:
    deadline = datetime.now() + timedelta(seconds=seconds)
    while datetime.now() < deadline:
        view = requests.get(f"{api}/dossiers/{code}", headers={"X-Tracking-Key": key}, timeout=10)
        if view.status_code == 200 and view.json()["state"] == state:
            return
    pytest.fail(f"dossier {code} never reached {state}")


@pytest.fixture
def files(tmp_path):
    """A PDF per name, as a citizen's scans on disk."""
    def make(*names: str) -> list[str]:
        paths = []
        for name in names:
            path = tmp_path / name
            path.write_bytes(SAMPLE_PDF)
            paths.append(str(path))
        return paths
    return make


def fill_the_form(page, definition: dict, files) -> None:
    page.get_by_label("Họ và tên").first.fill("Nguyễn Thị Hoa")
    page.get_by_label("Số điện thoại").first.fill("0912 345 678")
    page.get_by_label("Thư điện tử").first.fill("hoa.nguyen@example.org")
    for field in definition["form_fields"]:
        if not field["required"]:
            continue
        target = page.locator(f'[id="form.{field["name"]}"]')
        value = form_value(field)
        if field["type"] == "choice":
            target.select_option(value)
        else:
            target.fill(str(value))
    for document in definition["documents"]:
        if document["mandatory"]:
            page.locator(f'[id="document.{document["code"]}"]').set_input_files(files(f"{document['code']}.pdf"))


def dossiers_of(api: str, admin: dict) -> set[str]:
    listed = requests.get(f"{api}/desk/dossiers", params={"procedure": BIRTH, "per_page": 100}, headers=admin,
                          timeout=30).json()
    return {item["dossier_code"] for item in listed["items"]}


def test_a_citizen_files_prints_tracks_supplements_and_sees_the_result(stack, citizen, files):
    base, api = stack.url("gateway"), stack.url("gateway", "/api/v1")
    page = citizen.page
    admin = bearer("000.00.00.H24", "city_admin")
    before = dossiers_of(api, admin)

    # Found by typing without diacritics, with the keyboard alone.
    citizen.open(base + "/")
    for _ in range(10):  # the skip link, the menu, then the search box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("dang ky khai sinh")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?q=dang"))
    assert citizen.check() == []
    citizen.screenshot("journey-1-search")
    page.locator(f'a[href="/thu-tuc/{BIRTH}"]').click()
    page.wait_for_url(f"**/thu-tuc/{BIRTH}")
    text = page.inner_text("main")
    assert "Ủy ban nhân dân xã Vĩnh Bảo" in text and "(bắt buộc)" in text
    assert not re.search(r"DVCQG|isFullProcess|WORKING_DAY|unconfirmed|service_level", text)

    # A wrong phone number: refused next to its input, what was typed kept.
    definition = requests.get(f"{api}/procedures/{BIRTH}", timeout=30).json()
    fill_the_form(page, definition, files)
    page.get_by_label("Số điện thoại").first.fill("12345")
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_selector(".field-error")
    assert "Số điện thoại chưa đúng" in page.inner_text('[id="applicant.phone-error"]')
    assert page.get_by_label("Họ và tên").first.input_value() == "Nguyễn Thị Hoa"
    assert citizen.check() == []
    citizen.screenshot("journey-2-refused")

    # Corrected and sent with a double click: one dossier.
    fill_the_form(page, definition, files)
    page.get_by_role("button", name="Nộp hồ sơ").dblclick()
    page.wait_for_selector("text=Hồ sơ đã được gửi")
    code, key = page.inner_text("#ma-ho-so"), page.inner_text("#ma-tra-cuu")
    assert citizen.check() == []
    citizen.screenshot("journey-3-submitted")
    assert dossiers_of(api, admin) - before == {code}

    # The receipt: template 01 on one A4 page, with the QR code of the tracking link.
    page.get_by_role("link", name="Xem và in giấy tiếp nhận hồ sơ").click()
    page.wait_for_selector("text=GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    assert citizen.check() == []
    citizen.screenshot("journey-4-receipt")
    tracking_link = f"{base}/tra-cuu?code={quote(code)}&key={quote(key)}"
    expected = segno.make(tracking_link, error="m").svg_inline(scale=3, title="Mã QR tra cứu hồ sơ")
    assert re.search(r' d="([^"]+)"', expected).group(1) in page.content()
    pdf = page.pdf(format="A4", print_background=False, path=str(ARTIFACTS / "journey-4-receipt.pdf"))
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1

    # The QR code's link opens the dossier; the agency is named, the receipt notification listed.
    citizen.open(tracking_link)
    text = page.inner_text("main")
    assert "Mới nộp, chờ tiếp nhận" in text and "Ủy ban nhân dân xã Vĩnh Bảo" in text
    assert COMMUNE not in text.replace(code, "")  # the agency by its name, not its code
    assert citizen.check() == []

    # The agency accepts it and asks for a supplement; the citizen sends it from the tracking page.
    receptionist, handler = bearer(COMMUNE, "receptionist"), bearer(COMMUNE, "handler")
    desk_action(api, code, receptionist, action="accept")
    desk_action(api, code, handler, action="request_supplement", missing_items=["Bản sao giấy chứng sinh"],
                reason="Thiếu bản sao giấy chứng sinh có chứng thực")
    citizen.open(tracking_link)
    assert "Thiếu bản sao giấy chứng sinh có chứng thực" in page.inner_text("main")
    page.get_by_label("Tệp bổ sung").set_input_files(files("giay-chung-sinh.pdf"))
    page.get_by_label("Ghi chú cho cơ quan giải quyết").fill("Gửi bản sao có chứng thực")
    citizen.screenshot("journey-5-supplement")
    page.get_by_role("button", name="Gửi hồ sơ bổ sung").click()
    page.wait_for_selector("text=Đã nhận hồ sơ bổ sung")
    assert citizen.check() == []
    wait_for_state(api, code, key, "in_progress")

    # Completed with a result file: the citizen sees it, and what was sent to them.
    approver = bearer(COMMUNE, "approver")
    detail = requests.get(f"{api}/desk/dossiers/{code}", headers=approver, timeout=30).json()
    completed = requests.post(
        f"{api}/desk/dossiers/{code}/actions", timeout=30,
        files={"result_document": ("trich-luc-khai-sinh.pdf", SAMPLE_PDF, "application/pdf")},
        data={"command": json.dumps({"action": "complete", "expected_version": detail["version"]})},
        headers={**approver, "Idempotency-Key": uuid.uuid4().hex})
    assert completed.status_code == 200, completed.text
    deadline = datetime.now() + timedelta(seconds=30)
    while datetime.now() < deadline:
        citizen.open(tracking_link)
        text = page.inner_text("main")
        if "Đã có kết quả" in text and "Thông báo có kết quả" in text:
            break
    assert "Đã có kết quả" in text and "Mẫu 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in text
    assert "Thông báo có kết quả" in text
    assert citizen.check() == []
    citizen.screenshot("journey-6-completed")
