"""A citizen's whole journey in Debian's chromium against the running system: find a procedure typed without
diacritics, fill its form and attach the files, submit (a double click files one dossier), print the receipt on A4
with its QR code, track the dossier, send the supplement the agency asks for, and see the result and the
notifications. The commune's officials work it at the desk pages, in a browser of their own."""
import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import requests
import segno

from gateway.auth import issue_token, keys_from_config
from motcua.samples import SAMPLE_PDF, form_value
from tests.browser.desk import sign_in, take_action
from tests.browser.visitor import ARTIFACTS
from tests.whole_system import JWT_SECRET

BIRTH = "1.001193"  # Thủ tục đăng ký khai sinh, at UBND xã Vĩnh Bảo
COMMUNE = "000.00.51.H24"


def city_admin_bearer() -> dict:
    keys = keys_from_config({"JWT_SECRET": JWT_SECRET}.get)
    token, _ = issue_token(keys, "quantri.thanhpho", "000.00.00.H24", ["city_admin"], timedelta(hours=1),
                           now=datetime.now(timezone.utc))
    return {"Authorization": f"Bearer {token}"}


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


def test_a_citizen_files_prints_tracks_supplements_and_sees_the_result_worked_at_the_desk(stack, citizen, official,
                                                                                          files):
    base, api = stack.url("gateway"), stack.url("gateway", "/api/v1")
    page = citizen.page
    admin = city_admin_bearer()  # to count the dossiers filed
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
    assert "Vĩnh Bảo, ngày" in page.inner_text("main")  # dated at the commune's place, as the form reads
    citizen.screenshot("journey-4-receipt")
    tracking_link = f"{base}/tra-cuu?code={quote(code)}&key={quote(key)}"
    expected = segno.make(tracking_link, error="m").svg_inline(scale=3, title="Mã QR tra cứu hồ sơ")
    assert re.search(r' d="([^"]+)"', expected).group(1) in page.content()
    pdf = page.pdf(format="A4", print_background=False, path=str(ARTIFACTS / "journey-4-receipt.pdf"))
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1

    # The QR code's link opens the dossier; the agency is named; the citizen was told at once that it was filed.
    deadline = datetime.now() + timedelta(seconds=30)
    while datetime.now() < deadline:
        citizen.open(tracking_link)
        text = page.inner_text("main")
        if "Thông báo đã nhận hồ sơ nộp trực tuyến, chờ tiếp nhận" in text:
            break
    assert "Thông báo đã nhận hồ sơ nộp trực tuyến, chờ tiếp nhận" in text
    assert "Mới nộp, chờ tiếp nhận" in text and "Ủy ban nhân dân xã Vĩnh Bảo" in text
    assert COMMUNE not in text.replace(code, "")  # the agency by its name, not its code
    assert citizen.check() == []

    # At the commune's desk, in another browser: the receptionist accepts it, the handler asks for a supplement.
    sign_in(official, base, "tiepnhan.vinhbao")
    official.open(f"{base}/can-bo/ho-so/{code}")
    # What the citizen filed is on the page: who, the form's answers under its labels, the files.
    desk_text = official.page.inner_text("main")
    assert "Nguyễn Thị Hoa" in desk_text and "hoa.nguyen@example.org" in desk_text
    for asked in definition["form_fields"]:
        if asked["required"] and asked["type"] in ("text", "date"):
            value = form_value(asked)
            expected = date.fromisoformat(value).strftime("%d/%m/%Y") if asked["type"] == "date" else value
            row = official.page.locator("tr").filter(
                has=official.page.get_by_role("rowheader", name=asked["label"], exact=True))
            assert row.locator("td").inner_text().strip() == expected, asked["label"]
    assert official.check() == []
    official.screenshot("journey-desk-0-filed")
    take_action(official, "Tiếp nhận hồ sơ")
    sign_in(official, base, "xuly.vinhbao")
    official.open(f"{base}/can-bo/ho-so/{code}")
    official.page.get_by_label("Giấy tờ cần bổ sung").fill("Bản sao giấy chứng sinh")
    official.page.get_by_label("Nội dung yêu cầu gửi người nộp").fill("Thiếu bản sao giấy chứng sinh có chứng thực")
    take_action(official, "Yêu cầu bổ sung")
    assert official.check() == []
    official.screenshot("journey-desk-1-supplement-requested")

    # The citizen sends it from the tracking page.
    citizen.open(tracking_link)
    assert "Thiếu bản sao giấy chứng sinh có chứng thực" in page.inner_text("main")
    page.get_by_label("Tệp bổ sung").set_input_files(files("giay-chung-sinh.pdf"))
    page.get_by_label("Ghi chú cho cơ quan giải quyết").fill("Gửi bản sao có chứng thực")
    citizen.screenshot("journey-5-supplement")
    page.get_by_role("button", name="Gửi hồ sơ bổ sung").click()
    page.wait_for_selector("text=Đã nhận hồ sơ bổ sung")
    assert citizen.check() == []
    wait_for_state(api, code, key, "in_progress")

    # The approver completes it with the result file from the dossier page.
    sign_in(official, base, "pheduyet.vinhbao")
    official.open(f"{base}/can-bo/ho-so/{code}")
    assert "Đang giải quyết" in official.page.inner_text("main")
    # The citizen's files, the supplement's among them, open from the page: the very bytes the citizen sent.
    supplement_file = official.page.locator("tr", has_text="(bổ sung)").get_by_role("link", name="giay-chung-sinh.pdf")
    opened = official.context.request.get(base + supplement_file.get_attribute("href"))
    assert opened.status == 200 and opened.headers["content-type"] == "application/pdf"
    assert opened.body() == SAMPLE_PDF
    filed_with_the_dossier = official.page.locator("table", has_text="Giấy tờ").get_by_role("link").count()
    assert filed_with_the_dossier == 1 + sum(document["mandatory"] for document in definition["documents"])
    official.page.get_by_label("Tệp kết quả").set_input_files(files("trich-luc-khai-sinh.pdf"))
    take_action(official, "Có kết quả")
    assert "Đã có kết quả" in official.page.inner_text("main")
    assert official.check() == []
    official.screenshot("journey-desk-2-completed")

    # The citizen sees it completed, and what was sent to them.
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
