"""The on-time report and the national export through status's RPC, on both databases status runs on.

Seeded rows and the expected numbers, counted by hand for November 2026 (Asia/Ho_Chi_Minh):

agency A (procedure 1.001193)                         received  category
  A1 online  completed on its due date 10/11            yes     completed on time
  A2 counter returned, completed 11/11, due 10/11       yes     completed late
  A3 postal  in progress, due 20/11                     yes     unfinished late
  A4 online  completed 18/11, due 19/11 (a pause moved it from 12/11)   yes  completed on time
  A5 counter received 2026-11-30T17:30Z = 1/12 in Hanoi  no     -
  A6 online  awaiting supplement since 24/11, due 25/11  yes     unfinished on time
  A7 online  received 2026-10-31T17:30Z = 1/11 in Hanoi, due 30/11  yes  unfinished on time
  A8 online  completed 2026-11-30T17:30Z = 1/12, due 25/11  yes  unfinished late (at the period's end)
agency B
  B1 counter completed 3/11, due 30/10 (1.001193)       no      completed late
  B2 online  in progress, due 30/11 (2.002000)          yes     unfinished on time
  B3 counter stopped (2.002000)                         yes     -
  B4 online  completed 1/10 (2.002000)                  no      -
  B5 online  submitted, not accepted                    no      -

Fees (the national export's DanhSachLePhi): A1 online, khai sinh's two fees at the online amount (0 đồng);
A2 counter, the same two at the counter's (0 and 8,000), and the desk asked for 8,000; B2 online, one fee.
"""
import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies

from motcua.db import make_engine
from motcua.errors import Forbidden, Unauthorized, ValidationFailed
from motcua.fees import fee_schedule
from motcua.migrations import upgrade
from motcua_contracts.reports import NationalSyncRecordSchema
from status.models import clock_pause, dossier, dossier_history
from status.service import StatusService
from tests.conftest import truncate_all
from tests.support import TEST_NOW, PinnedClock
from tests.unit.test_status_national import BIRTH_FEES, RESIDENCE_FEE

VN, UTC = ZoneInfo("Asia/Ho_Chi_Minh"), timezone.utc
AGENCY_A, AGENCY_B = "000.00.00.H49", "000.00.12.H49"
ADMIN = {"subject": "admin-1", "agency_code": AGENCY_A, "roles": ["city_admin"], "token_id": "token-admin-1",
         "expires_at": (TEST_NOW + timedelta(hours=1)).isoformat()}
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def vn(day: int, month: int = 11, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=VN)




def pinned(fees: list[dict], channel: str) -> str:
    """The fee schedule as intake pins it on the dossier for its channel."""
    return json.dumps(fee_schedule(fees, channel), ensure_ascii=False)


def row(code, agency, channel, state, received_at, legal_due_date, procedure="1.001193", completed_at=None,
        returned_at=None, fees=()):
    submitted_at = received_at or vn(20)
    return {
        "code": code, "procedure_code": procedure, "procedure_name": "Thủ tục " + procedure, "procedure_version": 1,
        "agency_code": agency, "holder_agency_code": agency, "channel": channel, "return_method": "counter",
        "state": state, "version": 2, "tracking_key_hash": "0" * 64, "applicant_given_name": "An",
        "submitted_at": submitted_at, "received_at": received_at, "appointment_date": legal_due_date,
        "time_limit_working_days": 5, "cutoff_hour": time(15), "supplement_requests": 0, "counted_overdue": False,
        "completed_at": completed_at, "returned_at": returned_at, "updated_at": submitted_at, "workflow": "[]",
        "legal_due_date": legal_due_date, "fees": pinned(list(fees), channel),
    }


def code(agency: str, number: int) -> str:
    return f"{agency}-261101-{number:04d}"


