"""Quiet hours for SMS: across midnight and inside one day, in Vietnam's local time."""
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from notify.domain.quiet_hours import release_time

VN = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = timezone.utc
NIGHT = (time(21, 0), time(7, 0))
LUNCH = (time(12, 0), time(13, 30))


@pytest.mark.parametrize("local, expected", [
    (datetime(2026, 5, 4, 20, 59), None),                      # before the window: now
    (datetime(2026, 5, 4, 21, 0), datetime(2026, 5, 5, 7, 0)),  # start is inside
    (datetime(2026, 5, 4, 23, 30), datetime(2026, 5, 5, 7, 0)),  # evening: tomorrow morning
    (datetime(2026, 5, 5, 2, 15), datetime(2026, 5, 5, 7, 0)),   # after midnight: this morning
    (datetime(2026, 5, 5, 6, 59), datetime(2026, 5, 5, 7, 0)),
    (datetime(2026, 5, 5, 7, 0), None),                        # end is outside
    (datetime(2026, 12, 31, 22, 0), datetime(2027, 1, 1, 7, 0)),  # across the year
])
def test_window_across_midnight(local, expected):
    now = local.replace(tzinfo=VN)
    released = release_time(now, *NIGHT)
    assert released == (now if expected is None else expected.replace(tzinfo=VN))
    assert released.tzinfo == UTC


@pytest.mark.parametrize("local, expected", [
    (datetime(2026, 5, 4, 11, 59), None),
    (datetime(2026, 5, 4, 12, 0), datetime(2026, 5, 4, 13, 30)),
    (datetime(2026, 5, 4, 13, 29), datetime(2026, 5, 4, 13, 30)),
    (datetime(2026, 5, 4, 13, 30), None),
    (datetime(2026, 5, 4, 23, 0), None),
])
def test_window_inside_a_day(local, expected):
    now = local.replace(tzinfo=VN)
    assert release_time(now, *LUNCH) == (now if expected is None else expected.replace(tzinfo=VN))


def test_local_time_decides_not_utc():
    # 15:00 UTC is 22:00 in Hanoi: quiet; the release is 07:00 local = 00:00 UTC next day.
    released = release_time(datetime(2026, 5, 4, 15, 0, tzinfo=UTC), *NIGHT)
    assert released == datetime(2026, 5, 5, 0, 0, tzinfo=UTC)
    assert released.tzinfo == UTC


def test_another_zone_can_be_given():
    now = datetime(2026, 5, 4, 22, 0, tzinfo=UTC)  # 22:00 UTC is 05:00 in Hanoi, quiet in UTC
    assert release_time(now, *NIGHT, tz=UTC) == datetime(2026, 5, 5, 7, 0, tzinfo=UTC)


def test_an_empty_window_never_holds():
    now = datetime(2026, 5, 4, 23, 0, tzinfo=VN)
    assert release_time(now, time(21), time(21)) == now


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        release_time(datetime(2026, 5, 4, 23, 0), *NIGHT)
