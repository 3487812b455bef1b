"""Persistence of the dossier aggregate, its history and command outcomes: functions taking a Session."""
from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from motcua.db import insert_new
from motcua.errors import Conflict, NotFound
from motcua.national_codes import DossierState
from motcua_contracts.base import shared
from motcua_contracts.departments import CommandOutcomeSchema
from status.domain import ClockPause, Dossier, HistoryEntry
from status.domain.deadlines import OVERDUE_STATES
from status.domain.delivery import Delivery
from status.domain.workflow import as_json, from_json
from status.models import (
    apology, clock_pause, command_outcome, delivery, department_command, dossier, dossier_access, dossier_history,
    revoked_token,
)


def _values(aggregate: Dossier) -> dict:
    values = {column.name: getattr(aggregate, column.name) for column in dossier.columns}
    values["workflow"] = json.dumps(as_json(aggregate.workflow))
    values["fees"] = json.dumps(list(aggregate.fees), ensure_ascii=False)
    document = aggregate.result_document
    values["result_document"] = None if document is None else json.dumps(dict(document))
    return values


def overdue(today: date) -> sa.ColumnElement[bool]:
    """status.domain.deadlines.is_overdue in SQL: the desk's filter, the sweep and the overdue gauge use it."""
    return sa.and_(dossier.c.legal_due_date < today, dossier.c.state.in_(sorted(OVERDUE_STATES)))


def needs_apology(today: date) -> sa.ColumnElement[bool]:
    """status.domain.deadlines.needs_apology in SQL: overdue, and the promised date has passed too."""
    return sa.and_(overdue(today), dossier.c.appointment_date < today)


STORED_PAUSES = "status.stored_pauses"  # session.info: {dossier code: {pause seq: ended_at}} as read


def find(session: Session, code: str) -> Dossier | None:
    row = session.execute(sa.select(dossier).where(dossier.c.code == code)).mappings().first()
    if row is None:
        return None
    pauses = session.execute(
        sa.select(clock_pause.c.started_at, clock_pause.c.reason, clock_pause.c.ended_at)
        .where(clock_pause.c.dossier_code == code).order_by(clock_pause.c.seq)
    ).all()
    # What is stored, kept for this transaction's update: it need not read the pauses again (_save_pauses).
    session.info.setdefault(STORED_PAUSES, {})[code] = {seq: p.ended_at for seq, p in enumerate(pauses, start=1)}
    document = row["result_document"]
    return Dossier(**{**row, "state": DossierState(row["state"]), "workflow": from_json(json.loads(row["workflow"])),
                      "fees": tuple(json.loads(row["fees"])),
                      "result_document": None if document is None else json.loads(document)},
                   pauses=[ClockPause(*p) for p in pauses])


def get(session: Session, code: str) -> Dossier:
    found = find(session, code)
    if found is None:
        raise NotFound(f"No dossier {code}.")
    return found


def state_entered_at(session: Session, code: str) -> datetime | None:
    """When the dossier entered the state it is in: its last history entry that changed the state."""
    columns = dossier_history.c
    return session.execute(
        sa.select(columns.at)
        .where(columns.dossier_code == code,
               sa.or_(columns.from_state.is_(None), columns.from_state != columns.to_state))
        .order_by(columns.seq.desc()).limit(1)
    ).scalar()


def add(session: Session, aggregate: Dossier) -> None:
    """A new dossier: nothing of it is stored yet, so its pauses and its holder's access are inserted unread."""
    session.execute(dossier.insert(), _values(aggregate))
    for seq, pause in enumerate(aggregate.pauses, start=1):
        _insert_pause(session, aggregate.code, seq, pause)
    _grant_access(session, aggregate)


def update(session: Session, aggregate: Dossier, expected_version: int) -> None:
    """Write the dossier only if nobody changed it since it was read at `expected_version`."""
    result = session.execute(
        dossier.update().where(dossier.c.code == aggregate.code, dossier.c.version == expected_version)
        .values(_values(aggregate))
    )
    if result.rowcount != 1:
        # Under READ COMMITTED this read sees the winner's commit: the loser gets a fresh view.
        raise Conflict(f"Dossier {aggregate.code} was changed by someone else; reload.",
                       {"current": get(session, aggregate.code).current()})
    _save_pauses(session, aggregate)
    _grant_access(session, aggregate)


def _grant_access(session: Session, aggregate: Dossier) -> None:
    # The holder joins the agencies that held the dossier: one statement, nothing when it is there already.
    insert_new(session, dossier_access, {"dossier_code": aggregate.code, "agency_code": aggregate.holder_agency_code})


