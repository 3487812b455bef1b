"""What the officials' desk shows of a dossier's deadlines."""
from __future__ import annotations

from datetime import date

from motcua.calendar import WorkingCalendar
from motcua.national_codes import DossierState
from status.domain.deadlines import OVERDUE_STATES, is_overdue

# Circular 01/2018/TT-VPCP, template 04: the agency's apology with a new appointment date.
APOLOGY_TEMPLATE = "circular-01-2018-vpcp/template-04"

def warning(state: str, legal_due_date: date, appointment_date: date, step_due_date: date | None, today: date,
            warn_working_days: int, calendar: WorkingCalendar) -> str | None:
    """"overdue" past the legal due date; "due_soon" within `warn_working_days` of the step's or the dossier's date."""
    # Warnings follow the one overdue rule (domain.deadlines): only a running clock can be late.
    if DossierState(state) not in OVERDUE_STATES:
        return None
    if is_overdue(legal_due_date, state, today):
        return "overdue"
    due = min(d for d in (step_due_date, appointment_date) if d is not None)
    return "due_soon" if calendar.working_days_between(today, due) <= warn_working_days else None
