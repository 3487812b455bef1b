"""Reports for city administrators: the on-time rate (status.domain.kpi) and the national export.

The database groups the dossiers by every input of the rule (GROUP BY: dossiers sharing key,
channel, state and dates come back as one bucket with a count) and `kpi` applies the rule to
the buckets, so the rule lives once, in plain Python. Periods are local dates of
Asia/Ho_Chi_Minh; timestamps are stored in UTC.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from motcua.calendar import TIMEZONE
from motcua.errors import Forbidden, ValidationFailed, marshmallow_fields
from motcua.rpc import rpc
from motcua_contracts.reports import NationalSyncRecordSchema, OnTimeReportSchema, ReportQuerySchema
from status.domain.kpi import OPEN_STATES, Bucket, on_time_rows
from status.domain.national import national_record
from status.models import clock_pause, dossier

# The export answers in one RPC reply: a month of a city's dossiers is the most it carries.
EXPORT_MAX_DAYS = 31


class local_day(FunctionElement):
    """The Asia/Ho_Chi_Minh date of a UTC timestamp, computed by the database."""

    type = sa.Date()
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_postgresql(element, compiler, **kw) -> str:
    return f"CAST(timezone('{TIMEZONE.key}', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw) -> str:
    # SQLite has no time zones; Vietnam has kept UTC+7 without daylight saving since 1975.
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), TIMEZONE)


class Reports:
    """Mixed into StatusService, which provides `self.db` and `self._authenticate` (the desk's
    check of the official's claims: shape, expiry, revocation)."""

    @rpc
    def report_on_time(self, official: dict, query: dict) -> dict:
        self._require_city_admin(official)
        q = _load_query(query)
        with self.db.unit_of_work() as uow:
            buckets = _buckets(uow.session, q)
        rows = on_time_rows(buckets, q["date_from"], q["date_to"])
        return OnTimeReportSchema().dump({**q, "rows": rows})

    @rpc
    def export_national(self, official: dict, query: dict) -> list:
        """Dossiers received, completed or returned in the period, in the national portal's fields."""
        self._require_city_admin(official)
        q = _load_query(query)
        if (q["date_to"] - q["date_from"]).days >= EXPORT_MAX_DAYS:
            raise ValidationFailed(f"Export at most {EXPORT_MAX_DAYS} days at a time.",
                                   {"to": [f"At most {EXPORT_MAX_DAYS} days, 'from' and 'to' included."]})
        with self.db.unit_of_work() as uow:
            rows = _exported(uow.session, q["date_from"], q["date_to"])
        return NationalSyncRecordSchema(many=True).dump([national_record(row) for row in rows])

    def _require_city_admin(self, official: object) -> None:
        if not self._authenticate(official).city_admin:
            raise Forbidden("Reports are for city administrators only.", {"roles": ["city_admin is required."]})


def _load_query(query: object) -> dict:
    try:
        q = ReportQuerySchema().load(query)
    except ValidationError as exc:
        raise ValidationFailed("The report query has invalid fields.", marshmallow_fields(exc.messages)) from None
    return q


def _buckets(session: Session, q: dict) -> list[Bucket]:
    d, p = dossier.c, clock_pause.c
    start, end = _start_of(q["date_from"]), _start_of(q["date_to"] + timedelta(days=1))
    key = {"agency": d.agency_code, "procedure": d.procedure_code, "city": sa.literal("city")}[q["group_by"]]
    open_pause = (sa.select(sa.func.min(p.started_at))
                  .where(p.dossier_code == d.code, p.ended_at.is_(None)).scalar_subquery())
    per_dossier = sa.select(
        key.label("key"), d.channel, d.state, local_day(d.received_at).label("received_on"), d.legal_due_date,
        local_day(d.completed_at).label("completed_on"), local_day(open_pause).label("paused_on"),
        d.counted_overdue,
    ).where(
        # Received by the end of the period, and received or completed in it, or still open.
        d.received_at < end,
        sa.or_(d.received_at >= start, d.completed_at >= start,
               sa.and_(d.completed_at.is_(None), d.state.in_(OPEN_STATES))),
    ).subquery()
    rows = session.execute(sa.select(*per_dossier.c, sa.func.count().label("count"))
                           .group_by(*per_dossier.c)).mappings()
    return [Bucket(**row) for row in rows]


def _exported(session: Session, date_from: date, date_to: date) -> list[sa.RowMapping]:
    columns = dossier.c
    start, end = _start_of(date_from), _start_of(date_to + timedelta(days=1))
    return session.execute(
        sa.select(columns.code, columns.procedure_code, columns.procedure_name, columns.agency_code, columns.channel,
                  columns.state, columns.received_at, columns.legal_due_date, columns.completed_at,
                  columns.returned_at, columns.fees)
        .where(sa.or_(*(sa.and_(column >= start, column < end)
                        for column in (columns.received_at, columns.completed_at, columns.returned_at))))
        .order_by(columns.received_at, columns.code)
    ).mappings().all()