SEED = [
    row(code(AGENCY_A, 1), AGENCY_A, "online", "completed", vn(2), date(2026, 11, 10), completed_at=vn(10, hour=16),
        fees=BIRTH_FEES),
    row(code(AGENCY_A, 2), AGENCY_A, "counter", "returned", vn(3), date(2026, 11, 10), completed_at=vn(11),
        returned_at=vn(12), fees=BIRTH_FEES),
    row(code(AGENCY_A, 3), AGENCY_A, "postal", "in_progress", vn(5), date(2026, 11, 20)),
    row(code(AGENCY_A, 4), AGENCY_A, "online", "completed", vn(5), date(2026, 11, 19), completed_at=vn(18)),
    row(code(AGENCY_A, 5), AGENCY_A, "counter", "received", datetime(2026, 11, 30, 17, 30, tzinfo=UTC),
        date(2026, 12, 4)),
    row(code(AGENCY_A, 6), AGENCY_A, "online", "awaiting_supplement", vn(16), date(2026, 11, 25)),
    row(code(AGENCY_A, 7), AGENCY_A, "online", "received", datetime(2026, 10, 31, 17, 30, tzinfo=UTC),
        date(2026, 11, 30)),
    row(code(AGENCY_A, 8), AGENCY_A, "online", "completed", vn(10), date(2026, 11, 25),
        completed_at=datetime(2026, 11, 30, 17, 30, tzinfo=UTC)),
    row(code(AGENCY_B, 1), AGENCY_B, "counter", "completed", vn(20, 10), date(2026, 10, 30), completed_at=vn(3)),
    row(code(AGENCY_B, 2), AGENCY_B, "online", "in_progress", vn(2), date(2026, 11, 30), procedure="2.002000",
        fees=[RESIDENCE_FEE]),
    row(code(AGENCY_B, 3), AGENCY_B, "counter", "stopped", vn(4), date(2026, 11, 12), procedure="2.002000"),
    row(code(AGENCY_B, 4), AGENCY_B, "online", "completed", vn(1, 10), date(2026, 10, 8), procedure="2.002000",
        completed_at=vn(1, 10, hour=15)),
    row(code(AGENCY_B, 5), AGENCY_B, "online", "submitted", None, date(2026, 11, 20), procedure="2.002000"),
]
PAUSES = [
    # A4: a closed pause (it moved the legal date); A6: paused since 24/11, the day before its due date.
    {"dossier_code": code(AGENCY_A, 4), "seq": 1, "started_at": vn(6), "ended_at": vn(13),
     "reason": "awaiting_supplement"},
    {"dossier_code": code(AGENCY_A, 6), "seq": 1, "started_at": vn(24), "ended_at": None,
     "reason": "awaiting_supplement"},
]


def history(dossier_code, seq, at, action, from_state, to_state, **details):
    return {"dossier_code": dossier_code, "seq": seq, "at": at, "action": action, "from_state": from_state,
            "to_state": to_state, "agency_code": AGENCY_A, "actor_kind": "official", "actor_id": "xuly-1",
            "actor_agency_code": AGENCY_A, "reason": None, "idempotency_key": f"{dossier_code}-{seq}",
            "details": json.dumps(details), "public": True}


# A2's desk asked for the late registration's fee, and the citizen paid it.
HISTORY = [history(code(AGENCY_A, 2), 3, vn(4), "request_payment", "in_progress", "awaiting_payment", fee_vnd=8000),
           history(code(AGENCY_A, 2), 4, vn(5), "record_payment", "awaiting_payment", "in_progress")]


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def database_url(request, postgres_database, tmp_path_factory):
    if request.param == "postgresql":
        return postgres_database("status")
    return f"sqlite:///{tmp_path_factory.mktemp('reports') / 'status.db'}"


@pytest.fixture
def seeded(database_url):
    if database_url.startswith("postgresql"):
        truncate_all(database_url)
    else:  # the history refuses DELETE, in a test too: SQLite starts from a new file
        for suffix in ("", "-wal", "-shm"):
            Path(database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        upgrade("status", database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(dossier.insert(), SEED)
        conn.execute(clock_pause.insert(), PAUSES)
        conn.execute(dossier_history.insert(), HISTORY)
    engine.dispose()


@pytest.fixture
def rpc(container_factory, rabbit_config, web_config, database_url, seeded):
    config = {**rabbit_config, **web_config, "DATABASE_URL": database_url}
    container = container_factory(StatusService, config)
    replace_dependencies(container, clock=PinnedClock(TEST_NOW))
    container.start()
    with ServiceRpcProxy("status", config, timeout=15) as proxy:
        yield proxy


def counts(report_row):
    return (report_row["received"], report_row["completed_on_time"], report_row["completed_late"],
            report_row["unfinished_late"], report_row["unfinished_on_time"])


def test_the_on_time_report_by_agency_matches_the_hand_count(rpc):
    report = rpc.report_on_time(ADMIN, {**NOVEMBER, "group_by": "agency"})
    assert (report["from"], report["to"], report["group_by"]) == ("2026-11-01", "2026-11-30", "agency")
    row_a, row_b = report["rows"]
    assert (row_a["key"], counts(row_a)) == (AGENCY_A, (7, 2, 1, 2, 2))
    assert row_a["on_time_rate"] == pytest.approx(2 / 5) and row_a["online_share"] == pytest.approx(5 / 7)
    assert row_a["by_channel"] == {"online": 5, "counter": 1, "postal": 1}
    assert row_a["by_state"] == {"completed": 3, "returned": 1, "in_progress": 1, "awaiting_supplement": 1,
                             "received": 1}
    assert (row_b["key"], counts(row_b)) == (AGENCY_B, (2, 0, 1, 0, 1))
    assert (row_b["on_time_rate"], row_b["online_share"]) == (0.0, 0.5)
    assert row_b["by_state"] == {"in_progress": 1, "stopped": 1}


def test_the_on_time_report_for_the_city_and_by_procedure(rpc):
    [city] = rpc.report_on_time(ADMIN, {**NOVEMBER, "group_by": "city"})["rows"]
    assert (city["key"], counts(city)) == ("city", (9, 2, 2, 2, 3))
    assert city["on_time_rate"] == pytest.approx(2 / 6) and city["online_share"] == pytest.approx(6 / 9)

    first, second = rpc.report_on_time(ADMIN, {**NOVEMBER, "group_by": "procedure"})["rows"]
    assert (first["key"], first["name"], counts(first)) == ("1.001193", "Thủ tục 1.001193", (7, 2, 2, 2, 2))
    assert (second["key"], counts(second), second["on_time_rate"]) == ("2.002000", (2, 0, 0, 0, 1), None)
    assert second["name"] == "Thủ tục 2.002000" and city["name"] is None  # the gateway names agencies and the city


def test_a_shorter_period_judges_the_open_dossiers_at_its_own_end(rpc):
    # On 20/11 nothing open was late yet: A3 is due that very day, A6, A7, A8 and B2 later.
    [city] = rpc.report_on_time(ADMIN, {"from": "2026-11-01", "to": "2026-11-20", "group_by": "city"})["rows"]
    assert counts(city) == (9, 2, 2, 0, 5)
    assert city["on_time_rate"] == 0.5


def test_the_national_export_lists_the_period_s_dossiers_in_the_portal_fields(rpc):
    records = rpc.export_national(ADMIN, NOVEMBER)
    schema = NationalSyncRecordSchema(many=True)
    assert schema.load(records) == records  # every record loads under the contract, nothing dropped
    by_code = {r["MaHoSo"]: r for r in records}
    assert set(by_code) == {code(AGENCY_A, n) for n in (1, 2, 3, 4, 6, 7, 8)} | {code(AGENCY_B, n) for n in (1, 2, 3)}
    assert by_code[code(AGENCY_A, 7)]["NgayTiepNhan"] == "20261101003000"
    assert by_code[code(AGENCY_A, 8)]["NgayKetThucXuLy"] == "20261201003000"
    assert by_code[code(AGENCY_A, 2)] == {
        "MaHoSo": code(AGENCY_A, 2), "MaTTHC": "1.001193", "TenTTHC": "Thủ tục 1.001193", "DonViXuLy": AGENCY_A,
        "KenhThucHien": 1, "NgayTiepNhan": "20261103090000", "NgayHenTra": "20261110235959",
        "NgayKetThucXuLy": "20261111090000", "NgayTra": "20261112090000", "TrangThaiHoSo": 10,
        "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí đăng ký khai sinh không đúng hạn", "MaPhiLePhi": "khong-dung-han",
                           "Gia": 8000}],  # what the desk asked for, not the on-time fee beside it
    }
    assert by_code[code(AGENCY_A, 1)]["DanhSachLePhi"] == []  # online khai sinh is free: nothing charged
    assert by_code[code(AGENCY_B, 2)]["DanhSachLePhi"] == [
        {"TenPhiLePhi": "Lệ phí đăng ký thường trú", "MaPhiLePhi": "thuong-tru", "Gia": 10000}]  # the online amount


