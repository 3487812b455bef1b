"""Persistence of the dossier aggregate, its history and command outcomes: functions taking a Session."""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from motcua.errors import Conflict, NotFound
from motcua.national_codes import DossierState
from status.domain import ClockPause, Dossier, HistoryEntry
from status.models import clock_pause, command_outcome, dossier, dossier_history


def _values(d: Dossier) -> dict:
    return {column.name: getattr(d, column.name) for column in dossier.columns}


def find(session: Session, code: str) -> Dossier | None:
    row = session.execute(sa.select(dossier).where(dossier.c.code == code)).mappings().first()
    if row is None:
        return None
    pauses = session.execute(
        sa.select(clock_pause.c.started_at, clock_pause.c.reason, clock_pause.c.ended_at)
        .where(clock_pause.c.dossier_code == code).order_by(clock_pause.c.seq)
    ).all()
    return Dossier(**{**row, "state": DossierState(row["state"])}, pauses=[ClockPause(*p) for p in pauses])


def get(session: Session, code: str) -> Dossier:
    found = find(session, code)
    if found is None:
        raise NotFound(f"No dossier {code}.")
    return found


def add(session: Session, d: Dossier) -> None:
    session.execute(dossier.insert().values(_values(d)))
    _save_pauses(session, d)


def update(session: Session, d: Dossier, expected_version: int) -> None:
    """Write the dossier only if nobody changed it since it was read at `expected_version`."""
    result = session.execute(
        dossier.update().where(dossier.c.code == d.code, dossier.c.version == expected_version).values(_values(d))
    )
    if result.rowcount != 1:
        raise Conflict(f"Dossier {d.code} was changed by someone else; reload.")
    _save_pauses(session, d)


def _save_pauses(session: Session, d: Dossier) -> None:
    # An action opens a pause or closes the open one: insert the new, close the ended.
    stored = dict(session.execute(
        sa.select(clock_pause.c.seq, clock_pause.c.ended_at).where(clock_pause.c.dossier_code == d.code)
    ).all())
    for seq, pause in enumerate(d.pauses, start=1):
        if seq not in stored:
            session.execute(clock_pause.insert().values(
                dossier_code=d.code, seq=seq, started_at=pause.started_at, ended_at=pause.ended_at,
                reason=pause.reason))
        elif stored[seq] is None and pause.ended_at is not None:
            session.execute(clock_pause.update().where(clock_pause.c.dossier_code == d.code, clock_pause.c.seq == seq)
                            .values(ended_at=pause.ended_at))


def add_history(session: Session, code: str, e: HistoryEntry) -> None:
    session.execute(dossier_history.insert().values(
        dossier_code=code, seq=e.seq, at=e.at, action=e.action, from_state=e.from_state, to_state=e.to_state,
        agency_code=e.agency_code, actor_kind=e.actor.kind, actor_id=e.actor.id,
        actor_agency_code=e.actor.agency_code, reason=e.reason, idempotency_key=e.idempotency_key,
        details=json.dumps(dict(e.details), ensure_ascii=False, sort_keys=True), public=e.public,
    ))


def public_history(session: Session, code: str) -> list[dict]:
    """What the citizen may see of the history: no official's id, no details."""
    h = dossier_history.c
    rows = session.execute(
        sa.select(h.at, h.action, h.from_state, h.to_state, h.agency_code, h.actor_kind, h.reason)
        .where(h.dossier_code == code, h.public.is_(True)).order_by(h.seq)
    ).mappings()
    return [dict(row) for row in rows]


def find_outcome(session: Session, key: str) -> tuple[str, dict] | None:
    """(fingerprint, outcome) of the command first done under `key`, if any."""
    row = session.execute(
        sa.select(command_outcome.c.fingerprint, command_outcome.c.outcome)
        .where(command_outcome.c.idempotency_key == key)
    ).first()
    return None if row is None else (row.fingerprint, json.loads(row.outcome))


def add_outcome(session: Session, key: str, code: str, fingerprint: str, outcome: dict, at: datetime) -> None:
    try:
        session.execute(command_outcome.insert().values(
            idempotency_key=key, dossier_code=code, fingerprint=fingerprint, outcome=json.dumps(outcome),
            created_at=at))
    except IntegrityError:
        # A concurrent command with the same key committed first.
        raise Conflict(f"A command with idempotency key {key} was done meanwhile.") from None
