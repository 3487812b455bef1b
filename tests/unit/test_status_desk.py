"""The desk's deadline warnings, without broker or database."""
from datetime import date

import pytest

from motcua.calendar import default_calendar
from status.domain.deadlines import is_overdue
from status.domain.desk import warning

TUE = date(2026, 4, 28)  # Thu 30/4 and Fri 1/5/2026 are holidays


@pytest.mark.parametrize("state, legal, appointment, step, expected", [
    ("in_progress", date(2026, 4, 27), date(2026, 5, 8), None, "overdue"),  # an apology moved the appointment only
    ("awaiting_supplement", date(2026, 4, 27), date(2026, 4, 27), None, None),  # paused: its date moves on resume
    ("completed", date(2026, 4, 27), date(2026, 4, 27), None, None),
    ("submitted", date(2026, 4, 27), date(2026, 4, 27), None, None),  # the clock has not started
    ("in_progress", TUE, TUE, None, "due_soon"),  # due today
    ("in_progress", date(2026, 4, 29), date(2026, 4, 29), None, "due_soon"),  # one working day left
    ("received", date(2026, 5, 4), date(2026, 5, 4), None, None),  # Wed 29 and the holidays: two working days
    ("in_progress", date(2026, 5, 8), date(2026, 5, 8), date(2026, 4, 29), "due_soon"),  # the step is due
    ("in_progress", date(2026, 5, 8), date(2026, 5, 8), date(2026, 4, 27), "due_soon"),  # the step is late
])
def test_warnings(state, legal, appointment, step, expected):
    assert warning(state, legal, appointment, step, TUE, 1, default_calendar()) == expected
    assert is_overdue(legal, state, TUE) == (expected == "overdue")


def test_the_warning_window_is_configurable():
    assert warning("in_progress", date(2026, 5, 4), date(2026, 5, 4), None, TUE, 2, default_calendar()) == "due_soon"
