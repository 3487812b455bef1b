"""postal's use cases: plain functions over their ports, one per thing a caller asks of postal.

Pickups are booked over RPC (the gateway's POST /api/v1/pickups), the carrier reports on its
own signed HTTP callback, and deliveries are ordered from status's dossier_completed. Each
function takes the unit-of-work factory (`db`), the clock, the catalogue client, the carrier and
the settings it needs as arguments, so it runs the same in the nameko service (postal.service,
which only delegates) and in a unit test on SQLite with stand-ins for the catalogue and carrier.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime

from marshmallow import ValidationError
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import IntegrityError

from motcua import webhooks
from motcua.db import Db, TimeSource, UnitOfWork
from motcua.errors import (
    MalformedInput, NotFound, NotYet, PermanentFailure, ServiceUnavailable, Unauthorized, ValidationFailed,
    marshmallow_fields, refusals_counted,
)
from motcua.fees import fees_due
from motcua.idempotency import check_key, first_answer
from motcua.logs import dossier_context
from motcua.procedures import Catalogue
from motcua.tracking import key_matches, new_tracking_key, reissued_tracking_key, request_hash, sha256_hex
from motcua_contracts.base import shared
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.postal import (
    BookPickupResultSchema, BookPickupSchema, CarrierCallbackSchema, PickupQuoteSchema, PickupViewSchema,
)
from postal import repository
from postal.carrier import Carrier, CarrierRefused, CarrierUnavailable
from postal.domain import delivery, pickup
from postal.domain.tariff import quote
from postal.models import seen_signature
from postal.settings import PostalSettings

log = logging.getLogger(__name__)

CALLBACK_TOLERANCE_SECONDS = 300
# The booking's tracking key under an Idempotency-Key (motcua.tracking); the label keeps postal's keys apart.
TRACKING_KEY_LABEL = b"motcua.postal.tracking-key.v1:"
HOUR, DAY = 3600, 86400

PICKUPS = Counter("motcua_postal_pickups_total", "Pickups entering each state", ["state"])
DELIVERIES = Counter("motcua_postal_deliveries_total", "Deliveries entering each state", ["state"])
DELIVERY_OUTCOMES = Counter("motcua_postal_delivery_outcomes_total", "Deliveries ended, by outcome", ["outcome"])
BOOKING_REFUSALS = Counter("motcua_postal_booking_refusals_total", "Pickup bookings refused, by error code",
                           ["reason"])
CALLBACKS = Counter("motcua_postal_callbacks_total", "Carrier callbacks, by outcome", ["outcome"])
BOOKING_TO_HANDOVER = Histogram(
    "motcua_postal_booking_to_handover_seconds", "From a pickup's booking to its handover at the agency",
    buckets=(15 * 60, HOUR, 4 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 14 * DAY))
COMPLETION_TO_DELIVERY = Histogram(
    "motcua_postal_completion_to_delivery_seconds", "From a dossier's completion to its result's delivery",
    buckets=(HOUR, 4 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 14 * DAY))


# --- the citizen's pickup --------------------------------------------------------------------------

def quote_pickup(catalog: Catalogue, settings: PostalSettings, procedure_code: object, province: object) -> dict:
    """PickupQuoteSchema dump: the pickup fee to an address in `province`, and the agency's fees when stated."""
    if not isinstance(province, str) or not province.strip():
        raise ValidationFailed("The province is required.", {"province": ["Missing."]})
    version = _procedure(catalog, procedure_code)
    pickup.require_postal(version)
    return shared(PickupQuoteSchema).dump(quote(version, province, settings.tariff))


def book_pickup(db: Db, clock: TimeSource, catalog: Catalogue, carrier: Carrier, settings: PostalSettings,
                booking: object, idempotency_key: object = None) -> dict:
    """BookPickupSchema in, BookPickupResultSchema out (the tracking key shown this once).

    The same Idempotency-Key and body give the first result again; the key with another body is a Conflict.
    """
    with refusals_counted(BOOKING_REFUSALS):
        return _book(db, clock, catalog, carrier, settings, booking, idempotency_key)


