"""The dossier gauges, read from status's database when Prometheus scrapes (docs/metrics.md):
`motcua_dossiers_open{agency,state}`, `motcua_dossiers_overdue{agency}` and
`motcua_dossier_backlog_oldest_seconds{agency}`.

One aggregate query computes all three (status.domain.backlog), through the index on
(state, holder_agency_code, legal_due_date, received_at) alone. Every replica reports the same values, so
each process reads them at most once per `METRICS_DB_GAUGE_SECONDS` and answers scrapes in between from
that read: several replicas scraped every 15 s cost the database a few cheap queries a minute.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from motcua.calendar import local_date
from motcua.db import TimeSource, utcnow
from motcua.national_codes import DossierState
from status import repository
from status.domain.backlog import NOT_FINAL_STATES, Backlog, Holding, backlog
from status.models import dossier

log = logging.getLogger(__name__)


def holdings_query(today: date) -> sa.Select:
    """What each agency holds in each state that is not final: one GROUP BY."""
    columns = dossier.c
    # Grouped in the index's order: PostgreSQL aggregates as it walks the index, without a hash table.
    return (sa.select(columns.state, columns.holder_agency_code, sa.func.count(),
                      sa.func.sum(sa.case((repository.overdue(today), 1), else_=0)), sa.func.min(columns.received_at))
            .where(columns.state.in_(sorted(NOT_FINAL_STATES)))
            .group_by(columns.state, columns.holder_agency_code))


def holdings(conn: sa.Connection, today: date) -> list[Holding]:
    return [Holding(agency, DossierState(state), count, overdue, first_received_at)
            for state, agency, count, overdue, first_received_at in conn.execute(holdings_query(today))]


def families(found: Backlog) -> list[GaugeMetricFamily]:
    opened = GaugeMetricFamily("motcua_dossiers_open", "Dossiers in a state that is not final, by holding agency "
                               "(the same in every replica: aggregate with max)", labels=["agency", "state"])
    overdue = GaugeMetricFamily("motcua_dossiers_overdue", "Dossiers past their legal due date with the clock "
                                "running, by holding agency (aggregate with max)", labels=["agency"])
    oldest = GaugeMetricFamily("motcua_dossier_backlog_oldest_seconds", "Seconds since the oldest dossier still "
                               "being processed was received, by holding agency (aggregate with max)",
                               labels=["agency"])
    for (agency, state), count in sorted(found.open.items()):
        opened.add_metric([agency, state.value], count)
    for agency, count in sorted(found.overdue.items()):
        overdue.add_metric([agency], count)
    for agency, seconds in sorted(found.oldest_seconds.items()):
        oldest.add_metric([agency], seconds)
    return [opened, overdue, oldest]


class DossierGauges:
    """A prometheus_client custom collector. Registered at import, so `describe()` names its families without a
    database; it reports once the service's Database gives it an engine (`read_from`), until it takes it back."""

    def __init__(self, clock: TimeSource = utcnow):
        self.clock = clock
        self._engine: sa.Engine | None = None
        self._cache_for = timedelta(0)
        self._read: tuple[datetime, list[GaugeMetricFamily]] | None = None

    def read_from(self, engine: sa.Engine, cache_seconds: float) -> None:
        self._engine, self._cache_for, self._read = engine, timedelta(seconds=cache_seconds), None

    def stop_reading(self, engine: sa.Engine) -> None:
        # Only its own: a second container of this process (a test's replica) may have given it another since.
        if self._engine is engine:
            self._engine, self._read = None, None

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return families(Backlog({}, {}, {}))

    def collect(self) -> Iterable[GaugeMetricFamily]:
        if self._engine is None:
            return []
        now = self.clock()
        if self._read is None or not self._read[0] <= now < self._read[0] + self._cache_for:
            try:
                with self._engine.connect() as conn:
                    found = holdings(conn, local_date(now))
            except SQLAlchemyError:
                # Absent rather than stale: an alert on a missing series says what happened.
                log.warning("dossier gauges not read: the database did not answer", exc_info=True)
                return []
            self._read = (now, families(backlog(found, now)))
        return self._read[1]


DOSSIER_GAUGES = DossierGauges()
REGISTRY.register(DOSSIER_GAUGES)