def has_held(session: Session, code: str, agency_code: str) -> bool:
    """Whether `agency_code` holds or has held the dossier."""
    return session.execute(sa.select(sa.literal(1)).where(
        dossier_access.c.dossier_code == code, dossier_access.c.agency_code == agency_code)).first() is not None


def _save_pauses(session: Session, aggregate: Dossier) -> None:
    # An action opens a pause or closes the open one: insert the new, close the ended. What this transaction
    # read of them still holds: pauses change only with the dossier's version, which update() just checked.
    stored = session.info.get(STORED_PAUSES, {}).pop(aggregate.code, None)
    if stored is None:
        stored = dict(session.execute(
            sa.select(clock_pause.c.seq, clock_pause.c.ended_at).where(clock_pause.c.dossier_code == aggregate.code)
        ).all())
    for seq, pause in enumerate(aggregate.pauses, start=1):
        if seq not in stored:
            _insert_pause(session, aggregate.code, seq, pause)
        elif stored[seq] is None and pause.ended_at is not None:
            session.execute(clock_pause.update()
                            .where(clock_pause.c.dossier_code == aggregate.code, clock_pause.c.seq == seq)
                            .values(ended_at=pause.ended_at))


def _insert_pause(session: Session, code: str, seq: int, pause: ClockPause) -> None:
    session.execute(clock_pause.insert(), dict(dossier_code=code, seq=seq, started_at=pause.started_at,
                                               ended_at=pause.ended_at, reason=pause.reason))


def add_history(session: Session, code: str, entry: HistoryEntry) -> None:
    session.execute(dossier_history.insert(), dict(
        dossier_code=code, seq=entry.seq, at=entry.at, action=entry.action, from_state=entry.from_state,
        to_state=entry.to_state,
        agency_code=entry.agency_code, actor_kind=entry.actor.kind, actor_id=entry.actor.id,
        actor_agency_code=entry.actor.agency_code, reason=entry.reason, idempotency_key=entry.idempotency_key,
        details=json.dumps(dict(entry.details), ensure_ascii=False, sort_keys=True), public=entry.public,
    ))


def public_history(session: Session, code: str) -> list[dict]:
    """What the citizen may see of the history: no official's id, no details."""
    columns = dossier_history.c
    rows = session.execute(
        sa.select(columns.at, columns.action, columns.from_state, columns.to_state, columns.agency_code,
                  columns.actor_kind, columns.reason)
        .where(columns.dossier_code == code, columns.public.is_(True)).order_by(columns.seq)
    ).mappings()
    return [dict(row) for row in rows]


def history(session: Session, code: str) -> list[dict]:
    """The whole history for the desk: actors and details included."""
    columns = dossier_history.c
    rows = session.execute(
        sa.select(dossier_history).where(columns.dossier_code == code).order_by(columns.seq)).mappings()
    return [{"at": r["at"], "action": r["action"], "from_state": r["from_state"], "to_state": r["to_state"],
             "agency_code": r["agency_code"], "reason": r["reason"], "details": json.loads(r["details"]),
             "actor": {"kind": r["actor_kind"], "id": r["actor_id"], "agency_code": r["actor_agency_code"]}}
            for r in rows]


_DELIVERY_COLUMNS = tuple(f.name for f in fields(Delivery))


def find_delivery(session: Session, code: str, lock: bool = False) -> Delivery | None:
    """The dossier's delivery summary; `lock` holds it to commit, so two carrier events apply one after the other."""
    statement = sa.select(*(delivery.c[name] for name in _DELIVERY_COLUMNS)).where(delivery.c.dossier_code == code)
    row = session.execute(statement.with_for_update() if lock else statement).mappings().first()
    return None if row is None else Delivery(**row)


def save_delivery(session: Session, code: str, summary: Delivery, new: bool) -> None:
    """Insert (`new`) or rewrite the summary; a twin's concurrent insert raises IntegrityError (retried)."""
    values = {name: getattr(summary, name) for name in _DELIVERY_COLUMNS}
    if new:
        session.execute(delivery.insert(), dict(dossier_code=code, **values))
    else:
        session.execute(delivery.update().where(delivery.c.dossier_code == code).values(**values))


def apologies(session: Session, code: str) -> list[dict]:
    columns = apology.c
    rows = session.execute(
        sa.select(columns.dossier_code, columns.agency_code, columns.issued_at, columns.original_appointment_date,
                  columns.new_appointment_date, columns.reason)
        .where(columns.dossier_code == code).order_by(columns.issued_at, columns.id)
    ).mappings()
    return [dict(row) for row in rows]