def get_pickup(db: Db, pickup_id: object, tracking_key: object) -> dict:
    """PickupViewSchema dump; an unknown id and a wrong key are the same NotFound."""
    try:
        wanted = uuid.UUID(str(pickup_id))
    except ValueError:
        wanted = None
    with db.unit_of_work() as uow:
        row = repository.find_pickup(uow.session, wanted) if wanted else None
    if not key_matches(tracking_key, row["tracking_key_hash"] if row else None):
        raise NotFound("No pickup has this id and tracking key.",
                       {"pickup_id": ["Check the pickup id and the tracking key you were given."]})
    return shared(PickupViewSchema).dump(pickup.view(row))


# --- the carrier's reports -------------------------------------------------------------------------

def receive_carrier_callback(db: Db, clock: TimeSource, settings: PostalSettings, body: bytes,
                             signature_header: str | None) -> dict:
    """The carrier's report on a waybill, HMAC-signed with a timestamp; a replay is refused. The answer's body."""
    if not settings.callback_secret:
        raise ServiceUnavailable("Carrier callbacks are not configured.")
    now = clock()
    signature = webhooks.verify(settings.callback_secret.encode(), body, signature_header, now,
                                CALLBACK_TOLERANCE_SECONDS)
    if signature is None:
        CALLBACKS.labels("refused_signature").inc()
        raise Unauthorized("Bad or stale signature.")
    try:
        raw = json.loads(body)
        callback = shared(CarrierCallbackSchema).load(raw)
    except ValueError:
        CALLBACKS.labels("malformed").inc()
        raise MalformedInput("The body is not JSON.") from None
    except ValidationError as exc:
        CALLBACKS.labels("malformed").inc()
        raise MalformedInput("Not a carrier callback.", marshmallow_fields(exc.messages)) from None
    with db.unit_of_work() as uow:
        if not webhooks.remember_signature(uow.session, seen_signature, signature, body, now,
                                           CALLBACK_TOLERANCE_SECONDS):
            CALLBACKS.labels("replay").inc()
            raise Unauthorized("This callback was already received.")
        found = repository.order_by_waybill(uow.session, callback["waybill"])
        if found is None:
            CALLBACKS.labels("unknown_waybill").inc()
            raise NotFound("No order has this waybill.", {"waybill": [callback["waybill"]]})
        kind, order = found
        try:
            outcome, order = _apply(uow, kind, order, callback, raw, now)
        except ValidationFailed:
            CALLBACKS.labels("malformed").inc()
            raise
        uow.commit()
    CALLBACKS.labels(outcome).inc()
    with dossier_context(order.get("dossier_code")):
        log.info("carrier %s %s: %s", kind, callback["event"], outcome,
                 extra={"waybill": callback["waybill"], "state": order["state"]})
    if outcome == "accepted":
        _count_transition(kind, order)
    return {"status": "ok", "state": order["state"], "applied": outcome == "accepted"}


# --- dossiers (events) -----------------------------------------------------------------------------

def take_submitted_dossier(db: Db, clock: TimeSource, envelope: dict) -> None:
    """intake's `dossier_submitted`: a handed-over pickup got its dossier code; a result to go by post gets
    its delivery request."""
    data = envelope["data"]
    request = delivery.delivery_request(data)
    if data["pickup_id"] is None and request is None:
        return
    registered = False
    with dossier_context(data["dossier_code"]), db.unit_of_work() as uow:
        if not uow.claim_message("postal.on_dossier_submitted", str(envelope["event_id"])):
            return
        if data["pickup_id"] is not None:
            row = repository.find_pickup(uow.session, data["pickup_id"], for_update=True)
            if row is None:
                raise PermanentFailure(f"intake registered pickup {data['pickup_id']}, which postal never booked")
            if row["dossier_code"] is None:
                repository.update_pickup(uow.session, row["id"],
                                         pickup.register(data["dossier_code"], envelope["occurred_at"]))
                registered = True
        if request is not None:
            repository.save_delivery_request(uow.session, {**request, "created_at": clock()})
        elif data["return_method"] == "postal":
            log.error("the result goes by post but no delivery address came with the dossier")
        uow.commit()
    if registered:
        PICKUPS.labels("registered").inc()


