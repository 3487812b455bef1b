"""The dossiers as they stand, per holding agency: how many are open in each state, how many are overdue, and
how long the oldest one still being processed has waited since it was received (status.gauges reads these for
Prometheus from one GROUP BY)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from motcua.national_codes import DossierState
from status.domain.kpi import OPEN_STATES
from status.domain.lifecycle import FINAL_STATES

NOT_FINAL_STATES: frozenset[DossierState] = frozenset(DossierState) - FINAL_STATES


@dataclass(frozen=True)
class Holding:
    """The dossiers one agency holds in one state that is not final."""

    agency_code: str
    state: DossierState
    count: int
    overdue: int  # of them, past their legal due date with the clock running (deadlines.is_overdue)
    first_received_at: datetime | None  # the earliest receipt among them; None while none was received


@dataclass(frozen=True)
class Backlog:
    open: dict[tuple[str, DossierState], int]  # (agency, state) -> dossiers
    overdue: dict[str, int]  # agency -> dossiers; 0 for an agency holding open dossiers none of which is overdue
    oldest_seconds: dict[str, float]  # agency -> seconds since its oldest dossier still being processed was received


def backlog(holdings: Iterable[Holding], now: datetime) -> Backlog:
    opened: dict[tuple[str, DossierState], int] = {}
    overdue: dict[str, int] = {}
    first_received: dict[str, datetime] = {}
    for holding in holdings:
        agency = holding.agency_code
        opened[agency, holding.state] = holding.count
        overdue[agency] = overdue.get(agency, 0) + holding.overdue
        # Still being processed: a completed result waiting to be collected is no longer the agency's work.
        if holding.state in OPEN_STATES and holding.first_received_at is not None:
            first_received[agency] = min(first_received.get(agency, holding.first_received_at),
                                         holding.first_received_at)
    return Backlog(opened, overdue, {agency: (now - at).total_seconds() for agency, at in first_received.items()})
