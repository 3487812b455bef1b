"""postal: nameko entrypoints only; the rules are in postal.domain, the SQL in postal.repository.

Pickups are booked over RPC (the gateway's POST /api/v1/pickups), the carrier reports on its
own signed HTTP callback, and deliveries are ordered from status's dossier_completed.
"""
from __future__ import annotations

import json
import logging
import uuid

from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import IntegrityError

from motcua import webhooks
from motcua.config import env, env_int
from motcua.db import UnitOfWork
from motcua.dependencies import Clock, Database, WorkerContext
from motcua.fees import fees_due
from motcua.idempotency import check_key, first_answer
from motcua.errors import (
    MalformedInput, MotCuaError, NotFound, PermanentFailure, ServiceUnavailable, Unauthorized,
    ValidationFailed, marshmallow_fields,
)
from motcua.logs import dossier_context
from motcua.rpc import TimedRpcProxy, rpc
from motcua.tracking import key_matches, request_hash, sha256_hex
from motcua.messaging import event_handler
from motcua.web import OpsEndpoints, http, json_response
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.postal import (
    BookPickupResultSchema, BookPickupSchema, CarrierCallbackSchema, PickupQuoteSchema, PickupViewSchema,
)
from postal import repository
from postal.carrier import Carrier, CarrierRefused, CarrierUnavailable, callback_url, carrier_from_env
from postal.domain import delivery, pickup
from postal.domain.office import Office
from postal.domain.tariff import Tariff, quote
from postal.domain.tracking import derived_tracking_key, new_tracking_key
from postal.models import metadata, seen_signature

log = logging.getLogger(__name__)

CALLBACK_TOLERANCE_SECONDS = 300
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



class CarrierConnection(DependencyProvider):
    """The configured carrier (postal.carrier), built once per container."""

    def setup(self) -> None:
        self.carrier: Carrier = carrier_from_env()

    def get_dependency(self, worker_ctx) -> Carrier:
        return self.carrier


