"""A dossier in the national portal's synchronisation fields."""
import json
from datetime import date, datetime, timezone

import pytest

from motcua.fees import fee_schedule
from motcua_contracts.reports import NationalSyncRecordSchema
from status.domain.national import REQUESTED_FEE, charged_fees, national_record

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


# Khai sinh's fees as the catalogue has them: alternatives, on time or late, the late one 0 đồng online.
BIRTH_FEES = [{"code": "dung-han", "name": "Lệ phí đăng ký khai sinh đúng hạn", "amount_vnd": 0,
               "online_amount_vnd": 0, "confirmed": True},
              {"code": "khong-dung-han", "name": "Lệ phí đăng ký khai sinh không đúng hạn", "amount_vnd": 8000,
               "online_amount_vnd": 0, "confirmed": True}]
RESIDENCE_FEE = {"code": "thuong-tru", "name": "Lệ phí đăng ký thường trú", "amount_vnd": 20000,
                 "online_amount_vnd": 10000, "confirmed": True}
LATE_BIRTH = {"TenPhiLePhi": "Lệ phí đăng ký khai sinh không đúng hạn", "MaPhiLePhi": "khong-dung-han", "Gia": 8000}


def exported_fees(catalogue_fees, channel, requested_vnd=()):
    """DanhSachLePhi of a dossier filed by `channel`, its schedule pinned as intake pins it."""
    pinned = json.dumps(fee_schedule(catalogue_fees, channel), ensure_ascii=False)
    record = national_record({**ROW, "channel": channel, "fees": pinned}, requested_vnd)
    assert NationalSyncRecordSchema().load(record) == record
    return record["DanhSachLePhi"]


@pytest.mark.parametrize("channel", ["online", "counter", "postal"])
def test_a_free_dossier_lists_no_fee(channel):
    # Online the late fee is 0 đồng too: the catalogue's 8,000 is never claimed; by counter or post nothing
    # says which alternative applied and the desk asked for nothing.
    assert exported_fees(BIRTH_FEES, channel) == []
    assert exported_fees([{**RESIDENCE_FEE, "amount_vnd": 0, "online_amount_vnd": None}], channel) == []


def test_the_desk_s_payment_request_is_the_charge_named_after_the_fee_of_that_amount():
    assert exported_fees(BIRTH_FEES, "counter", [8000]) == [LATE_BIRTH]
    # Online the schedule has no 8,000 fee: the amount stands as the agency's request.
    assert exported_fees(BIRTH_FEES, "online", [8000]) == [
        {"TenPhiLePhi": REQUESTED_FEE["name"], "MaPhiLePhi": REQUESTED_FEE["code"], "Gia": 8000}]


def test_a_request_two_fees_could_explain_is_named_as_the_agency_s_request():
    twins = [{**RESIDENCE_FEE, "code": "a"}, {**RESIDENCE_FEE, "code": "b"}]
    assert exported_fees(twins, "counter", [20000]) == [
        {"TenPhiLePhi": REQUESTED_FEE["name"], "MaPhiLePhi": REQUESTED_FEE["code"], "Gia": 20000}]


def test_every_request_is_listed_in_order_and_replaces_the_schedule():
    assert exported_fees([RESIDENCE_FEE], "counter", [20000, 5000]) == [
        {"TenPhiLePhi": "Lệ phí đăng ký thường trú", "MaPhiLePhi": "thuong-tru", "Gia": 20000},
        {"TenPhiLePhi": REQUESTED_FEE["name"], "MaPhiLePhi": REQUESTED_FEE["code"], "Gia": 5000}]


@pytest.mark.parametrize(("channel", "amount"), [("counter", 20000), ("postal", 20000), ("online", 10000)])
def test_a_single_fee_is_charged_at_its_channel_s_amount(channel, amount):
    assert exported_fees([RESIDENCE_FEE], channel) == [
        {"TenPhiLePhi": "Lệ phí đăng ký thường trú", "MaPhiLePhi": "thuong-tru", "Gia": amount}]


def test_a_single_fee_without_a_confirmed_amount_is_listed_with_gia_null():
    unconfirmed = {**RESIDENCE_FEE, "amount_vnd": None, "online_amount_vnd": None, "confirmed": False}
    assert exported_fees([unconfirmed], "counter") == [
        {"TenPhiLePhi": "Lệ phí đăng ký thường trú", "MaPhiLePhi": "thuong-tru", "Gia": None}]


def test_several_fees_that_may_add_up_or_be_alternatives_are_not_claimed_without_the_desk():
    fees = [{**RESIDENCE_FEE, "code": "cong-bo", "online_amount_vnd": None},
            {**RESIDENCE_FEE, "code": "dang-ky", "online_amount_vnd": 0}]
    assert exported_fees(fees, "counter") == exported_fees(fees, "online") == []


def test_charged_fees_takes_the_pinned_schedule_and_the_requests():
    schedule = fee_schedule(BIRTH_FEES, "counter")
    assert charged_fees(schedule, []) == []
    assert charged_fees(schedule, [8000]) == [
        {"code": "khong-dung-han", "name": "Lệ phí đăng ký khai sinh không đúng hạn", "amount_vnd": 8000}]


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
