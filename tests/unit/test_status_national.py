"""A dossier in the national portal's synchronisation fields."""
import json
from datetime import date, datetime, timezone

import pytest

from motcua_contracts.reports import NationalSyncRecordSchema
from status.domain.national import national_record

UTC = timezone.utc
ROW = {
    "code": "000.00.00.H49-261120-0007", "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh",
    "agency_code": "000.00.00.H49", "holder_agency_code": "000.00.12.H49", "channel": "postal",
    "state": "returned",
    "received_at": datetime(2026, 11, 20, 1, 15, 30, tzinfo=UTC),  # 08:15:30 in Hanoi
    "legal_due_date": date(2026, 11, 26), "appointment_date": date(2026, 12, 2),
    "completed_at": datetime(2026, 11, 26, 17, 30, tzinfo=UTC),  # already 27/11 00:30 in Hanoi
    "returned_at": datetime(2026, 11, 27, 2, 0, 5, tzinfo=UTC),
}


def test_a_returned_dossier_in_the_portal_fields():
    assert national_record(ROW) == {
        "MaHoSo": "000.00.00.H49-261120-0007", "MaTTHC": "1.001193", "TenTTHC": "Đăng ký khai sinh",
        "DonViXuLy": "000.00.00.H49",  # the responsible agency, not the one holding it
        "KenhThucHien": 3, "TrangThaiHoSo": 10,
        "NgayTiepNhan": "20261120081530",
        "NgayHenTra": "20261126235959",  # the legal date, not the apology's new date
        "NgayKetThucXuLy": "20261127003000", "NgayTra": "20261127090005",
        "DanhSachLePhi": [],
    }


def test_the_fees_pinned_at_submission_are_listed_with_unknown_amounts_left_null():
    fees = [{"code": "dung-han", "name": "Lệ phí đăng ký khai sinh đúng hạn", "amount_vnd": 0},
            {"code": "tham-dinh", "name": "Phí thẩm định", "amount_vnd": None}]
    record = national_record({**ROW, "fees": json.dumps(fees, ensure_ascii=False)})
    assert record["DanhSachLePhi"] == [
        {"TenPhiLePhi": "Lệ phí đăng ký khai sinh đúng hạn", "MaPhiLePhi": "dung-han", "Gia": 0},
        {"TenPhiLePhi": "Phí thẩm định", "MaPhiLePhi": "tham-dinh", "Gia": None}]
    assert NationalSyncRecordSchema().load(record)["DanhSachLePhi"][1]["Gia"] is None


@pytest.mark.parametrize(("channel", "code"), [("counter", 1), ("online", 2), ("postal", 3)])
def test_the_channel_code(channel, code):
    assert national_record({**ROW, "channel": channel})["KenhThucHien"] == code


def test_an_open_dossier_has_no_end_dates_and_its_national_status():
    record = national_record({**ROW, "state": "awaiting_supplement", "completed_at": None, "returned_at": None})
    assert (record["TrangThaiHoSo"], record["NgayKetThucXuLy"], record["NgayTra"]) == (5, None, None)


def test_the_record_loads_under_the_contract():
    record = national_record(ROW)
    schema = NationalSyncRecordSchema()
    assert schema.load(schema.dump(record)) == record


def test_a_naive_timestamp_is_refused_not_guessed():
    with pytest.raises(ValueError):
        national_record({**ROW, "received_at": datetime(2026, 11, 20, 8, 15)})