_DESK_COLUMNS = ("code", "procedure_code", "procedure_name", "state", "agency_code", "holder_agency_code", "assignee",
                 "channel", "submitted_at", "received_at", "appointment_date", "legal_due_date", "step_index",
                 "step_role", "step_due_date", "version")


# The desk's statements are built once for each shape of the official's filters (which are set, and overdue's
# sense), with every value bound at execution: built and keyed anew on every call they took about 1 ms of status's
# one core, more than PostgreSQL takes for the page.
_DESK_FILTERS = ("state", "procedure", "assignee", "channel", "due_before", "overdue")
_FILTER_COLUMNS = {"procedure": "procedure_code", "assignee": "assignee", "channel": "channel"}


def _desk_shape(filters: Mapping[str, Any]) -> tuple:
    return tuple((name, filters[name]) if name == "overdue" else name for name in _DESK_FILTERS
                 if filters[name] is not None and filters[name] != [])


def _desk_filters(shape: tuple) -> list[sa.ColumnElement[bool]]:
    """The official's filters (DeskQuerySchema) on the dossier's columns, their values bound by name."""
    columns = dossier.c
    where: list[sa.ColumnElement[bool]] = []
    for name in shape:
        if name == "state":
            where.append(columns.state.in_(sa.bindparam("state", expanding=True)))
        elif name in _FILTER_COLUMNS:
            where.append(columns[_FILTER_COLUMNS[name]] == sa.bindparam(name))
        elif name == "due_before":
            where.append(columns.appointment_date <= sa.bindparam("due_before", type_=sa.Date))
        else:  # ("overdue", True or False)
            late = overdue(sa.bindparam("today", type_=sa.Date))
            where.append(late if name[1] else sa.not_(late))
    return where


# What an agency sees is what dossier_access lists under its code. status writes the receiving agency's row and
# each holder's, in the transaction that makes it the holder, and never removes one; so that list is three
# disjoint parts, the first two read from `dossier` through indexes in the desk's order (models.py):
def _holds() -> list[sa.ColumnElement[bool]]:
    """It holds them now."""
    return [dossier.c.holder_agency_code == sa.bindparam("agency")]


def _sent_on() -> list[sa.ColumnElement[bool]]:
    """It received them and another agency holds them now: a few of its dossiers, in a partial index whose
    predicate is written here as there (or the planner cannot use it)."""
    return [dossier.c.agency_code == sa.bindparam("agency"), dossier.c.agency_code != dossier.c.holder_agency_code]


# The third part, the dossiers it held in between (received by transfer and passed on), only dossier_access knows:
# its rows for the agency less the other two parts, a hashed NOT IN over index ranges. That is a pass over all the
# agency's rows, so desk_page asks for their codes only when _desk_census counts some, and then reads them by key
# (the planner could not tell how few they are from the NOT IN).
_HELD_IN_BETWEEN = sa.select(dossier_access.c.dossier_code).where(
    dossier_access.c.agency_code == sa.bindparam("agency"),
    dossier_access.c.dossier_code.not_in(sa.union_all(sa.select(dossier.c.code).where(*_holds()),
                                                      sa.select(dossier.c.code).where(*_sent_on()))))


@functools.cache
def _desk_census(shape: tuple) -> sa.Select:
    """One row: how many dossiers the agency sees (`access`), holds (`holds`), received and sent on (`sent_on`)
    and, if the official filters, of the last two how many the filters keep (`matching`, else null): each an
    index-only count over an index range."""
    wanted = _desk_filters(shape)

    def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.ScalarSelect:
        return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

    matching = count(dossier, *_holds(), *wanted) + count(dossier, *_sent_on(), *wanted) if wanted else sa.null()
    return sa.select(count(dossier_access, dossier_access.c.agency_code == sa.bindparam("agency")).label("access"),
                     count(dossier, *_holds()).label("holds"), count(dossier, *_sent_on()).label("sent_on"),
                     matching.label("matching"))


