"""Small persistence functions over catalog's tables; each takes the unit of work's Session."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.db import procedure_in_force

from catalog import domain
from catalog.models import agency, field, procedure_version

Outcome = Literal["created", "updated", "unchanged"]


def existing(session: Session, table: sa.Table) -> dict[tuple, sa.Row]:
    """Every row of `table`, by primary key tuple."""
    key = [c.name for c in table.primary_key.columns]
    return {tuple(getattr(row, name) for name in key): row for row in session.execute(sa.select(table))}


def save(session: Session, table: sa.Table, key: Mapping, values: Mapping, current: sa.Row | None) -> Outcome:
    """Insert, update or leave alone one row, given what it holds now (`current`, None if absent)."""
    if current is None:
        session.execute(table.insert().values(**key, **values))
        return "created"
    if all(current._mapping[name] == value for name, value in values.items()):
        return "unchanged"
    where = [table.c[name] == value for name, value in key.items()]
    session.execute(table.update().where(*where).values(**values))
    return "updated"


def version_values(definition: dict) -> dict:
    """A procedure_version row's columns from its definition (a ProcedureVersionSchema dump)."""
    time_limit = definition["time_limit"]
    return {
        "status": definition["status"],
        "valid_from": date.fromisoformat(definition["valid_from"]),
        "valid_to": definition["valid_to"] and date.fromisoformat(definition["valid_to"]),
        "agency_code": definition["agency"]["code"],
        "definition": definition,
        "name": definition["name"],
        "field_code": definition["field"]["code"],
        "legacy_level": definition["service_level"]["legacy"],
        "online_level": definition["service_level"]["online"],
        "time_limit_working_days": time_limit and float(Decimal(time_limit["working_days"])),
        "search_text": domain.search_text(definition),
    }


def _in_force(day: date) -> sa.ColumnElement[bool]:
    return procedure_in_force(procedure_version, day)


def search(session: Session, day: date, tokens: list[str], agency_code: str | None, field_code: str | None,
           level: str | None, page: int, per_page: int) -> tuple[list[dict], int]:
    """The definitions in force on `day` that match, one page of them, and how many match in all."""
    table = procedure_version
    where = [_in_force(day), *(table.c.search_text.contains(token, autoescape=True) for token in tokens)]
    if agency_code is not None:
        below = sa.select(agency.c.code).where(agency.c.path.startswith(
            sa.select(agency.c.path).where(agency.c.code == agency_code).scalar_subquery()))
        where.append(table.c.agency_code.in_(below))
    if field_code is not None:
        where.append(table.c.field_code == field_code)
    if level is not None:
        where.append(table.c.legacy_level == int(level) if level.isdigit() else table.c.online_level == level)
    total = session.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    rows = session.execute(
        sa.select(table.c.definition).where(*where)
        # search_text starts with the normalised name: the same name order on PostgreSQL and SQLite.
        .order_by(table.c.search_text, table.c.procedure_code)
        .limit(per_page).offset((page - 1) * per_page)
    ).scalars().all()
    return list(rows), total


def versions_of(session: Session, procedure_code: str) -> list[sa.Row]:
    table = procedure_version
    return list(session.execute(
        sa.select(table.c.version, table.c.status, table.c.valid_from, table.c.valid_to, table.c.definition)
        .where(table.c.procedure_code == procedure_code)))


def find_version(session: Session, procedure_code: str, version: int) -> dict | None:
    table = procedure_version
    return session.execute(sa.select(table.c.definition).where(
        table.c.procedure_code == procedure_code, table.c.version == version)).scalar_one_or_none()


def count_in_force(session: Session, day: date) -> int:
    table = procedure_version
    return session.execute(
        sa.select(sa.func.count(table.c.procedure_code.distinct())).where(_in_force(day))).scalar_one()


def agencies(session: Session) -> list[sa.RowMapping]:
    return list(session.execute(sa.select(agency.c.code, agency.c.name, agency.c.level, agency.c.parent_code,
                                          agency.c.place_name).order_by(agency.c.path)).mappings())


def fields(session: Session) -> list[sa.RowMapping]:
    return list(session.execute(sa.select(field).order_by(field.c.code)).mappings())