@pytest.mark.parametrize("roles", [["receptionist"], ["handler", "approver"]])
def test_only_a_city_admin_gets_reports(rpc, roles):
    official = {**ADMIN, "roles": roles}
    with pytest.raises(Forbidden):
        rpc.report_on_time(official, NOVEMBER)
    with pytest.raises(Forbidden):
        rpc.export_national(official, NOVEMBER)


def test_an_expired_or_revoked_admin_token_is_refused(rpc):
    with pytest.raises(Unauthorized):
        rpc.report_on_time({**ADMIN, "expires_at": "2020-01-01T00:00:00+00:00"}, NOVEMBER)
    assert rpc.report_on_time(ADMIN, NOVEMBER)["rows"]
    rpc.revoke_token(ADMIN["token_id"], ADMIN["expires_at"])
    with pytest.raises(Unauthorized):
        rpc.report_on_time(ADMIN, NOVEMBER)
    with pytest.raises(Unauthorized):
        rpc.export_national(ADMIN, NOVEMBER)


@pytest.mark.parametrize(("official", "query", "field"), [
    ({**ADMIN, "roles": ["mayor"]}, NOVEMBER, "official.roles.0"),
    ({**ADMIN, "extra": 1}, NOVEMBER, "official.extra"),
    ("admin", NOVEMBER, "official._schema"),
    (ADMIN, {"from": "2026-11-31", "to": "2026-12-01"}, "from"),
    (ADMIN, {**NOVEMBER, "group_by": "ward"}, "group_by"),
    (ADMIN, {"from": "2026-11-30", "to": "2026-11-01"}, "to"),
    (ADMIN, {**NOVEMBER, "page": 2}, "page"),
])
def test_bad_input_is_refused_with_the_field(rpc, official, query, field):
    with pytest.raises(ValidationFailed) as refused:
        rpc.report_on_time(official, query)
    assert field in refused.value.fields


def test_the_export_covers_at_most_a_month_at_a_time(rpc):
    thirty_one_days = rpc.export_national(ADMIN, {"from": "2026-11-01", "to": "2026-12-01"})
    assert code(AGENCY_A, 5) in {r["MaHoSo"] for r in thirty_one_days}  # received 1/12 in Hanoi
    with pytest.raises(ValidationFailed) as refused:
        rpc.export_national(ADMIN, {"from": "2026-11-01", "to": "2026-12-02"})
    assert "to" in refused.value.fields
