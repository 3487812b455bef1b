"""The portal's Vietnamese formatting and the escaping of everything it shows."""
from datetime import datetime, timezone

import pytest

from catalog.catalogue_file import SEED_PATH, load_catalogue
from catalog.domain import definitions
from intake.domain.attachments import Limits
from intake.domain.dossier import dossier_code, prepare, receipt
from motcua.errors import RateLimited
from motcua.samples import sample_submission
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.intake import ReceiptSchema, SubmitDossierSchema

from gateway.rendering import (
    ENV, date_long, datetime_long, error_page, label, number_vn, time_window, vnd, working_days,
)


def test_numbers_money_and_dates_in_vietnamese_style():
    assert number_vn(1500000) == "1.500.000" and number_vn("0.5") == "0,5" and number_vn("15") == "15"
    assert vnd(50000) == "50.000 đồng" and vnd(0) == "Miễn phí" and vnd(None) == "Chưa xác định"
    assert date_long("2026-02-05") == "ngày 05 tháng 02 năm 2026"
    assert date_long("2026-02-05T18:00:00+00:00") == "ngày 06 tháng 02 năm 2026"  # already the 6th in Vietnam
    # 16:30 UTC is 23:30 in Vietnam; 17:30 UTC is already the next day there.
    assert datetime_long("2026-11-25T16:30:00+00:00") == "23 giờ 30 phút, ngày 25 tháng 11 năm 2026"
    assert datetime_long("2026-11-25T17:30:00+00:00") == "00 giờ 30 phút, ngày 26 tháng 11 năm 2026"


def test_labels_fall_back_to_the_raw_value():
    assert label("awaiting_supplement", "state") == "Chờ bổ sung hồ sơ"
    assert label("new_state", "state") == "new_state" and label(None, "state") == ""


def test_every_value_is_escaped():
    html = ENV.get_template("tracking.html").render(code='"><script>x()</script>', key="", view=None, message="<b>")
    assert "<script>" not in html and "&lt;b&gt;" in html and "&#34;&gt;&lt;script&gt;" in html


def test_error_page_is_vietnamese_with_the_status():
    response = error_page(RateLimited("Too many lookups."))
    assert response.status_code == 429 and "Quá nhiều lượt tra cứu" in response.get_data(as_text=True)
    assert error_page(RuntimeError("boom")).status_code == 500


def test_a_pickup_window_in_vietnam_time():
    window = {"start": "2026-11-27T01:00:00+00:00", "end": "2026-11-27T04:30:00+00:00"}
    assert time_window(window) == "08:00 - 11:30, ngày 27 tháng 11 năm 2026"
    overnight = {"start": "2026-11-27T13:00:00+00:00", "end": "2026-11-27T18:00:00+00:00"}
    assert time_window(overnight) == "20:00 ngày 27 tháng 11 năm 2026 - 01:00 ngày 28 tháng 11 năm 2026"


def tracking(view: dict, **state) -> str:
    """The tracking page as the gateway renders it (GatewayService._tracking)."""
    context = {"code": view["dossier_code"], "key": "k", "view": view, "message": None,
               "agencies": {"000.00.00.H49": "UBND xã Thử Nghiệm"}, "notifications": [], "idempotency_key": "i",
               "supplement_errors": {}, "general": [], "values": {}, "supplement_sent": False, **state}
    return ENV.get_template("tracking.html").render(**context)


def test_the_tracking_page_shows_the_waybill_and_the_delivery_in_vietnamese():
    view = {"dossier_code": "000.00.00.H49-261125-0007", "procedure_code": "1.001193", "procedure_name": "Khai sinh",
            "state": "completed", "holder_agency_code": "000.00.00.H49", "channel": "postal",
            "submitted_at": "2026-11-25T03:00:00+00:00", "appointment_date": "2026-11-26", "history": [],
            "return_method": "postal",
            "delivery": {"waybill": "EE123456789VN", "carrier": "Bưu điện", "state": "attempt_failed",
                         "attempts": 1, "updated_at": "2026-11-27T03:00:00+00:00"}}
    html = tracking(view)
    assert "EE123456789VN" in html and "Giao không thành công, sẽ giao lại" in html
    assert "Qua dịch vụ bưu chính công ích" in html
    assert "UBND xã Thử Nghiệm" in html  # the agency by its name, not its code
    returned = dict(view, return_method="counter", delivery=dict(view["delivery"], state="returned_to_sender"))
    html = tracking(returned)
    assert "Đã chuyển hoàn về Bộ phận Một cửa" in html and "đến nhận kết quả trực tiếp" in html
    without = dict(view, return_method=None, delivery=None)
    assert "Mã vận đơn" not in tracking(without)