@functools.cache
def _desk_statements(shape: tuple, agency: bool, held_in_between: bool) -> tuple[sa.Select, sa.Select]:
    """(page, count) for a city admin, who sees everything; for an agency, its page merges its parts, each read
    in the desk's order through its index and cut at the page's end (a page costs its rows, not the agency's
    thousands), and the count is of those it held in between (`between`: their codes) that the filters keep."""
    columns = dossier.c
    wanted = _desk_filters(shape)
    listed = [columns[name] for name in _DESK_COLUMNS]
    order = (columns.appointment_date, columns.code)
    per_page, skipped = sa.bindparam("per_page", type_=sa.Integer), sa.bindparam("skipped", type_=sa.Integer)
    if not agency:
        return (sa.select(*listed).where(*wanted).order_by(*order).limit(per_page).offset(skipped),
                sa.select(sa.func.count()).select_from(dossier).where(*wanted))
    between = columns.code.in_(sa.bindparam("between", expanding=True))
    parts = [_holds(), _sent_on(), *([[between]] if held_in_between else [])]
    # Each part in a subquery of its own: SQLite takes no ORDER BY or LIMIT on a member of a UNION otherwise.
    merged = sa.union_all(*(sa.select(*listed).where(*part, *wanted).order_by(*order)
                            .limit(sa.bindparam("last", type_=sa.Integer)).subquery().select()
                            for part in parts)).subquery()
    return (sa.select(merged).order_by(merged.c.appointment_date, merged.c.code).limit(per_page).offset(skipped),
            sa.select(sa.func.count()).select_from(dossier).where(between, *wanted))


def desk_page(session: Session, agency_code: str | None, filters: Mapping[str, Any],
              today: date) -> tuple[list[Mapping[str, Any]], int]:
    """A page of the desk (`filters`: DeskQuerySchema) and how many dossiers the filters keep in all, for an
    agency's official or (`agency_code` None) a city admin."""
    shape = _desk_shape(filters)
    skipped = (filters["page"] - 1) * filters["per_page"]
    values = {name: filters[name] for name in _DESK_FILTERS if name in shape} | {
        "agency": agency_code, "today": today, "per_page": filters["per_page"], "skipped": skipped,
        "last": skipped + filters["per_page"]}
    if agency_code is None:
        page, count = _desk_statements(shape, False, False)
        return list(session.execute(page, values).mappings()), session.execute(count, values).scalar_one()
    census = session.execute(_desk_census(shape), values).one()
    total = census.holds + census.sent_on if census.matching is None else census.matching
    values["between"] = []
    if census.access != census.holds + census.sent_on:  # it held some in between (or a row is missing)
        values["between"] = session.execute(_HELD_IN_BETWEEN, values).scalars().all()
    page, count = _desk_statements(shape, True, bool(values["between"]))
    if values["between"]:
        total += len(values["between"]) if census.matching is None else session.execute(count, values).scalar_one()
    return list(session.execute(page, values).mappings()), total


def is_revoked(session: Session, token_id: str) -> bool:
    return session.execute(
        sa.select(sa.literal(1)).where(revoked_token.c.token_id == token_id)).first() is not None


def revoke(session: Session, token_id: str, expires_at: datetime) -> bool:
    """Record a revoked token; False if it already was (a concurrent twin counts as already)."""
    return insert_new(session, revoked_token, {"token_id": token_id, "expires_at": expires_at})


def find_outcome(session: Session, key: str) -> tuple[str, dict] | None:
    """(fingerprint, outcome) of the command first done under `key`, if any."""
    row = session.execute(
        sa.select(command_outcome.c.fingerprint, command_outcome.c.outcome)
        .where(command_outcome.c.idempotency_key == key)
    ).first()
    return None if row is None else (row.fingerprint, json.loads(row.outcome))


def add_outcome(session: Session, key: str, code: str, fingerprint: str, outcome: dict, at: datetime) -> None:
    try:
        session.execute(command_outcome.insert(), dict(
            idempotency_key=key, dossier_code=code, fingerprint=fingerprint, outcome=json.dumps(outcome),
            created_at=at))
    except IntegrityError:
        # A concurrent command with the same key committed first.
        raise Conflict(f"A command with idempotency key {key} was done meanwhile.") from None


def find_department_command(session: Session, command_id: str) -> tuple[str, dict] | None:
    """(sending agency, outcome as first answered, loaded) of a department's command, if answered."""
    row = session.execute(sa.select(department_command.c.agency_code, department_command.c.outcome)
                          .where(department_command.c.command_id == command_id)).first()
    return None if row is None else (row.agency_code, shared(CommandOutcomeSchema).load(json.loads(row.outcome)))


def add_department_command(session: Session, outcome: Mapping[str, Any], at: datetime) -> None:
    """Keep a command's first answer; a twin answered concurrently raises IntegrityError (the message is retried)."""
    session.execute(department_command.insert(), dict(
        command_id=outcome["command_id"], agency_code=outcome["agency_code"],
        outcome=json.dumps(shared(CommandOutcomeSchema).dump(outcome), ensure_ascii=False), created_at=at))