def order_delivery(db: Db, clock: TimeSource, carrier: Carrier, settings: PostalSettings, envelope: dict) -> None:
    """status's `dossier_completed`: a result to return by post; order its delivery from the carrier and say so
    (delivery_ordered)."""
    data = envelope["data"]
    if data["return_method"] != "postal":
        return
    code = data["dossier_code"]
    with dossier_context(code), db.unit_of_work() as uow:
        if not uow.claim_message("postal.on_dossier_completed", str(envelope["event_id"])):
            return
        if repository.find_delivery(uow.session, code) is not None:
            uow.commit()  # completed again (a redelivery under another event id): one delivery per dossier
            return
        request = repository.find_delivery_request(uow.session, code)
        if request is None:
            # intake's event has not arrived yet (two exchanges, no order between them): retried later.
            raise NotYet(f"No delivery request for dossier {code} yet.")
        max_attempts = settings.max_delivery_attempts
        order = delivery.carrier_order(request, settings.office, max_attempts, settings.callback_url)
        try:
            # Before the commit, and idempotent by client_reference: a retry gets the same waybill.
            accepted = carrier.place_order(order)
        except CarrierRefused as exc:
            raise PermanentFailure(f"the carrier refused the delivery: {exc}") from exc
        row = delivery.new_delivery(request, accepted, max_attempts, envelope["occurred_at"], clock())
        repository.add_delivery(uow.session, row)
        uow.record_event("delivery_ordered", delivery.event_data(row), dossier_code=code)
        uow.commit()
        log.info("delivery ordered", extra={"waybill": row["waybill"]})
    DELIVERIES.labels("ordered").inc()


# --- the steps -------------------------------------------------------------------------------------

def _book(db: Db, clock: TimeSource, catalog: Catalogue, carrier: Carrier, settings: PostalSettings,
          booking: object, idempotency_key: object) -> dict:
    try:
        data = shared(BookPickupSchema).load(booking)
    except ValidationError as exc:
        raise ValidationFailed("The pickup has invalid fields.", marshmallow_fields(exc.messages)) from None
    check_key(idempotency_key)
    body_hash = request_hash(shared(BookPickupSchema).dump(data))  # dumped: defaults explicit
    if (first := _replay(db, idempotency_key, body_hash)) is not None:
        return first
    now = clock()
    version = _procedure(catalog, data["procedure_code"])
    pickup.check_booking(version, data, settings.tariff, now)
    key_hash = sha256_hex(idempotency_key) if idempotency_key is not None else None
    pickup_id = pickup.pickup_id_for(key_hash, body_hash)
    agency_fees = fees_due(version["fees"], "postal")
    order = pickup.carrier_order(pickup_id, data, version, agency_fees, settings.office, settings.callback_url)
    try:
        accepted = carrier.place_order(order)
    except CarrierUnavailable as exc:
        log.warning("carrier unavailable for a pickup: %s", exc)
        raise ServiceUnavailable("The postal service cannot take bookings right now; try again shortly.") from None
    except CarrierRefused as exc:
        raise ValidationFailed("The postal service will not collect at this address.",
                               {"address": [str(exc)]}) from None
    tracking_key, salt = new_tracking_key(idempotency_key, TRACKING_KEY_LABEL)
    row = pickup.new_pickup(pickup_id, data, version, accepted, sha256_hex(tracking_key), agency_fees, now)
    result = shared(BookPickupResultSchema).dump({**pickup.view(row), "tracking_key": tracking_key})
    try:
        with db.unit_of_work() as uow:
            repository.add_pickup(uow.session, row)
            if key_hash is not None:
                repository.add_booking_key(uow.session, {
                    "key_hash": key_hash, "request_hash": body_hash, "pickup_id": pickup_id,
                    "response": {k: v for k, v in result.items() if k != "tracking_key"},
                    "tracking_key_salt": salt, "created_at": now})
            uow.record_event("pickup_booked", pickup.event_data(row))
            uow.commit()
    except IntegrityError:
        # The same key in flight twice: the twin committed first, so answer with its result.
        if (first := _replay(db, idempotency_key, body_hash)) is None:
            raise
        return first
    PICKUPS.labels("booked").inc()
    log.info("pickup booked", extra={"waybill": row["waybill"], "pickup_id": str(pickup_id)})
    return result


