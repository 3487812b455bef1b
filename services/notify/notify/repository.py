"""Persistence of recipients (of dossiers and of pickups) and notifications: functions taking a Session."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.db import insert_new
from notify.domain.preferences import Preferences
from notify.models import notification, pickup_recipient, recipient

DUE_STATUSES = ("queued", "held", "sending")  # "sending" is due only once its lease ran out (a crashed sender)


def preferences_json(prefs: Preferences) -> dict[str, Any]:
    return {"channels": sorted(prefs.channels), "language": prefs.language, "opted_out": prefs.opted_out}


def preferences_from_json(value: Mapping[str, Any]) -> Preferences:
    return Preferences(channels=frozenset(value["channels"]), language=value["language"],
                       opted_out=value["opted_out"])


def save_recipient(session: Session, values: Mapping[str, Any]) -> bool:
    """Store the recipient of a dossier; False if it was already stored (the first announcement stands)."""
    return insert_new(session, recipient, values)


def find_recipient(session: Session, dossier_code: str) -> Mapping[str, Any] | None:
    return session.execute(sa.select(recipient).where(recipient.c.dossier_code == dossier_code)).mappings().first()


def set_preferences(session: Session, dossier_code: str, prefs: Preferences) -> None:
    session.execute(recipient.update().where(recipient.c.dossier_code == dossier_code)
                    .values(preferences=preferences_json(prefs)))


def save_pickup_recipient(session: Session, values: Mapping[str, Any]) -> bool:
    """Store the recipient of a pickup; False if it was already stored (the first announcement stands)."""
    return insert_new(session, pickup_recipient, values)


def lock_pickup_recipient(session: Session, pickup_id: uuid.UUID) -> Mapping[str, Any] | None:
    """The pickup's recipient, locked to the end of the transaction.

    A pickup notice and the link to its dossier both take this lock first: whichever commits second
    sees the other's work, so no notice is left without the dossier code.
    """
    return session.execute(sa.select(pickup_recipient).where(pickup_recipient.c.pickup_id == pickup_id)
                           .with_for_update()).mappings().first()


def link_pickup(session: Session, pickup_id: uuid.UUID, dossier_code: str,
                values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The handed-over pickup became `dossier_code`: its notices join the dossier's log.

    Returns the pickup's recipient as it was before, or None when the dossier arrived before the
    pickup's booking (then `values` are stored as the pickup's recipient, already linked).
    """
    found = lock_pickup_recipient(session, pickup_id)
    if found is None:
        if save_pickup_recipient(session, {**values, "pickup_id": pickup_id, "dossier_code": dossier_code}):
            return None
        found = lock_pickup_recipient(session, pickup_id)  # the booking was stored meanwhile
    session.execute(pickup_recipient.update().where(pickup_recipient.c.pickup_id == pickup_id)
                    .values(dossier_code=dossier_code))
    session.execute(notification.update().where(notification.c.pickup_id == pickup_id)
                    .values(dossier_code=dossier_code))
    return found


def add_notification(session: Session, values: Mapping[str, Any]) -> bool:
    """Insert a notification; False if this (event, template, channel) already has one."""
    return insert_new(session, notification, {"id": uuid.uuid4(), **values})


def claim_due(session: Session, channel: str, now: datetime, lease_until: datetime,
              limit: int) -> list[Mapping[str, Any]]:
    """Take up to `limit` due rows of a channel for sending: they become `sending` until `lease_until`.

    SKIP LOCKED lets several replicas claim at once without waiting on, or taking, each other's rows
    (SQLite ignores it: one process there). The attempt is counted at the claim, so a sender that
    crashes mid-send still uses up an attempt and the bound holds.
    """
    columns = notification.c
    rows = session.execute(
        sa.select(notification)
        .where(columns.status.in_(DUE_STATUSES), columns.channel == channel, columns.not_before <= now)
        .order_by(columns.not_before).limit(limit).with_for_update(skip_locked=True)
    ).mappings().all()
    if rows:
        session.execute(notification.update().where(columns.id.in_([r["id"] for r in rows]))
                        .values(status="sending", attempts=columns.attempts + 1, not_before=lease_until,
                                updated_at=now))
    return [{**row, "attempts": row["attempts"] + 1} for row in rows]


def finish(session: Session, notification_id: uuid.UUID, attempts: int, values: Mapping[str, Any]) -> bool:
    """Record the outcome of a send; False if the row moved on meanwhile (its lease ran out and another took it)."""
    columns = notification.c
    return session.execute(notification.update().where(
        columns.id == notification_id, columns.status == "sending", columns.attempts == attempts,
    ).values(**values)).rowcount == 1


def find_by_provider_id(session: Session, provider_message_id: str) -> Mapping[str, Any] | None:
    columns = notification.c
    return session.execute(sa.select(columns.id, columns.channel, columns.template_id, columns.status)
                           .where(columns.provider_message_id == provider_message_id)).mappings().first()


def apply_receipt(session: Session, notification_id: uuid.UUID, status: str, now: datetime) -> bool:
    """Move a sent notification to `status` (delivered, undeliverable); False if it is not `sent` (any more)."""
    columns = notification.c
    return session.execute(notification.update().where(columns.id == notification_id, columns.status == "sent")
                           .values(status=status, updated_at=now)).rowcount == 1


def log_for(session: Session, dossier_code: str) -> list[Mapping[str, Any]]:
    columns = notification.c
    return session.execute(
        sa.select(columns.id.label("notification_id"), columns.template_id, columns.template_version,
                  columns.channel, columns.status, columns.attempts, columns.created_at, columns.not_before,
                  columns.sent_at, columns.updated_at, columns.last_error)
        .where(columns.dossier_code == dossier_code).order_by(columns.created_at, columns.template_id, columns.channel)
    ).mappings().all()
