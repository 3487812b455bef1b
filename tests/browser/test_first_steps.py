"""What a citizen hits first, in Debian's chromium: the home page's search with its filters left at "all", a tracking
link that carries only the dossier's code, and a same-day procedure's time limit worded as the law words it."""
import re


def test_the_home_search_with_every_filter_left_at_all_finds_procedures(stack, citizen):
    page = citizen.page
    citizen.open(stack.url("gateway", "/"))
    page.get_by_label("Tên thủ tục hoặc từ khóa").fill("khai sinh")
    assert page.get_by_label("Dịch vụ công trực tuyến").input_value() == ""  # "Tất cả"
    page.get_by_role("button", name="Tìm kiếm").click()
    page.wait_for_url(re.compile(r"\?q=khai"))
    assert citizen.last.status == 200 and "level=&" in page.url + "&"  # the empty filters went, and meant "all"
    assert page.locator("a[href='/thu-tuc/1.001193']").count() == 1
    assert citizen.check() == []

    page.get_by_label("Dịch vụ công trực tuyến").select_option("toan_trinh")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.wait_for_url(re.compile(r"level=toan_trinh"))
    assert citizen.last.status == 200 and page.get_by_label("Dịch vụ công trực tuyến").input_value() == "toan_trinh"


def test_a_tracking_link_with_only_the_code_opens_the_form_with_the_code_filled_in(stack, citizen):
    citizen.open(stack.url("gateway", "/tra-cuu?code=000.00.51.H24-261208-0001"))
    assert citizen.page.get_by_label("Mã hồ sơ").input_value() == "000.00.51.H24-261208-0001"
    assert citizen.page.get_by_label("Mã tra cứu").input_value() == ""
    assert citizen.check() == []


def test_a_same_day_procedure_reads_trong_ngay(stack, citizen):
    same_day = "2.000635"  # Cấp bản sao Trích lục hộ tịch: the same day
    citizen.open(stack.url("gateway", f"/thu-tuc/{same_day}"))
    row = citizen.page.locator("tr").filter(has=citizen.page.get_by_role("rowheader", name="Thời hạn giải quyết"))
    assert row.locator("td").inner_text().startswith("Trong ngày")
    citizen.open(stack.url("gateway", "/?q=ban+sao+trich+luc"))
    listed = citizen.page.locator("li").filter(has=citizen.page.locator(f"a[href='/thu-tuc/{same_day}']"))
    assert "Thời hạn giải quyết: Trong ngày" in listed.inner_text()
    assert "0 ngày làm việc" not in citizen.page.inner_text("main")