def test_a_dossier_awaiting_a_supplement_asks_for_it_with_the_agencys_reason_and_a_form():
    view = {"dossier_code": "000.00.00.H49-261125-0007", "procedure_code": "1.001193", "procedure_name": "Khai sinh",
            "state": "awaiting_supplement", "holder_agency_code": "000.00.00.H49", "channel": "online",
            "submitted_at": "2026-11-25T03:00:00+00:00", "appointment_date": "2026-11-26", "return_method": "counter",
            "delivery": None, "history": [
                {"at": "2026-11-25T04:00:00+00:00", "action": "request_supplement", "from_state": "in_progress",
                 "to_state": "awaiting_supplement", "agency_code": "000.00.00.H49", "actor_kind": "official",
                 "reason": "Thiếu bản sao giấy chứng sinh"}]}
    html = tracking(view)
    assert "Thiếu bản sao giấy chứng sinh" in html and 'action="/tra-cuu/bo-sung#bo-sung"' in html
    refused = tracking(view, supplement_errors={"document.bo-sung": ["Tệp quá lớn: tối đa 10 MB."]})
    assert "Lỗi: Tệp quá lớn: tối đa 10 MB." in refused and 'aria-invalid="true"' in refused
    assert "/tra-cuu/bo-sung" not in tracking(dict(view, state="in_progress"))


def test_a_same_day_procedure_reads_trong_ngay_not_zero_working_days():
    assert [working_days(days) for days in (0, "0", "0.0", 1, "2.5", 15, None)] == [
        "Trong ngày", "Trong ngày", "Trong ngày", "1 ngày làm việc", "2,5 ngày làm việc", "15 ngày làm việc",
        "Theo quy định của cơ quan giải quyết"]


@pytest.fixture(scope="module")
def seed_versions() -> dict[str, dict]:
    """The seeded catalogue's published versions as intake loads them, by procedure code."""
    return {procedure.code: ProcedureVersionSchema().load(definition)
            for procedure, version, definition in definitions(load_catalogue(SEED_PATH))
            if version.status == "published"}


def printed_receipt(version: dict) -> tuple[dict, str]:
    """A counter dossier received at 10:00 on 27/11/2026 in Vietnam: intake's receipt data and its page."""
    submission = SubmitDossierSchema().load(sample_submission(ProcedureVersionSchema().dump(version), "counter"))
    prepared = prepare(version, submission, datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc), Limits())
    issued = ReceiptSchema().dump(receipt(prepared, dossier_code(prepared, 1)))
    return issued, ENV.get_template("receipt.html").render(r=issued, tracking_link="https://example.org/tra-cuu")


def test_the_receipt_is_dated_at_the_agencys_place_as_template_01_reads(seed_versions):
    # Thủ tục đăng ký khai sinh at UBND xã Vĩnh Bảo, the seeded commune.
    _, commune = printed_receipt(seed_versions["1.001193"])
    assert '<p class="right">Vĩnh Bảo, ngày 27 tháng 11 năm 2026</p>' in commune
    at_a_department = next(v for v in seed_versions.values() if v["agency"]["level"] == "department")
    _, department = printed_receipt(at_a_department)
    assert '<p class="right">Hải Phòng, ngày 27 tháng 11 năm 2026</p>' in department


def test_a_receipt_without_a_place_is_dated_alone_as_before(seed_versions):
    issued, _ = printed_receipt(seed_versions["1.001193"])
    for without in ({key: value for key, value in issued.items() if key != "place_name"},  # stored before places
                    dict(issued, place_name=None)):  # an agency the catalogue gives none
        html = ENV.get_template("receipt.html").render(r=without, tracking_link="https://example.org/tra-cuu")
        assert '<p class="right">Ngày 27 tháng 11 năm 2026</p>' in html
