"""The officials' desk in Debian's chromium: an official signs in with the built-in accounts, finds the citizen's
dossier in the agency's work list, works it with the forms the role allows, and signs out; a signed-out session
opens nothing, and a form posted without the session's CSRF value changes nothing."""
import uuid
from datetime import datetime, timedelta, timezone

import requests

from motcua.samples import sample_submission
from tests.browser.conftest import COMMUNE, OFFICIALS
from tests.browser.desk import sign_in, take_action

BIRTH = "1.001193"
VIETNAM = timezone(timedelta(hours=7))


def submitted_dossier(api: str) -> str:
    definition = requests.get(f"{api}/procedures/{BIRTH}", timeout=30).json()
    result = requests.post(f"{api}/dossiers", json=sample_submission(definition), timeout=30,
                           headers={"Idempotency-Key": uuid.uuid4().hex})
    assert result.status_code == 201, result.text
    return result.json()["dossier_code"]


def test_an_official_signs_in_works_a_dossier_with_the_forms_of_the_role_and_signs_out(stack, citizen):
    base, api = stack.url("gateway"), stack.url("gateway", "/api/v1")
    code = submitted_dossier(api)
    page = citizen.page

    sign_in(citizen, base, "tiepnhan.vinhbao", "not-the-password")
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in page.inner_text("main")
    assert citizen.check() == []
    sign_in(citizen, base, "tiepnhan.vinhbao")
    page.wait_for_url("**/can-bo/ho-so")
    cookie = next(cookie for cookie in citizen.context.cookies() if cookie["name"] == "__Host-motcua-session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert citizen.check() == []
    citizen.screenshot("desk-1-work-list")

    page.get_by_role("link", name=code).click()
    page.wait_for_url(f"**/can-bo/ho-so/{code}")
    forms = page.locator("form[aria-label]").evaluate_all("forms => forms.map(form => form.getAttribute('aria-label'))")
    assert forms == ["Tiếp nhận hồ sơ", "Từ chối tiếp nhận", "Rút hồ sơ"]  # a receptionist, a new dossier
    assert citizen.check() == []
    citizen.screenshot("desk-2-dossier")
    page.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    page.wait_for_selector("text=Đã thực hiện: Tiếp nhận hồ sơ")
    assert "Đã tiếp nhận" in page.inner_text("main")

    # A form posted with another CSRF value (as from another site's page) changes nothing.
    with page.expect_navigation():
        page.evaluate("""() => {
            const form = document.querySelector("form[aria-label='Yêu cầu bổ sung']");
            form.querySelector("input[name=csrf]").value = "forged";
            form.querySelector("textarea[name=missing_items]").value = "Giấy tờ giả";
            form.submit();
        }""")
    assert citizen.last.status == 403
    citizen.open(f"{base}/can-bo/ho-so/{code}")
    assert "Giấy tờ giả" not in page.inner_text("main") and "Đã tiếp nhận" in page.inner_text("main")

    page.get_by_label("Giấy tờ cần bổ sung").fill("Bản sao giấy chứng sinh\nGiấy xác nhận cư trú")
    take_action(citizen, "Yêu cầu bổ sung")
    assert "Chờ bổ sung hồ sơ" in page.inner_text("main")
    assert citizen.check() == []
    citizen.screenshot("desk-3-supplement-requested")

    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/can-bo/dang-nhap")
    assert not [cookie for cookie in citizen.context.cookies() if cookie["name"] == "__Host-motcua-session"]
    # The token of the ended session, replayed, is revoked: it opens nothing.
    replayed = requests.get(f"{base}/can-bo/ho-so", cookies={cookie["name"]: cookie["value"]}, timeout=30,
                            allow_redirects=False)
    assert replayed.status_code == 303 and replayed.headers["Location"].endswith("/can-bo/dang-nhap")


def test_the_desk_pages_are_titled_labelled_and_clean_for_every_role(stack, visitor):
    base, api = stack.url("gateway"), stack.url("gateway", "/api/v1")
    code = submitted_dossier(api)
    problems = {}
    for username, password, agency, _ in OFFICIALS:
        visitor.context.clear_cookies()
        sign_in(visitor, base, username, password)
        visitor.page.wait_for_url("**/can-bo/ho-so")
        if found := visitor.check():
            problems[f"{username} list"] = found
        visitor.open(f"{base}/can-bo/ho-so/{code}")
        if found := visitor.check():
            problems[f"{username} dossier"] = found
        visitor.screenshot(f"desk-{username}-{visitor.screen}")
        assert (visitor.last.status == 200) == (agency in (COMMUNE, "000.00.00.H24")), username
    assert problems == {}


def test_the_city_admin_reads_the_on_time_report_by_agency_and_downloads_it_for_excel(stack, citizen):
    base, api = stack.url("gateway"), stack.url("gateway", "/api/v1")
    submitted_dossier(api)
    page = citizen.page
    sign_in(citizen, base, "quantri.thanhpho")
    page.wait_for_url("**/can-bo/ho-so")
    page.get_by_role("link", name="Báo cáo").click()
    today = datetime.now(VIETNAM).date()
    page.get_by_label("Từ ngày").fill((today - timedelta(days=30)).isoformat())
    page.get_by_label("Đến ngày").fill(today.isoformat())
    page.get_by_label("Theo").select_option("agency")
    page.get_by_role("button", name="Xem báo cáo").click()
    page.wait_for_selector("text=Tải về tệp CSV")
    row = page.locator("tr", has_text="Ủy ban nhân dân xã Vĩnh Bảo")
    assert int(row.locator("td").nth(1).inner_text()) >= 1  # received in the period
    assert citizen.check() == []
    citizen.screenshot("desk-4-report")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Tải về tệp CSV (mở bằng Excel)").click()
    download = downloading.value
    content = open(download.path(), "rb").read()
    assert content.startswith(b"\xef\xbb\xbf") and "Cơ quan" in content.decode("utf-8-sig").splitlines()[0]
    assert download.suggested_filename.endswith("_agency.csv")


def test_the_report_is_the_city_admins_only(stack, citizen):
    base = stack.url("gateway")
    sign_in(citizen, base, "tiepnhan.vinhbao")
    citizen.page.wait_for_url("**/can-bo/ho-so")
    assert citizen.page.get_by_role("link", name="Báo cáo").count() == 0
    today = datetime.now(VIETNAM).date().isoformat()
    citizen.open(f"{base}/can-bo/bao-cao?from={today}&to={today}&group_by=agency")
    assert citizen.last.status == 403


def test_an_official_signs_in_through_the_city_identity_provider_and_out_through_it(stack, identity_provider,
                                                                                   citizen):
    base = stack.url("gateway")
    page = citizen.page
    citizen.open(base + "/can-bo/dang-nhap")
    assert citizen.check() == []
    page.get_by_role("link", name="Đăng nhập bằng tài khoản công vụ của thành phố").click()
    page.wait_for_url(f"{identity_provider.issuer}/authorize?**")  # the city's provider, another site
    page.get_by_label("Tài khoản công vụ").fill("xuly.sso.vinhbao")
    page.get_by_role("button", name="Đăng nhập").click()

    page.wait_for_url("**/can-bo/ho-so")  # the session cookie (SameSite=Strict) went with the work list's request
    assert "xuly.sso.vinhbao" in page.inner_text("header") and "Ủy ban nhân dân xã Vĩnh Bảo" in page.inner_text("header")
    cookies = {cookie["name"]: cookie for cookie in citizen.context.cookies()}
    assert cookies["__Host-motcua-session"]["sameSite"] == "Strict" and "__Host-motcua-sign-in" not in cookies
    assert citizen.check() == []
    citizen.screenshot("desk-5-signed-in-through-the-provider")

    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/can-bo/dang-nhap")
    assert identity_provider.logouts[-1]["post_logout_redirect_uri"] == f"{base}/can-bo/dang-nhap"
    assert "__Host-motcua-session" not in {cookie["name"] for cookie in citizen.context.cookies()}


def test_an_official_the_provider_knows_without_a_role_here_or_who_cancels_is_not_signed_in(stack, identity_provider,
                                                                                           citizen):
    page = citizen.page
    citizen.open(stack.url("gateway", "/can-bo/dang-nhap"))
    page.get_by_role("link", name="Đăng nhập bằng tài khoản công vụ của thành phố").click()
    page.wait_for_url(f"{identity_provider.issuer}/authorize?**")
    page.get_by_role("button", name="Hủy").click()
    page.wait_for_url("**/can-bo/dang-nhap/oidc/ve?**")
    assert citizen.last.status == 401 and "không thành công" in page.inner_text("main")
    assert citizen.check() == []

    page.get_by_role("link", name="Đăng nhập bằng tài khoản công vụ của thành phố").click()
    page.get_by_label("Tài khoản công vụ").fill("moi.vao.vinhbao")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/can-bo/dang-nhap/oidc/ve?**")
    assert citizen.last.status == 403 and "chưa được giao cơ quan hoặc vai trò" in page.inner_text("main")
    assert "__Host-motcua-session" not in {cookie["name"] for cookie in citizen.context.cookies()}
    assert citizen.check() == []
