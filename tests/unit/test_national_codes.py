"""National portal codes (docs/architecture.md section 4) and timestamp format."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from motcua.national_codes import (
    CLOCK,
    NATIONAL_CHANNEL_CODE,
    NATIONAL_STATUS_CODE,
    Channel,
    ClockState,
    DossierState,
    format_national_timestamp,
)

UTC = timezone.utc

# (state, national code, clock) copied from the table in docs/architecture.md section 4.
TABLE = [
    ("submitted", 1, "not_started"),
    ("received", 2, "running"),
    ("refused", 3, "stopped"),
    ("in_progress", 4, "running"),
    ("awaiting_supplement", 5, "paused"),
    ("awaiting_payment", 6, "paused"),
    ("withdrawn", 7, "stopped"),
    ("stopped", 8, "stopped"),
    ("completed", 9, "stopped"),
    ("returned", 10, "stopped"),
]


def test_states_are_exactly_the_table():
    assert [s.value for s in DossierState] == [row[0] for row in TABLE]


@pytest.mark.parametrize(("state", "code", "clock"), TABLE)
def test_status_code_and_clock(state: str, code: int, clock: str):
    assert NATIONAL_STATUS_CODE[DossierState(state)] == code
    assert CLOCK[DossierState(state)] == ClockState(clock)
    assert CLOCK[DossierState(state)] == clock  # str enums compare with plain strings


def test_every_state_mapped_once():
    assert set(NATIONAL_STATUS_CODE) == set(DossierState) == set(CLOCK)
    assert sorted(NATIONAL_STATUS_CODE.values()) == list(range(1, 11))


def test_states_are_strings():
    assert DossierState.IN_PROGRESS == "in_progress"
    assert str(DossierState.AWAITING_PAYMENT) == "awaiting_payment"
    with pytest.raises(ValueError):
        DossierState("closed")


def test_channels():
    assert {c.value: NATIONAL_CHANNEL_CODE[c] for c in Channel} == {
        "counter": 1,
        "online": 2,
        "postal": 3,
    }


def test_tables_are_read_only():
    with pytest.raises(TypeError):
        NATIONAL_STATUS_CODE[DossierState.SUBMITTED] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        NATIONAL_CHANNEL_CODE[Channel.ONLINE] = 9  # type: ignore[index]


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (datetime(2026, 11, 25, 3, 4, 5, tzinfo=UTC), "20261125100405"),
        # UTC New Year's Eve 17:30 is already 00:30 on 1 Jan in Hanoi.
        (datetime(2026, 12, 31, 17, 30, 0, 999999, tzinfo=UTC), "20270101003000"),
        # Midnight in Paris (CET, UTC+1) = 06:00 in Hanoi.
        (datetime(2026, 1, 1, 0, 0, tzinfo=ZoneInfo("Europe/Paris")), "20260101060000"),
        (datetime(2026, 2, 17, 8, 15, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), "20260217081500"),
    ],
)
def test_format_national_timestamp(dt: datetime, expected: str):
    assert format_national_timestamp(dt) == expected


def test_naive_timestamp_refused():
    with pytest.raises(ValueError):
        format_national_timestamp(datetime(2026, 11, 25, 10, 0))
