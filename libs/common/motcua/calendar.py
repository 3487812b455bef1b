"""The Vietnamese working-day calendar shared by intake and status.

Intake computes the appointment date with it and status computes pauses and
deadlines with it; both must count the same days, so the rule lives here once.

Working day = Monday..Friday that is not a public holiday of ``holidays.Vietnam``
(lunar Tet, Hung Kings' day, observed and swapped days), plus the package's
make-up Saturdays, then corrected by an override table of swaps announced by the
Government that the installed package does not know yet
(``data/calendar_overrides.yaml``, or the file named by ``MOTCUA_CALENDAR_OVERRIDES``).

All dates are local dates in Asia/Ho_Chi_Minh. Every argument documented as a date
also accepts a timezone-aware datetime in any zone, which is converted first.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import yaml

__all__ = [
    "TIMEZONE",
    "DEFAULT_CUTOFF",
    "OVERRIDES_ENV",
    "DEFAULT_OVERRIDES_PATH",
    "CalendarOverrides",
    "load_overrides",
    "local_date",
    "WorkingCalendar",
    "default_calendar",
]

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_CUTOFF = time(15, 0)
OVERRIDES_ENV = "MOTCUA_CALENDAR_OVERRIDES"
DEFAULT_OVERRIDES_PATH = Path(__file__).parent / "data" / "calendar_overrides.yaml"

_ONE_DAY = timedelta(days=1)

DateLike = date | datetime


def local_date(value: DateLike) -> date:
    """The Asia/Ho_Chi_Minh calendar date of ``value``.

    A plain ``date`` is taken as already local. A datetime must be aware: a naive
    one is ambiguous (server clocks run in UTC), so it is refused.
    """
    if isinstance(value, datetime):  # check first: datetime is a subclass of date
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        return value.astimezone(TIMEZONE).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date or an aware datetime, got {type(value).__name__}")


@dataclass(frozen=True)
class CalendarOverrides:
    """Announced changes on top of the package: date -> reason."""

    days_off: Mapping[date, str] = field(default_factory=dict)
    working_days: Mapping[date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        both = set(self.days_off) & set(self.working_days)
        if both:
            raise ValueError(f"dates both off and working in overrides: {sorted(both)}")


def _entries(raw: object, key: str, source: str) -> dict[date, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ValueError(f"{source}: '{key}' must be a list of {{date, reason}}")
    out: dict[date, str] = {}
    for entry in raw:
        if not isinstance(entry, dict) or "date" not in entry:
            raise ValueError(f"{source}: bad '{key}' entry {entry!r}")
        value = entry["date"]
        # YAML gives a date for an unquoted 2026-01-02, a str when quoted.
        if isinstance(value, str):
            value = date.fromisoformat(value)
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValueError(f"{source}: '{key}' date must be YYYY-MM-DD, got {value!r}")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{source}: '{key}' entry {value} needs a reason")
        out[value] = reason.strip()
    return out


def load_overrides(path: str | os.PathLike[str]) -> CalendarOverrides:
    """Read an overrides YAML file (see ``data/calendar_overrides.yaml``)."""
    text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with days_off / working_days")
    unknown = set(data) - {"days_off", "working_days"}
    if unknown:  # a typo must not silently drop announced days
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    return CalendarOverrides(
        days_off=_entries(data.get("days_off"), "days_off", str(path)),
        working_days=_entries(data.get("working_days"), "working_days", str(path)),
    )


class WorkingCalendar:
    """Working days of Vietnamese state agencies.

    ``overrides`` may be a :class:`CalendarOverrides`, a path to a YAML file, or
    None: then the file named by ``$MOTCUA_CALENDAR_OVERRIDES`` is read if set,
    else the packaged ``data/calendar_overrides.yaml``.
    """

    def __init__(self, overrides: CalendarOverrides | str | os.PathLike[str] | None = None):
        if overrides is None:
            overrides = os.environ.get(OVERRIDES_ENV) or DEFAULT_OVERRIDES_PATH
        if not isinstance(overrides, CalendarOverrides):
            overrides = load_overrides(overrides)
        self.overrides = overrides
        # year -> (holidays, package make-up weekend days); filled lazily, and a
        # racing fill only computes the same value twice.
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        cached = self._years.get(year)
        if cached is None:
            vn = holidays.Vietnam(years=year)
            cached = (frozenset(vn.keys()), frozenset(vn.weekend_workdays))
            self._years[year] = cached
        return cached

    def is_working_day(self, day: DateLike) -> bool:
        day = local_date(day)
        if day in self.overrides.working_days:
            return True
        if day in self.overrides.days_off:
            return False
        days_off, weekend_workdays = self._year(day.year)
        if day in weekend_workdays:
            return True
        return day.weekday() < 5 and day not in days_off

    def next_working_day(self, day: DateLike) -> date:
        """The first working day strictly after ``day``."""
        following = local_date(day) + _ONE_DAY
        while not self.is_working_day(following):
            following += _ONE_DAY
        return following

    def add_working_days(self, day: DateLike, count: int) -> date:
        """The date ``count`` working days after ``day``.

        Counting starts from ``day`` if it is a working day, else from the next
        working day; so count=0 gives that start day, and for any ``day``
        ``working_days_between(day, add_working_days(day, count)) == count``.
        """
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count must be an int, got {type(count).__name__}")
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        reached = local_date(day)
        if not self.is_working_day(reached):
            reached = self.next_working_day(reached)
        for _ in range(count):
            reached = self.next_working_day(reached)
        return reached

    def working_days_between(self, start: DateLike, end: DateLike) -> int:
        """Working days in the half-open interval [start, end); 0 if end <= start."""
        day, stop = local_date(start), local_date(end)
        count = 0
        while day < stop:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return count

    def counting_start(self, received_at: datetime, cutoff: time = DEFAULT_CUTOFF) -> date:
        """The first day the legal time limit counts from.

        The local date of receipt if it is a working day and the local time is
        before ``cutoff`` (a receipt at exactly the cut-off is after it);
        otherwise the next working day.
        """
        if not isinstance(received_at, datetime):
            raise TypeError("received_at must be an aware datetime (the time of day matters)")
        day = local_date(received_at)
        local_time = received_at.astimezone(TIMEZONE).time()
        if self.is_working_day(day) and local_time < cutoff:
            return day
        return self.next_working_day(day)

    def appointment_date(
        self,
        received_at: datetime,
        time_limit_working_days: int | float | Decimal,
        cutoff: time = DEFAULT_CUTOFF,
    ) -> date:
        """The appointment date (ngay hen tra) for a dossier received at ``received_at``.

        ``counting_start`` plus the time limit in working days. A fractional limit
        (e.g. 7.5 days, or half a day) is rounded UP to whole days: the receipt
        only carries a date, and promising earlier than the law allows is not an
        option. A limit of 0 means the same day (the next working day when the
        dossier came after the cut-off or on a day off).
        """
        limit = time_limit_working_days
        if isinstance(limit, bool) or not isinstance(limit, (int, float, Decimal)):
            raise TypeError(f"time limit must be a number, got {type(limit).__name__}")
        if not math.isfinite(limit) or limit < 0:
            raise ValueError(f"time limit must be a finite number >= 0, got {limit}")
        return self.add_working_days(self.counting_start(received_at, cutoff), math.ceil(limit))

    def paused_working_days(self, pauses: Iterable[tuple[DateLike, DateLike]]) -> int:
        """Whole working days covered by clock pauses.

        Each pause (start, end) covers the working days in [local date(start),
        local date(end)): the day the pause ends the clock runs again. Overlapping
        pauses (e.g. supplement and payment at once) count each day once.
        """
        covered: set[date] = set()
        for start, end in pauses:
            day, stop = local_date(start), local_date(end)
            if stop < day:
                raise ValueError(f"pause ends before it starts: {start!r} > {end!r}")
            while day < stop:
                if self.is_working_day(day):
                    covered.add(day)
                day += _ONE_DAY
        return len(covered)

    def extend(self, appointment: DateLike, working_days: int) -> date:
        """Move an appointment date by ``working_days`` (e.g. the paused days)."""
        return self.add_working_days(appointment, working_days)


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The process-wide calendar (overrides read once; ``cache_clear()`` to reload)."""
    return WorkingCalendar()
