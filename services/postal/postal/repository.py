"""Persistence of pickups, deliveries, delivery requests, carrier events and booking keys: functions taking a Session."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.db import insert_new
from postal.models import booking_key, carrier_event, delivery, delivery_request, pickup


def add_pickup(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(pickup.insert(), values)


def find_pickup(session: Session, pickup_id: uuid.UUID, for_update: bool = False) -> dict | None:
    query = sa.select(pickup).where(pickup.c.id == pickup_id)
    row = session.execute(query.with_for_update() if for_update else query).mappings().first()
    return dict(row) if row else None


def update_pickup(session: Session, pickup_id: uuid.UUID, changes: Mapping[str, Any]) -> None:
    session.execute(pickup.update().where(pickup.c.id == pickup_id).values(**changes))


def add_booking_key(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(booking_key.insert(), values)


def find_booking_key(session: Session, key_hash: str) -> Mapping[str, Any] | None:
    return session.execute(sa.select(booking_key).where(booking_key.c.key_hash == key_hash)).mappings().first()


def save_delivery_request(session: Session, values: Mapping[str, Any]) -> bool:
    """Store whom to deliver a dossier's result to; False if it was stored already (the first stands)."""
    return insert_new(session, delivery_request, values)


def find_delivery_request(session: Session, dossier_code: str) -> dict | None:
    row = session.execute(sa.select(delivery_request).where(delivery_request.c.dossier_code == dossier_code)
                          ).mappings().first()
    return dict(row) if row else None


def add_delivery(session: Session, values: Mapping[str, Any]) -> None:
    session.execute(delivery.insert(), values)


def find_delivery(session: Session, dossier_code: str) -> dict | None:
    row = session.execute(sa.select(delivery).where(delivery.c.dossier_code == dossier_code)).mappings().first()
    return dict(row) if row else None


def update_delivery(session: Session, delivery_id: uuid.UUID, changes: Mapping[str, Any]) -> None:
    session.execute(delivery.update().where(delivery.c.id == delivery_id).values(**changes))


def order_by_waybill(session: Session, waybill: str) -> tuple[str, dict] | None:
    """("pickup" or "delivery", its row, locked until commit so two callbacks of one waybill apply in turn)."""
    for kind, table in (("pickup", pickup), ("delivery", delivery)):
        row = session.execute(sa.select(table).where(table.c.waybill == waybill).with_for_update()).mappings().first()
        if row:
            return kind, dict(row)
    return None


def add_carrier_event(session: Session, values: Mapping[str, Any]) -> bool:
    """Record a carrier event; False if its event_id was recorded already (a duplicate)."""
    return insert_new(session, carrier_event, values)

