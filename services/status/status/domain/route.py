"""The default route of a dossier: its procedure's workflow template (ordered steps).

Each step names an agency, a role and the working days it may use. Only a transfer moves a
dossier between agencies, so the deadline the desk watches is that of the agency's stretch:
step k is due the cumulative working days through the last of the consecutive steps at
step k's agency (rounded up), counted from the receipt, plus every working day the clock
was paused.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from motcua.calendar import WorkingCalendar


@dataclass(frozen=True)
class Step:
    agency: str
    role: str  # receptionist, handler or approver
    working_days: Decimal


def steps(workflow: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    """Steps from catalog's WorkflowStepSchema items (loaded or dumped)."""
    return tuple(Step(s["agency"], s["role"], Decimal(s["working_days"])) for s in workflow)


def as_json(route: Sequence[Step]) -> list[dict[str, str]]:
    return [{"agency": s.agency, "role": s.role, "working_days": str(s.working_days)} for s in route]


def next_step(route: Sequence[Step], index: int, to_agency_code: str) -> int | None:
    """The step a transfer to `to_agency_code` enters, or None when the transfer deviates from the route.

    The template's next hand-over is the first later step of another agency than step `index`'s:
    consecutive steps of one agency (receptionist, then handler) need no transfer between them.
    """
    here = route[index].agency
    for k in range(index + 1, len(route)):
        if route[k].agency != here:
            return k if route[k].agency == to_agency_code else None
    return None


def step_due_date(calendar: WorkingCalendar, start: date, route: Sequence[Step], index: int,
                  paused_working_days: int) -> date:
    """When the agency holding step `index` must hand on, for a time limit counted from `start`."""
    last = index
    while last + 1 < len(route) and route[last + 1].agency == route[index].agency:
        last += 1
    used = math.ceil(sum((s.working_days for s in route[:last + 1]), Decimal(0)))
    return calendar.add_working_days(start, used + paused_working_days)
