"""A dossier's workflow: its procedure's workflow template (ordered steps), pinned at submission.

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


def from_json(workflow: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    """Steps from catalog's WorkflowStepSchema items (loaded or dumped)."""
    return tuple(Step(item["agency"], item["role"], Decimal(item["working_days"])) for item in workflow)


def as_json(workflow: Sequence[Step]) -> list[dict[str, str]]:
    return [{"agency": step.agency, "role": step.role, "working_days": str(step.working_days)} for step in workflow]


def next_step(workflow: Sequence[Step], index: int, to_agency_code: str) -> int | None:
    """The step a transfer to `to_agency_code` enters, or None when the transfer deviates from the workflow.

    The template's next hand-over is the first later step of another agency than step `index`'s:
    consecutive steps of one agency (receptionist, then handler) need no transfer between them.
    """
    here = workflow[index].agency
    for later in range(index + 1, len(workflow)):
        if workflow[later].agency != here:
            return later if workflow[later].agency == to_agency_code else None
    return None


def step_due_date(calendar: WorkingCalendar, start: date, workflow: Sequence[Step], index: int,
                  paused_working_days: int) -> date:
    """When the agency holding step `index` must hand on, for a time limit counted from `start`."""
    last = index
    while last + 1 < len(workflow) and workflow[last + 1].agency == workflow[index].agency:
        last += 1
    used = math.ceil(sum((step.working_days for step in workflow[:last + 1]), Decimal(0)))
    return calendar.add_working_days(start, used + paused_working_days)
