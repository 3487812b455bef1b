"""Overdue detection and the apology's new date. Expected dates counted by hand on the 2026
calendar: Tue 24/11 is Vietnam Cultural Day (off), 28-29/11 and 5-6/12 are weekends."""
from datetime import date, datetime, timezone

import pytest

from motcua.calendar import local_date
from status.domain.deadlines import apology_new_date, apology_reason, is_overdue, needs_apology

RUNNING = ("received", "in_progress")
NOT_RUNNING = ("submitted", "refused", "awaiting_supplement", "awaiting_payment", "withdrawn", "stopped",
               "completed", "returned")


@pytest.mark.parametrize("state", RUNNING)
def test_a_running_dossier_is_on_time_through_its_due_date_and_overdue_the_day_after(state):
    due = date(2026, 11, 26)
    assert not is_overdue(due, state, date(2026, 11, 25))
    assert not is_overdue(due, state, due)
    assert is_overdue(due, state, date(2026, 11, 27))


@pytest.mark.parametrize("state", NOT_RUNNING)
def test_a_dossier_whose_clock_does_not_run_is_never_overdue(state):
    # Paused for the citizen: its legal date moves when it resumes. Finished or stopped: nothing is due.
    assert not is_overdue(date(2026, 11, 2), state, date(2026, 11, 27))


def test_the_sweep_day_is_the_hanoi_date_not_the_utc_one():
    sweep_at = datetime(2026, 11, 26, 17, 30, tzinfo=timezone.utc)  # 00:30 on 27/11 in Hanoi
    today = local_date(sweep_at)
    assert today == date(2026, 11, 27)
    assert is_overdue(date(2026, 11, 26), "in_progress", today)
    assert not is_overdue(date(2026, 11, 26), "in_progress", sweep_at.date())  # the UTC date would miss it
    assert apology_new_date(today, 3) == date(2026, 12, 2)  # Mon 30/11, Tue 1/12, Wed 2/12


def test_an_apology_is_due_once_the_promise_to_the_citizen_has_passed_too():
    today = date(2026, 11, 27)
    assert needs_apology(date(2026, 11, 26), date(2026, 11, 26), "received", today)
    # Apologised already: the new promise is ahead, so no second apology yet although still overdue.
    assert is_overdue(date(2026, 11, 26), "received", today)
    assert not needs_apology(date(2026, 11, 26), date(2026, 12, 2), "received", today)
    # The new promise broken in turn: the next apology.
    assert needs_apology(date(2026, 11, 26), date(2026, 12, 2), "received", date(2026, 12, 3))
    assert not needs_apology(date(2026, 11, 26), date(2026, 11, 26), "awaiting_supplement", today)


@pytest.mark.parametrize(("today", "days", "expected"), [
    (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Friday: the next working day is Monday
    (date(2026, 11, 27), 3, date(2026, 12, 2)),
    (date(2026, 11, 28), 3, date(2026, 12, 2)),  # a Saturday sweep counts from Monday too
    (date(2026, 11, 23), 2, date(2026, 11, 26)),  # Monday: Tuesday 24/11 is a holiday, so Wed, Thu
    (date(2026, 12, 3), 5, date(2026, 12, 10)),  # Thursday: Fri 4, Mon 7, Tue 8, Wed 9, Thu 10
])
def test_the_new_date_is_the_nth_working_day_after_today(today, days, expected):
    assert apology_new_date(today, days) == expected


def test_an_apology_gives_at_least_one_working_day():
    with pytest.raises(ValueError):
        apology_new_date(date(2026, 11, 27), 0)


def test_the_reason_names_the_broken_date_in_vietnamese_format():
    assert "26/11/2026" in apology_reason(date(2026, 11, 26))
