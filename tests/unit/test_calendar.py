"""Working-day calendar. Every expected date below was counted by hand on a printed
calendar (weekdays from the Gregorian calendar, holidays from the announced 2026/2027
schedules), not taken from the code under test."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.calendar import (
    OVERRIDES_ENV,
    TIMEZONE,
    CalendarOverrides,
    WorkingCalendar,
    default_calendar,
    load_overrides,
    local_date,
)

UTC = timezone.utc
# Package rules only, so these tests do not move when the shipped override file changes.
CAL = WorkingCalendar(CalendarOverrides())


def hanoi(year: int, month: int, day: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(year, month, day, hh, mm, tzinfo=TIMEZONE)


def test_timezone_is_vietnam():
    assert TIMEZONE == ZoneInfo("Asia/Ho_Chi_Minh")


# --- holidays -----------------------------------------------------------------


def test_lunar_tet_2026():
    for day in range(16, 21):  # Mon 16 .. Fri 20 Feb 2026
        assert not CAL.is_working_day(date(2026, 2, day))
    assert CAL.is_working_day(date(2026, 2, 13))  # Fri before
    assert CAL.is_working_day(date(2026, 2, 23))  # Mon after
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)


def test_dossier_received_before_tet_2026_with_3_days():
    # Fri 13 counts; Mon 23 (1), Tue 24 (2), Wed 25 (3).
    assert CAL.appointment_date(hanoi(2026, 2, 13, 10), 3) == date(2026, 2, 25)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 25)) == 3


def test_lunar_tet_2027():
    for day in range(4, 11):  # Thu 4 .. Wed 10 Feb 2027
        assert not CAL.is_working_day(date(2027, 2, day))
    assert CAL.is_working_day(date(2027, 2, 3))
    assert CAL.next_working_day(date(2027, 2, 3)) == date(2027, 2, 11)
    # Received Wed 3 Feb after the cut-off: counts from Thu 11, +1 = Fri 12.
    assert CAL.appointment_date(hanoi(2027, 2, 3, 16), 1) == date(2027, 2, 12)


def test_hung_kings_day_2026_observed_monday():
    assert not CAL.is_working_day(date(2026, 4, 27))  # 10/3 lunar is Sun 26 Apr
    assert CAL.is_working_day(date(2026, 4, 28))
    # Fri 24 counts; Mon 27 off -> Tue 28 (1), Wed 29 (2).
    assert CAL.appointment_date(hanoi(2026, 4, 24, 9), 2) == date(2026, 4, 29)


def test_hung_kings_day_2027_friday():
    assert not CAL.is_working_day(date(2027, 4, 16))
    assert CAL.next_working_day(date(2027, 4, 15)) == date(2027, 4, 19)


def test_reunification_and_labour_day_2026():
    assert not CAL.is_working_day(date(2026, 4, 30))  # Thu
    assert not CAL.is_working_day(date(2026, 5, 1))  # Fri
    # Wed 29 Apr counts; Thu, Fri off, weekend -> Mon 4 May.
    assert CAL.appointment_date(hanoi(2026, 4, 29, 9), 1) == date(2026, 5, 4)
    # Fri 24 Apr: Tue 28 (1), Wed 29 (2), Mon 4 May (3).
    assert CAL.appointment_date(hanoi(2026, 4, 24, 9), 3) == date(2026, 5, 4)
    assert CAL.working_days_between(date(2026, 4, 24), date(2026, 5, 4)) == 3


def test_national_day_2026_with_substituted_monday():
    for day in (date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)):
        assert not CAL.is_working_day(day)
    # Fri 28 Aug counts; Mon 31, Tue 1, Wed 2 off -> Thu 3 (1), Fri 4 (2).
    assert CAL.appointment_date(hanoi(2026, 8, 28), 2) == date(2026, 9, 4)


def test_make_up_saturday_2026_08_22_is_a_working_day():
    assert date(2026, 8, 22).weekday() == 5
    assert CAL.is_working_day(date(2026, 8, 22))
    assert CAL.next_working_day(date(2026, 8, 21)) == date(2026, 8, 22)
    assert CAL.appointment_date(hanoi(2026, 8, 21, 14), 1) == date(2026, 8, 22)
    # Received on that Saturday morning, same-day procedure: that Saturday.
    assert CAL.appointment_date(hanoi(2026, 8, 22, 10), 0) == date(2026, 8, 22)


def test_vietnam_culture_day_2026():
    assert not CAL.is_working_day(date(2026, 11, 24))  # Tue


# --- cut-off, weekends, limits ------------------------------------------------


def test_cutoff():
    # Tue 10 Mar 2026, 5 days.
    assert CAL.appointment_date(hanoi(2026, 3, 10, 14, 59), 5) == date(2026, 3, 17)
    assert CAL.appointment_date(hanoi(2026, 3, 10, 15, 0), 5) == date(2026, 3, 18)
    assert CAL.appointment_date(hanoi(2026, 3, 10, 15, 30), 5) == date(2026, 3, 18)
    assert CAL.counting_start(hanoi(2026, 3, 10, 15, 30)) == date(2026, 3, 11)
    # A procedure with a later cut-off.
    assert CAL.appointment_date(hanoi(2026, 3, 10, 15, 30), 5, time(17, 0)) == date(2026, 3, 17)


def test_submission_on_saturday():
    assert CAL.counting_start(hanoi(2026, 3, 14, 9)) == date(2026, 3, 16)
    assert CAL.appointment_date(hanoi(2026, 3, 14, 9), 2) == date(2026, 3, 18)


def test_same_day_procedure():
    assert CAL.appointment_date(hanoi(2026, 3, 10, 9), 0) == date(2026, 3, 10)
    assert CAL.appointment_date(hanoi(2026, 3, 10, 16), 0) == date(2026, 3, 11)
    assert CAL.appointment_date(hanoi(2026, 3, 13, 16), 0) == date(2026, 3, 16)  # Fri -> Mon


def test_fractional_limit_rounds_up():
    # Mon 2 Mar counts; 8 working days -> Thu 12 Mar (7 days -> Wed 11).
    assert CAL.appointment_date(hanoi(2026, 3, 2, 9), 7.5) == date(2026, 3, 12)
    assert CAL.appointment_date(hanoi(2026, 3, 2, 9), Decimal("7.5")) == date(2026, 3, 12)
    assert CAL.appointment_date(hanoi(2026, 3, 2, 9), 7) == date(2026, 3, 11)
    assert CAL.appointment_date(hanoi(2026, 3, 2, 9), Decimal("0.5")) == date(2026, 3, 3)


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), Decimal("-0.5")])
def test_bad_limits_refused(bad):
    with pytest.raises(ValueError):
        CAL.appointment_date(hanoi(2026, 3, 2, 9), bad)


def test_add_working_days_edges():
    assert CAL.add_working_days(date(2026, 3, 10), 0) == date(2026, 3, 10)
    assert CAL.add_working_days(date(2026, 3, 14), 0) == date(2026, 3, 16)  # Sat -> Mon
    assert CAL.add_working_days(date(2026, 3, 14), 1) == date(2026, 3, 17)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 3, 10), -1)
    with pytest.raises(TypeError):
        CAL.add_working_days(date(2026, 3, 10), 1.0)  # type: ignore[arg-type]


def test_working_days_between_empty_when_end_not_after_start():
    assert CAL.working_days_between(date(2026, 3, 10), date(2026, 3, 10)) == 0
    assert CAL.working_days_between(date(2026, 3, 12), date(2026, 3, 10)) == 0


# --- time zones ---------------------------------------------------------------


def test_utc_evening_is_next_day_in_hanoi():
    # 18:30 UTC Mon 9 Mar = 01:30 Tue 10 Mar in Hanoi.
    received = datetime(2026, 3, 9, 18, 30, tzinfo=UTC)
    assert local_date(received) == date(2026, 3, 10)
    assert CAL.counting_start(received) == date(2026, 3, 10)
    assert CAL.appointment_date(received, 1) == date(2026, 3, 11)
    # 17:30 UTC Fri 13 Feb = 00:30 Sat 14 Feb: counts from Mon 23 (after Tet).
    assert CAL.counting_start(datetime(2026, 2, 13, 17, 30, tzinfo=UTC)) == date(2026, 2, 23)


def test_cutoff_applies_in_local_time():
    assert CAL.counting_start(datetime(2026, 3, 10, 7, 59, tzinfo=UTC)) == date(2026, 3, 10)
    assert CAL.counting_start(datetime(2026, 3, 10, 8, 0, tzinfo=UTC)) == date(2026, 3, 11)
    # 03:30 in New York on Tue 10 Mar (EDT) = 14:30 in Hanoi.
    ny = datetime(2026, 3, 10, 3, 30, tzinfo=ZoneInfo("America/New_York"))
    assert CAL.counting_start(ny) == date(2026, 3, 10)


def test_naive_datetime_refused():
    with pytest.raises(ValueError):
        CAL.counting_start(datetime(2026, 3, 10, 9, 0))
    with pytest.raises(ValueError):
        CAL.is_working_day(datetime(2026, 3, 10, 9, 0))


# --- pauses -------------------------------------------------------------------


def test_pause_spanning_national_day():
    # [Fri 28 Aug, Fri 4 Sep): Fri 28 and Thu 3 are working -> 2.
    pause = (hanoi(2026, 8, 28, 10), hanoi(2026, 9, 4, 9))
    assert CAL.paused_working_days([pause]) == 2
    # Appointment Mon 7 Sep moved by 2: Tue 8, Wed 9.
    assert CAL.extend(date(2026, 9, 7), 2) == date(2026, 9, 9)


def test_pause_spanning_tet():
    # [Thu 12 Feb, Tue 24 Feb): Thu 12, Fri 13, Mon 23 -> 3.
    assert CAL.paused_working_days([(hanoi(2026, 2, 12, 8), hanoi(2026, 2, 24, 8))]) == 3


def test_pause_edge_cases():
    assert CAL.paused_working_days([]) == 0
    assert CAL.paused_working_days([(hanoi(2026, 3, 2, 9), hanoi(2026, 3, 2, 16))]) == 0
    overlapping = [
        (hanoi(2026, 3, 2, 9), hanoi(2026, 3, 4, 9)),
        (hanoi(2026, 3, 3, 9), hanoi(2026, 3, 5, 9)),
    ]
    assert CAL.paused_working_days(overlapping) == 3  # Mon 2, Tue 3, Wed 4 once each
    # In UTC: 00:30 Mon 2 Mar .. 00:30 Wed 4 Mar in Hanoi -> Mon, Tue.
    utc = (datetime(2026, 3, 1, 17, 30, tzinfo=UTC), datetime(2026, 3, 3, 17, 30, tzinfo=UTC))
    assert CAL.paused_working_days([utc]) == 2
    with pytest.raises(ValueError):
        CAL.paused_working_days([(hanoi(2026, 3, 4), hanoi(2026, 3, 2))])


# --- overrides ----------------------------------------------------------------

OVERRIDES_YAML = """\
days_off:
  - date: 2026-03-05
    reason: test swap