class PostalService(OpsEndpoints):
    name = "postal"
    db = Database(metadata)
    context = WorkerContext()
    # Inside the gateway's call (10 s): shorter, so our 503 reaches it first.
    catalog = TimedRpcProxy("catalog", called="The catalogue", timeout_seconds=5)
    carrier = CarrierConnection()
    clock = Clock()

    @rpc
    def quote_pickup(self, procedure_code: str, province: str) -> dict:
        """PickupQuoteSchema dump: the pickup fee to an address in `province`, and the agency's fees when stated."""
        if not isinstance(province, str) or not province.strip():
            raise ValidationFailed("The province is required.", {"province": ["Missing."]})
        version = self._procedure(procedure_code)
        pickup.require_postal(version)
        return PickupQuoteSchema().dump(quote(version, province, Tariff.from_env()))

    @rpc
    def book_pickup(self, booking: dict, idempotency_key: str | None = None) -> dict:
        """BookPickupSchema in, BookPickupResultSchema out (the tracking key shown this once).

        The same Idempotency-Key and body give the first result again; the key with another body is a Conflict.
        """
        try:
            return self._book(booking, idempotency_key)
        except MotCuaError as exc:
            BOOKING_REFUSALS.labels(exc.code).inc()
            raise

    @rpc
    def get_pickup(self, pickup_id: str, tracking_key: str) -> dict:
        """PickupViewSchema dump; an unknown id and a wrong key are the same NotFound."""
        try:
            wanted = uuid.UUID(str(pickup_id))
        except ValueError:
            wanted = None
        with self.db.unit_of_work() as uow:
            row = repository.find_pickup(uow.session, wanted) if wanted else None
        if not key_matches(tracking_key, row["tracking_key_hash"] if row else None):
            raise NotFound("No pickup has this id and tracking key.",
                           {"pickup_id": ["Check the pickup id and the tracking key you were given."]})
        return PickupViewSchema().dump(pickup.view(row))

    @http("POST", "/callbacks/carrier")
    def carrier_callback(self, request):
        """The carrier's report on a waybill, HMAC-signed with a timestamp; a replay is refused."""
        secret = env("POSTAL_CARRIER_CALLBACK_SECRET")
        if not secret:
            raise ServiceUnavailable("Carrier callbacks are not configured.")
        body, header, now = request.get_data(), request.headers.get("X-Carrier-Signature"), self.clock()
        signature = webhooks.verify(secret.encode(), body, header, now, CALLBACK_TOLERANCE_SECONDS)
        if signature is None:
            CALLBACKS.labels("refused_signature").inc()
            raise Unauthorized("Bad or stale signature.")
        try:
            raw = json.loads(body)
            callback = CarrierCallbackSchema().load(raw)
        except ValueError:
            CALLBACKS.labels("malformed").inc()
            raise MalformedInput("The body is not JSON.") from None
        except ValidationError as exc:
            CALLBACKS.labels("malformed").inc()
            raise MalformedInput("Not a carrier callback.", marshmallow_fields(exc.messages)) from None
        with self.db.unit_of_work() as uow:
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
                outcome, order = self._apply(uow, kind, order, callback, raw, now)
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
        return json_response({"status": "ok", "state": order["state"], "applied": outcome == "accepted"})

    @event_handler("intake", "dossier_submitted")
    def on_dossier_submitted(self, envelope: dict) -> None:
        """A handed-over pickup got its dossier code; a result to go by post gets its delivery request."""
        data = envelope["data"]
        request = delivery.delivery_request(data)
        if data["pickup_id"] is None and request is None:
            return
        registered = False
        with dossier_context(data["dossier_code"]), self.db.unit_of_work() as uow:
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
                repository.save_delivery_request(uow.session, {**request, "created_at": self.clock()})
            elif data["return_method"] == "postal":
                log.error("the result goes by post but no delivery address came with the dossier")
            uow.commit()
        if registered:
            PICKUPS.labels("registered").inc()

    @event_handler("status", "dossier_completed")
    def on_dossier_completed(self, envelope: dict) -> None:
        """A result to return by post: order its delivery from the carrier and say so (delivery_ordered)."""
        data = envelope["data"]
        if data["return_method"] != "postal":
            return
        code = data["dossier_code"]
        with dossier_context(code), self.db.unit_of_work() as uow:
            if not uow.claim_message("postal.on_dossier_completed", str(envelope["event_id"])):
                return
            if repository.find_delivery(uow.session, code) is not None:
                uow.commit()  # completed again (a redelivery under another event id): one delivery per dossier
                return
            request = repository.find_delivery_request(uow.session, code)
            if request is None:
                # intake's event has not arrived yet (two exchanges, no order between them): retried later.
                raise NotFound(f"No delivery request for dossier {code} yet.")
            max_attempts = env_int("POSTAL_MAX_DELIVERY_ATTEMPTS", 2)
            order = delivery.carrier_order(request, Office.from_env(), max_attempts, callback_url())
            try:
                # Before the commit, and idempotent by client_reference: a retry gets the same waybill.
                accepted = self.carrier.place_order(order)
            except CarrierRefused as exc:
                raise PermanentFailure(f"the carrier refused the delivery: {exc}") from exc
            row = delivery.new_delivery(request, accepted, max_attempts, envelope["occurred_at"], self.clock())
            repository.add_delivery(uow.session, row)
            uow.record_event("delivery_ordered", delivery.event_data(row), dossier_code=code)
            uow.commit()
            log.info("delivery ordered", extra={"waybill": row["waybill"]})
        DELIVERIES.labels("ordered").inc()

    def _book(self, booking: dict, idempotency_key: str | None) -> dict:
        try:
            data = BookPickupSchema().load(booking)
        except ValidationError as exc:
            raise ValidationFailed("The pickup has invalid fields.", marshmallow_fields(exc.messages)) from None
        check_key(idempotency_key)
        body_hash = request_hash(BookPickupSchema().dump(data))  # dumped: defaults explicit
        if (first := self._replay(idempotency_key, body_hash)) is not None:
            return first
        now = self.clock()
        version = self._procedure(data["procedure_code"])
        pickup.check_booking(version, data, Tariff.from_env(), now)
        key_hash = sha256_hex(idempotency_key) if idempotency_key is not None else None
        pickup_id = pickup.pickup_id_for(key_hash, body_hash)
        agency_fees = fees_due(version["fees"], "postal")
        order = pickup.carrier_order(pickup_id, data, version, agency_fees, Office.from_env(), callback_url())
        try:
            accepted = self.carrier.place_order(order)
        except CarrierUnavailable as exc:
            log.warning("carrier unavailable for a pickup: %s", exc)
            raise ServiceUnavailable("The postal service cannot take bookings right now; try again shortly.") from None
        except CarrierRefused as exc:
            raise ValidationFailed("The postal service will not collect at this address.",
                                   {"address": [str(exc)]}) from None
        tracking_key, salt = new_tracking_key(idempotency_key)
        row = pickup.new_pickup(pickup_id, data, version, accepted, sha256_hex(tracking_key), agency_fees, now)
        result = BookPickupResultSchema().dump({**pickup.view(row), "tracking_key": tracking_key})
        try:
            with self.db.unit_of_work() as uow:
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
            if (first := self._replay(idempotency_key, body_hash)) is None:
                raise
            return first
        PICKUPS.labels("booked").inc()
        log.info("pickup booked", extra={"waybill": row["waybill"], "pickup_id": str(pickup_id)})
        return result

    def _replay(self, idempotency_key: str | None, body_hash: str) -> dict | None:
        """The first result for this key, None for a new key; Conflict for the key with another body."""
        if idempotency_key is None:
            return None
        with self.db.unit_of_work() as uow:
            record = repository.find_booking_key(uow.session, sha256_hex(idempotency_key))
        kept = None if record is None else (record["request_hash"], record)
        if (first := first_answer(kept, body_hash, "booking")) is None:
            return None
        return dict(first["response"], tracking_key=derived_tracking_key(idempotency_key, first["tracking_key_salt"]))

    def _procedure(self, procedure_code: object) -> dict:
        """The procedure version in force, from catalog: one RPC, bounded in time."""
        if not isinstance(procedure_code, str):
            raise ValidationFailed("The procedure code must be a string.", {"procedure_code": ["Not a string."]})
        try:
            answer = self.catalog.get_procedure(procedure_code)
        except NotFound:
            raise NotFound("No published procedure has this code.",
                           {"procedure_code": [f"Unknown procedure {procedure_code!r}."]}) from None
        return ProcedureVersionSchema().load(answer)

    def _apply(self, uow: UnitOfWork, kind: str, order: dict, callback: dict, raw: dict,
               now) -> tuple[str, dict]:
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
