"""Small persistence functions over intake's tables; each takes the unit of work's Session."""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.db import UTCDateTime, dialect_insert, procedure_in_force, utcnow

from intake.models import attachment, code_sequence, dossier, idempotency_record, procedure_version, supplement


def store_version(session: Session, definition: dict) -> None:
    """Insert or refresh one procedure version (`definition` is a ProcedureVersionSchema dump)."""
    values = {"status": definition["status"], "valid_from": date.fromisoformat(definition["valid_from"]),
              "valid_to": definition["valid_to"] and date.fromisoformat(definition["valid_to"]),
              "definition": definition, "stored_at": utcnow()}
    statement = dialect_insert(session, procedure_version).values(
        procedure_code=definition["procedure_code"], version=definition["version"], **values)
    session.execute(statement.on_conflict_do_update(index_elements=["procedure_code", "version"], set_=values))


def current_version(session: Session, procedure_code: str, day: date) -> dict | None:
    """The published version valid on `day` (the highest, should two overlap), as stored."""
    table = procedure_version
    return session.execute(
        sa.select(table.c.definition)
        .where(table.c.procedure_code == procedure_code, procedure_in_force(table, day))
        .order_by(table.c.version.desc()).limit(1)
    ).scalar_one_or_none()


def find_version(session: Session, procedure_code: str, version: int) -> dict:
    """The stored definition a dossier is pinned to (the dossier's foreign key guarantees it is there)."""
    table = procedure_version
    return session.execute(
        sa.select(table.c.definition).where(table.c.procedure_code == procedure_code, table.c.version == version)
    ).scalar_one()


def next_sequence(session: Session, agency_code: str, day: date) -> int:
    """The next daily number of an agency, in one atomic statement.

    Concurrent transactions queue on the row lock, and each sees the value the previous one
    committed; a rolled-back submission gives its number back.
    """
    statement = dialect_insert(session, code_sequence).values(agency_code=agency_code, day=day, last_value=1)
    statement = statement.on_conflict_do_update(
        index_elements=["agency_code", "day"], set_={"last_value": code_sequence.c.last_value + 1})
    return session.execute(statement.returning(code_sequence.c.last_value)).scalar_one()


def add_dossier(session: Session, **values) -> None:
    session.execute(dossier.insert(), values)


def add_attachments(session: Session, dossier_code: str, rows: list[dict],
                    supplement_id: str | None = None) -> list[str]:
    """Insert the attachment rows (of the dossier, or of one of its supplements); returns their new ids in order."""
    ids = [str(uuid.uuid4()) for _ in rows]
    if rows:
        session.execute(attachment.insert(), [dict(row, id=i, dossier_code=dossier_code, supplement_id=supplement_id)
                                              for i, row in zip(ids, rows)])
    return ids


def find_dossier(session: Session, code: str) -> sa.Row | None:
    return session.execute(sa.select(dossier).where(dossier.c.code == code)).first()


def find_attachments(session: Session, dossier_code: str) -> list[sa.RowMapping]:
    """The dossier's files, each with `submitted_at` (the supplement's that brought it, else the dossier's)."""
    return session.execute(_filed(dossier_code)).mappings().all()


def find_attachment(session: Session, dossier_code: str, attachment_id: str) -> sa.RowMapping | None:
    """One file of the dossier as `find_attachments` gives it, with the dossier's procedure version; None when
    the dossier has no file with this id (a file of another dossier included)."""
    statement = _filed(dossier_code).add_columns(dossier.c.procedure_code, dossier.c.procedure_version)
    return session.execute(statement.where(attachment.c.id == attachment_id)).mappings().first()


def _filed(dossier_code: str) -> sa.Select:
    # UTCDateTime: SQLite (the single-machine run) gives the time back without its offset.
    submitted_at = sa.type_coerce(sa.func.coalesce(supplement.c.submitted_at, dossier.c.submitted_at), UTCDateTime)
    return (sa.select(attachment, submitted_at.label("submitted_at"))
            .join(dossier, dossier.c.code == attachment.c.dossier_code)
            .outerjoin(supplement, supplement.c.id == attachment.c.supplement_id)
            .where(attachment.c.dossier_code == dossier_code))


def find_code_by_pickup(session: Session, pickup_id: str) -> str | None:
    """The code of the dossier a pickup's handover registered, if any."""
    return session.execute(sa.select(dossier.c.code).where(dossier.c.pickup_id == pickup_id)).scalar_one_or_none()


def add_idempotency_record(session: Session, **values) -> None:
    """Raises IntegrityError when another submission took the key first."""
    session.execute(idempotency_record.insert(), dict(created_at=utcnow(), **values))


def find_idempotency_record(session: Session, key_hash: str) -> sa.Row | None:
    return session.execute(sa.select(idempotency_record).where(idempotency_record.c.key_hash == key_hash)).first()


def add_supplement(session: Session, **values) -> None:
    """Raises IntegrityError when another supplement took the idempotency key first."""
    session.execute(supplement.insert(), values)


def find_supplement(session: Session, idempotency_key: str) -> sa.Row | None:
    return session.execute(sa.select(supplement).where(supplement.c.idempotency_key == idempotency_key)).first()
