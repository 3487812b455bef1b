"""The on-time rate by the national rule (Decision 766), on local dates of Asia/Ho_Chi_Minh.

Over a period [date_from, date_to], both included:
- a dossier completed within the period is on time if completed on or before its legal due
  date, late otherwise;
- a dossier received on or before `date_to` and not completed by then (still open, or
  completed after the period) counts as late if its legal due date is before `date_to`, as
  unfinished on time otherwise; one paused for the citizen at the end of the period counts
  from the day its pause began instead, as its date will move when it resumes;
- a dossier counted overdue for a second supplement request is late in either case;
- on_time_rate = completed_on_time / (completed_on_time + completed_late + unfinished_late).
Time paused for supplements needs no arithmetic here: the pauses already moved the legal due
date. The online share and the counts by channel and state are over dossiers received in the
period. Dossiers are read as they are now (refused, stopped and withdrawn ones never count as
unfinished), so a past period is judged with today's legal dates.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from motcua.national_codes import Channel, DossierState

# Still being processed; a completed or returned dossier is finished from its completed_at on.
OPEN_STATES: frozenset[DossierState] = frozenset(
    {DossierState.RECEIVED, DossierState.IN_PROGRESS, DossierState.AWAITING_SUPPLEMENT, DossierState.AWAITING_PAYMENT})


@dataclass(frozen=True)
class Bucket:
    """`count` dossiers sharing every input of the rule (one SQL GROUP BY row, or one dossier)."""

    key: str  # agency code, procedure code or "city"
    channel: str
    state: str
    received_on: date
    legal_due_date: date
    completed_on: date | None = None
    paused_on: date | None = None  # the day the open clock pause began, if paused now
    counted_overdue: bool = False
    count: int = 1


@dataclass
class OnTimeRow:
    """One row of `motcua_contracts.reports.OnTimeRowSchema`."""

    key: str
    received: int = 0
    completed_on_time: int = 0
    completed_late: int = 0
    unfinished_late: int = 0
    unfinished_on_time: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    by_state: Counter[str] = field(default_factory=Counter)

    @property
    def on_time_rate(self) -> float | None:
        judged = self.completed_on_time + self.completed_late + self.unfinished_late
        return self.completed_on_time / judged if judged else None

    @property
    def online_share(self) -> float | None:
        return self.by_channel[Channel.ONLINE] / self.received if self.received else None

    def add(self, bucket: Bucket, date_from: date, date_to: date) -> None:
        if date_from <= bucket.received_on <= date_to:
            self.received += bucket.count
            self.by_channel[bucket.channel] += bucket.count
            self.by_state[bucket.state] += bucket.count
        if bucket.completed_on is not None and date_from <= bucket.completed_on <= date_to:
            if completed_on_time(bucket.completed_on, bucket.legal_due_date, bucket.counted_overdue):
                self.completed_on_time += bucket.count
            else:
                self.completed_late += bucket.count
        elif bucket.received_on <= date_to and _unfinished_at(bucket, date_to):
            counted_until = min(bucket.paused_on or date_to, date_to)
            if bucket.legal_due_date < counted_until or bucket.counted_overdue:
                self.unfinished_late += bucket.count
            else:
                self.unfinished_on_time += bucket.count


def completed_on_time(completed_on: date, legal_due_date: date, counted_overdue: bool) -> bool:
    """A completed dossier is on time if completed on or before its legal due date, and not counted
    overdue for a second supplement request."""
    return completed_on <= legal_due_date and not counted_overdue


def _unfinished_at(bucket: Bucket, day: date) -> bool:
    if bucket.completed_on is not None:
        return bucket.completed_on > day
    return DossierState(bucket.state) in OPEN_STATES


def on_time_rows(buckets: Iterable[Bucket], date_from: date, date_to: date) -> list[OnTimeRow]:
    """The rows of the report, one per key, sorted by key."""
    if date_from > date_to:
        raise ValueError(f"the period ends ({date_to}) before it starts ({date_from})")
    rows: dict[str, OnTimeRow] = {}
    for bucket in buckets:
        rows.setdefault(bucket.key, OnTimeRow(bucket.key)).add(bucket, date_from, date_to)
    return [rows[key] for key in sorted(rows)]
