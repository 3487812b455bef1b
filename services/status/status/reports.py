"""Reports for city administrators, as use cases like status.handlers: the on-time rate
(status.domain.kpi) and the national export.

The database groups the dossiers by every input of the rule (GROUP BY: dossiers sharing key,
channel, state and dates come back as one bucket with a count) and `kpi` applies the rule to
the buckets, so the rule lives once, in plain Python. Periods are local dates of
Asia/Ho_Chi_Minh; timestamps are stored in UTC.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from motcua.calendar import TIMEZONE
from motcua.db import Db, TimeSource
from motcua.errors import Forbidden, ValidationFailed, marshmallow_fields
from motcua_contracts.base import shared
from motcua_contracts.reports import NationalSyncRecordSchema, OnTimeReportSchema, ReportQuerySchema
from status.domain.kpi import OPEN_STATES, Bucket, on_time_rows
from status.domain.national import national_record
from status.handlers import authenticate
from status.models import clock_pause, dossier, dossier_history

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


def report_on_time(db: Db, clock: TimeSource, official: object, query: object) -> dict:
    """OnTimeReportSchema: the on-time rate per agency, procedure or the city, for a city administrator."""
    _require_city_admin(db, clock, official)
    period = _load_query(query)
    with db.unit_of_work() as uow:
        buckets = _buckets(uow.session, period)
        names = _procedure_names(uow.session, {bucket.key for bucket in buckets}) \
            if period["group_by"] == "procedure" else {}
    report = shared(OnTimeReportSchema).dump({**period, "rows": on_time_rows(buckets, period["date_from"], period["date_to"])})
    return {**report, "rows": [{**row, "name": names.get(row["key"])} for row in report["rows"]]}


def _procedure_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Each procedure's name as its dossiers carry it (one of them, should a new version have renamed it)."""
    columns = dossier.c
    named = (sa.select(columns.procedure_code, sa.func.max(columns.procedure_name))
             .where(columns.procedure_code.in_(codes)).group_by(columns.procedure_code))
    return dict(session.execute(named).all())


def export_national(db: Db, clock: TimeSource, official: object, query: object) -> list:
    """Dossiers received, completed or returned in the period, in the national portal's fields."""
    _require_city_admin(db, clock, official)
    period = _load_query(query)
    if (period["date_to"] - period["date_from"]).days >= EXPORT_MAX_DAYS:
        raise ValidationFailed(f"Export at most {EXPORT_MAX_DAYS} days at a time.",
                               {"to": [f"At most {EXPORT_MAX_DAYS} days, 'from' and 'to' included."]})
    with db.unit_of_work() as uow:
        rows, requested = _exported(uow.session, period["date_from"], period["date_to"])
    return shared(NationalSyncRecordSchema, many=True).dump([national_record(row, requested.get(row["code"], ()))
                                                     for row in rows])


def _require_city_admin(db: Db, clock: TimeSource, official: object) -> None:
    if not authenticate(db, clock, official).city_admin:
        raise Forbidden("Reports are for city administrators only.", {"roles": ["city_admin is required."]})


def _load_query(query: object) -> dict:
    try:
        return shared(ReportQuerySchema).load(query)
    except ValidationError as exc:
        raise ValidationFailed("The report query has invalid fields.", marshmallow_fields(exc.messages)) from None


def _buckets(session: Session, period: dict) -> list[Bucket]:
    columns, pauses = dossier.c, clock_pause.c
    start, end = _start_of(period["date_from"]), _start_of(period["date_to"] + timedelta(days=1))
    key = {"agency": columns.agency_code, "procedure": columns.procedure_code,
           "city": sa.literal("city")}[period["group_by"]]
    open_pause = (sa.select(sa.func.min(pauses.started_at))
                  .where(pauses.dossier_code == columns.code, pauses.ended_at.is_(None)).scalar_subquery())
    per_dossier = sa.select(
        key.label("key"), columns.channel, columns.state, local_day(columns.received_at).label("received_on"),
        columns.legal_due_date, local_day(columns.completed_at).label("completed_on"),
        local_day(open_pause).label("paused_on"), columns.counted_overdue,
    ).where(
        # Received by the end of the period, and received or completed in it, or still open.
        columns.received_at < end,
        sa.or_(columns.received_at >= start, columns.completed_at >= start,
               sa.and_(columns.completed_at.is_(None), columns.state.in_(OPEN_STATES))),
    ).subquery()
    rows = session.execute(sa.select(*per_dossier.c, sa.func.count().label("count"))
                           .group_by(*per_dossier.c)).mappings()
    return [Bucket(**row) for row in rows]


def _exported(session: Session, date_from: date, date_to: date) -> tuple[list[sa.RowMapping], dict[str, list[int]]]:
    """The dossiers received, completed or returned in the period, and the fees their desks asked for
    (request_payment's fee_vnd, by dossier code, in the order asked)."""
    columns, history = dossier.c, dossier_history.c
    start, end = _start_of(date_from), _start_of(date_to + timedelta(days=1))
    in_period = sa.or_(*(sa.and_(column >= start, column < end)
                         for column in (columns.received_at, columns.completed_at, columns.returned_at)))
    rows = session.execute(
        sa.select(columns.code, columns.procedure_code, columns.procedure_name, columns.agency_code, columns.channel,
                  columns.state, columns.received_at, columns.legal_due_date, columns.completed_at,
                  columns.returned_at, columns.fees)
        .where(in_period)
        .order_by(columns.received_at, columns.code)
    ).mappings().all()
    requests = session.execute(
        sa.select(history.dossier_code, history.details)
        .where(history.action == "request_payment", history.dossier_code.in_(sa.select(columns.code).where(in_period)))
        .order_by(history.dossier_code, history.seq))
    requested: dict[str, list[int]] = defaultdict(list)
    for code, details in requests:
        requested[code].append(json.loads(details)["fee_vnd"])
    return rows, requested