working_days:
  - date: "2026-03-07"
    reason: test make-up Saturday
"""


@pytest.fixture
def overrides_file(tmp_path: Path) -> Path:
    path = tmp_path / "overrides.yaml"
    path.write_text(OVERRIDES_YAML, encoding="utf-8")
    return path


def _check_test_overrides(cal: WorkingCalendar) -> None:
    assert not cal.is_working_day(date(2026, 3, 5))  # Thu
    assert cal.is_working_day(date(2026, 3, 7))  # Sat
    # Wed 4 counts; Thu 5 off -> Fri 6 (1), Sat 7 (2).
    assert cal.appointment_date(hanoi(2026, 3, 4, 9), 2) == date(2026, 3, 7)


def test_override_file(overrides_file: Path):
    _check_test_overrides(WorkingCalendar(overrides_file))
    assert WorkingCalendar(load_overrides(overrides_file)).overrides.days_off == {
        date(2026, 3, 5): "test swap"
    }
    # Without overrides: Thu 5 (1), Fri 6 (2).
    assert CAL.appointment_date(hanoi(2026, 3, 4, 9), 2) == date(2026, 3, 6)


def test_override_file_from_env(overrides_file: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(OVERRIDES_ENV, str(overrides_file))
    _check_test_overrides(WorkingCalendar())
    default_calendar.cache_clear()
    try:
        _check_test_overrides(default_calendar())
    finally:
        default_calendar.cache_clear()


@pytest.mark.parametrize(
    "text",
    [
        "days_off: [{date: 2026-03-05, reason: a}]\nworking_days: [{date: 2026-03-05, reason: b}]\n",
        "days_off: [{date: 2026-03-05}]\n",
        "days_of: [{date: 2026-03-05, reason: typo}]\n",
        "days_off: [{date: 5 March, reason: x}]\n",
        "days_off: {date: 2026-03-05, reason: x}\n",
    ],
)
def test_bad_override_files(tmp_path: Path, text: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        load_overrides(path)


def test_missing_override_file_fails_loudly(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        WorkingCalendar(tmp_path / "nope.yaml")


def test_shipped_overrides_new_year_2026_swap(monkeypatch: pytest.MonkeyPatch):
    # 12729/VPCP-KGVX: Fri 2 Jan 2026 off, Sat 10 Jan worked; not in holidays 0.109.
    monkeypatch.delenv(OVERRIDES_ENV, raising=False)
    cal = WorkingCalendar()
    assert not cal.is_working_day(date(2026, 1, 2))
    assert cal.is_working_day(date(2026, 1, 10))
    assert CAL.is_working_day(date(2026, 1, 2))  # package alone
    # Wed 31 Dec 2025 counts; Thu 1, Fri 2 off -> Mon 5 (1), Tue 6 (2).
    assert cal.appointment_date(hanoi(2025, 12, 31, 9), 2) == date(2026, 1, 6)


# --- properties ---------------------------------------------------------------

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
counts = st.integers(min_value=0, max_value=60)


@settings(max_examples=300, deadline=None)
@given(days, counts)
def test_add_working_days_lands_on_working_day_n_days_later(start_day: date, working_days: int):
    result = CAL.add_working_days(start_day, working_days)
    assert CAL.is_working_day(result)
    assert result >= start_day
    assert CAL.working_days_between(start_day, result) == working_days


@settings(max_examples=200, deadline=None)
@given(days)
def test_next_working_day_skips_only_days_off(day: date):
    nxt = CAL.next_working_day(day)
    assert nxt > day and CAL.is_working_day(nxt)
    gap = (nxt - day).days
    assert all(not CAL.is_working_day(day + timedelta(days=i)) for i in range(1, gap))


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31),
                 timezones=st.sampled_from([UTC, TIMEZONE, ZoneInfo("America/Los_Angeles")])),
    st.decimals(min_value=0, max_value=30, places=1),
)
def test_appointment_is_a_working_day_not_before_receipt(received: datetime, limit: Decimal):
    due = CAL.appointment_date(received, limit)
    assert CAL.is_working_day(due)
    assert due >= local_date(received)
    assert CAL.working_days_between(CAL.counting_start(received), due) == math.ceil(limit)
