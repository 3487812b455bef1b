"""Agency names for the notices: a citizen reads "UBND xã Vĩnh Bảo", never "000.00.51.H24".

No event carries an agency's name and catalog owns the agencies, so notify asks catalog's
`list_agencies` and keeps the answer. Agencies are renamed or merged by decision, rarely: the
names are asked again after `max_age`, or sooner (`retry_after`) for a code they lack or after
catalog did not answer. While catalog is away the names already known stand; a code never
learnt raises ServiceUnavailable, so the event is retried rather than told without its agency.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from motcua.errors import ServiceUnavailable

log = logging.getLogger(__name__)

Fetch = Callable[[], list[Mapping[str, Any]]]


class AgencyNames:
    """One per service process, shared by its workers (motcua.dependencies.BuiltAtStart)."""

    def __init__(self, max_age: timedelta = timedelta(minutes=10), retry_after: timedelta = timedelta(seconds=5)):
        self.max_age, self.retry_after = max_age, retry_after
        self._names: dict[str, str] = {}
        self._asked_at: datetime | None = None
        self._unanswered = False  # the last ask failed

    def name_of(self, code: str, fetch: Fetch, now: datetime) -> str | None:
        """The agency's name; None when catalog answered without this code."""
        if self._due(code, now):
            self._ask(fetch, now)
        if code not in self._names and self._unanswered:
            raise ServiceUnavailable("The catalogue did not answer with the agencies' names; try again shortly.")
        return self._names.get(code)

    def _due(self, code: str, now: datetime) -> bool:
        if self._asked_at is None:
            return True
        known = code in self._names and not self._unanswered
        return now - self._asked_at >= (self.max_age if known else self.retry_after)

    def _ask(self, fetch: Fetch, now: datetime) -> None:
        """Any other error than catalog being away propagates and leaves the names as they were."""
        try:
            agencies = fetch()
        except ServiceUnavailable as exc:
            self._asked_at, self._unanswered = now, True
            log.warning("agency names not refreshed, %d known names stand: %s", len(self._names), exc)
            return
        self._names = {agency["code"]: agency["name"] for agency in agencies}
        self._asked_at, self._unanswered = now, False