def _replay(db: Db, idempotency_key: str | None, body_hash: str) -> dict | None:
    """The first result for this key, None for a new key; Conflict for the key with another body."""
    if idempotency_key is None:
        return None
    with db.unit_of_work() as uow:
        record = repository.find_booking_key(uow.session, sha256_hex(idempotency_key))
    kept = None if record is None else (record["request_hash"], record)
    if (first := first_answer(kept, body_hash, "booking")) is None:
        return None
    return dict(first["response"], tracking_key=reissued_tracking_key(idempotency_key, first["tracking_key_salt"],
                                                                          TRACKING_KEY_LABEL))


def _procedure(catalog: Catalogue, procedure_code: object) -> dict:
    """The procedure version in force, from catalog: one RPC, bounded in time."""
    if not isinstance(procedure_code, str):
        raise ValidationFailed("The procedure code must be a string.", {"procedure_code": ["Not a string."]})
    try:
        answer = catalog.get_procedure(procedure_code)
    except NotFound:
        raise NotFound("No published procedure has this code.",
                       {"procedure_code": [f"Unknown procedure {procedure_code!r}."]}) from None
    return shared(ProcedureVersionSchema).load(answer)


def _apply(uow: UnitOfWork, kind: str, order: dict, callback: dict, raw: dict, now: datetime) -> tuple[str, dict]:
    """Record the carrier's event and apply it: (accepted, duplicate or out_of_order; the order after it)."""
    rules = pickup if kind == "pickup" else delivery
    if callback["client_reference"] not in (None, str(order["id"])):
        raise ValidationFailed("The waybill belongs to another order.",
                               {"client_reference": [f"Waybill {order['waybill']} is not this order's."]})
    changes = rules.apply_event(order, callback)
    if not repository.add_carrier_event(uow.session, {
            "event_id": callback["event_id"], "waybill": callback["waybill"], "order_kind": kind,
            "event": callback["event"], "occurred_at": callback["occurred_at"], "received_at": now,
            "applied": changes is not None, "body": raw}):
        return "duplicate", order
    if changes is None:
        return "out_of_order", order
    order = {**order, **changes}
    if kind == "pickup":
        repository.update_pickup(uow.session, order["id"], changes)
        event_type = pickup.EVENT_FOR_STATE[order["state"]]
        data = pickup.handed_over_data(order) if event_type == "pickup_handed_over" else pickup.event_data(order)
    else:
        repository.update_delivery(uow.session, order["id"], changes)
        event_type = delivery.EVENT_FOR_STATE[order["state"]]
        data = delivery.event_data(order)
    uow.record_event(event_type, data, dossier_code=order.get("dossier_code"))
    return "accepted", order


def _count_transition(kind: str, order: dict) -> None:
    """Metrics of a committed transition: states entered, outcomes, and the two journey times."""
    state = order["state"]
    if kind == "pickup":
        PICKUPS.labels(state).inc()
        if state == "handed_over":
            BOOKING_TO_HANDOVER.observe((order["handed_over_at"] - order["booked_at"]).total_seconds())
        return
    DELIVERIES.labels(state).inc()
    if state in delivery.OUTCOMES:
        DELIVERY_OUTCOMES.labels(state).inc()
    if state == "delivered":
        COMPLETION_TO_DELIVERY.observe((order["delivered_at"] - order["completed_at"]).total_seconds())
