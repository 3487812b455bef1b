"""When a dossier is overdue, and the new date its apology promises (docs/architecture.md section 4).

Plain functions on local dates of Asia/Ho_Chi_Minh (`motcua.calendar.local_date` turns a
stored UTC timestamp into one): a sweep at 2026-11-26T17:30Z runs on 27/11 in Hanoi.
"""
from __future__ import annotations

from datetime import date

from motcua.calendar import default_calendar
from motcua.national_codes import CLOCK, ClockState, DossierState

# Only a running clock can make a dossier late. A dossier paused for the citizen (awaiting a
# supplement or a payment) is not overdue while paused: when it resumes its legal date moves
# by the paused working days, so the citizen's time is never counted against the agency.
OVERDUE_STATES: frozenset[DossierState] = frozenset(s for s, c in CLOCK.items() if c is ClockState.RUNNING)


def is_overdue(legal_due_date: date, state: str, today: date) -> bool:
    """The clock runs and the legal due date is over (a dossier is on time through its due date)."""
    return DossierState(state) in OVERDUE_STATES and legal_due_date < today


def needs_apology(legal_due_date: date, appointment_date: date, state: str, today: date) -> bool:
    """Overdue, and the date promised to the citizen has passed too.

    An apology moves the promised date (never the legal one), so a dossier still overdue after
    its apology waits for the new promise to pass before it gets the next apology.
    """
    return is_overdue(legal_due_date, state, today) and appointment_date < today


def apology_new_date(today: date, extension_working_days: int) -> date:
    """The new appointment: the `extension_working_days`-th working day after `today`.

    The agency gets that many whole working days counted from tomorrow: on Friday 27/11/2026
    with 3, the new date is Wednesday 2/12 (Monday 30/11, Tuesday 1/12, Wednesday 2/12).
    """
    if extension_working_days < 1:
        raise ValueError(f"an apology must give at least one working day, got {extension_working_days}")
    calendar = default_calendar()
    return calendar.add_working_days(calendar.next_working_day(today), extension_working_days - 1)


def apology_reason(original_appointment_date: date) -> str:
    """The reason the scheduler writes on template 04; an official may issue a fuller one."""
    return (f"Hồ sơ chưa được giải quyết xong trước ngày hẹn trả kết quả "
            f"{original_appointment_date:%d/%m/%Y}; cơ quan xin lỗi và hẹn lại ngày trả kết quả.")
