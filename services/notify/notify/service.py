"""The notify service: turns dossier and postal events into notifications, sends them, and records what happened.

Thin: the consumers store rows in the event's transaction (de-duplicated by a unique key), the
timer hands due rows to `sending`, the callback records delivery receipts.

A pickup's notices (booked, collected, collection failed) come before its dossier exists: they are
keyed by the pickup, and join the dossier's log when intake's dossier_submitted names the pickup.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from nameko.timer import Timer

from motcua.config import env, env_float
from motcua.dependencies import Clock, Database, WorkerContext
from motcua.errors import (
    MalformedInput, NotFound, PermanentFailure, ServiceUnavailable, Unauthorized, ValidationFailed,
    marshmallow_fields,
)
from motcua.logs import dossier_context
from motcua.rpc import rpc
from motcua.tracking import key_matches
from motcua.messaging import event_handler
from motcua.web import OpsEndpoints, http, json_response
from motcua_contracts.intake import NotificationPreferencesSchema
from motcua_contracts.notify import NotificationLogEntrySchema
from notify import repository
from motcua import webhooks
from notify.domain import preferences, templates
from notify.domain.templates import given_name
from notify.models import metadata, seen_signature
from notify.sending import NOTIFICATIONS, Outbound

log = logging.getLogger(__name__)

RECEIPT_TOLERANCE_SECONDS = 300
# The gateway's word -> ours; a receipt of any other status (e.g. "accepted") changes nothing.
RECEIPT_STATUSES = {"delivered": "delivered", "undeliverable": "undeliverable", "failed": "undeliverable",
                    "expired": "undeliverable"}



class SendTimer(Timer):
    """nameko's timer, its interval read from the environment when a container is built, not at import."""

    def __init__(self, **kwargs):
        super().__init__(interval=env_float("NOTIFY_SEND_INTERVAL_SECONDS", 1.0), **kwargs)


def _contact(applicant: Mapping[str, Any], procedure_name: str, agency_code: str,
             prefs: preferences.Preferences, now: datetime) -> dict[str, Any]:
    """A recipient's columns: the given name and the two addresses, nothing more of the applicant."""
    return {"given_name": given_name(applicant["full_name"])[:64], "phone": applicant["phone"] or None,
            "email": applicant["email"] or None, "preferences": repository.preferences_json(prefs),
            "procedure_name": procedure_name, "agency_code": agency_code, "created_at": now}


def _count(template_id: str, queued: list[tuple[str, str]]) -> None:
    for channel, status in queued:
        NOTIFICATIONS.labels(channel, template_id, status).inc()


class NotifyService(OpsEndpoints):
    name = "notify"
    db = Database(metadata)
    context = WorkerContext()
    outbound = Outbound()
    clock = Clock()

    @event_handler("intake", "dossier_submitted")
    def on_dossier_submitted(self, envelope: dict) -> None:
        """Keep whom to tell: the given name and the two addresses, nothing more of the applicant; how they
        chose to hear; and the tracking key's hash, for changing that choice later.

        A dossier registered from a pickup's handover links the pickup's notices to its code, and is
        told the way the pickup was unless the event says otherwise."""
        data = envelope["data"]
        chosen = data["notification_preferences"]
        with dossier_context(data["dossier_code"]), self.db.unit_of_work() as uow:
            if not uow.claim_message("notify.on_dossier_submitted", str(envelope["event_id"])):
                return
            contact = _contact(data["applicant"], data["procedure_name"], data["agency_code"],
                               repository.preferences_from_json(chosen) if chosen else preferences.DEFAULT,
                               self.clock())
            pickup = None
            if data["pickup_id"] is not None:
                pickup = repository.link_pickup(uow.session, data["pickup_id"], data["dossier_code"], contact)
            if pickup is not None:
                contact["phone"] = contact["phone"] or pickup["phone"]
                contact["email"] = contact["email"] or pickup["email"]
                if not chosen:
                    contact["preferences"] = pickup["preferences"]
            if not repository.save_recipient(uow.session, {
                **contact, "dossier_code": data["dossier_code"], "tracking_key_hash": data["tracking_key_hash"],
            }):
                log.warning("dossier announced again under another event id; the first contact stands")
            uow.commit()

    @event_handler("postal", "pickup_booked")
    def on_pickup_booked(self, envelope: dict) -> None:
        self._notify_pickup(envelope)

    @event_handler("postal", "pickup_collected")
    def on_pickup_collected(self, envelope: dict) -> None:
        self._notify_pickup(envelope)

    @event_handler("postal", "pickup_collection_failed")
    def on_pickup_collection_failed(self, envelope: dict) -> None:
        self._notify_pickup(envelope)

    @event_handler("status", "dossier_received")
    def on_dossier_received(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("status", "supplement_requested")
    def on_supplement_requested(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("status", "dossier_refused")
    def on_dossier_refused(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("status", "dossier_overdue")
    def on_dossier_overdue(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("status", "dossier_completed")
    def on_dossier_completed(self, envelope: dict) -> None:
        self._notify("status", envelope)

    @event_handler("postal", "result_shipped")
    def on_result_shipped(self, envelope: dict) -> None:
        self._notify("postal", envelope)

    @event_handler("postal", "delivery_attempt_failed")
    def on_delivery_attempt_failed(self, envelope: dict) -> None:
        self._notify("postal", envelope)

    @event_handler("postal", "result_delivered")
    def on_result_delivered(self, envelope: dict) -> None:
        self._notify("postal", envelope)

    @event_handler("postal", "result_returned_to_sender")
    def on_result_returned_to_sender(self, envelope: dict) -> None:
        self._notify("postal", envelope)

    def _notify(self, producer: str, envelope: dict) -> None:
        """One row per channel the citizen is reached on, inserted with the event's inbox mark."""
        data, event_type = envelope["data"], envelope["event_type"]
        template_id = templates.template_for(producer, event_type)
        with dossier_context(data["dossier_code"]), self.db.unit_of_work() as uow:
            if not uow.claim_message(f"notify.on_{event_type}", str(envelope["event_id"])):
                return  # a redelivery: its rows exist already
            who = repository.find_recipient(uow.session, data["dossier_code"])
            if who is None:
                # intake's event has not arrived yet (two exchanges, no order between them): retried later.
                raise NotFound(f"No recipient for dossier {data['dossier_code']} yet.")
            context = {**data, "given_name": who["given_name"], "procedure_name": who["procedure_name"]}
            if event_type == "dossier_overdue":
                context["appointment_date"] = data["original_appointment_date"]
            elif event_type == "result_delivered":
                context["delivered_at"] = data["at"]
            queued = self._add_rows(uow.session, envelope, template_id, who, context,
                                    dossier_code=data["dossier_code"], pickup_id=None)
            uow.commit()
        _count(template_id, queued)

    def _notify_pickup(self, envelope: dict) -> None:
        """A pickup's notice, keyed by the pickup; with the dossier code when the dossier is registered already."""
        data, event_type = envelope["data"], envelope["event_type"]
        template_id = templates.template_for("postal", event_type)
        with self.db.unit_of_work() as uow:
            if not uow.claim_message(f"notify.on_{event_type}", str(envelope["event_id"])):
                return
            if data["applicant"] is not None:
                repository.save_pickup_recipient(uow.session, {
                    **_contact(data["applicant"], data["procedure_name"], data["agency_code"],
                               preferences.DEFAULT, self.clock()),
                    "pickup_id": data["pickup_id"]})
            who = repository.lock_pickup_recipient(uow.session, data["pickup_id"])
            if who is None:
                if event_type == "pickup_booked":
                    raise PermanentFailure("pickup_booked carries no applicant: nobody to tell")
                # the booking's event has not arrived yet: retried later.
                raise NotFound(f"No recipient for pickup {data['pickup_id']} yet.")
            context = {**data, "given_name": who["given_name"], "procedure_name": who["procedure_name"]}
            with dossier_context(who["dossier_code"]):
                queued = self._add_rows(uow.session, envelope, template_id, who, context,
                                        dossier_code=who["dossier_code"], pickup_id=data["pickup_id"])
            uow.commit()
        _count(template_id, queued)

    def _add_rows(self, session, envelope: dict, template_id: str, who: Mapping[str, Any], context: dict, *,
                  dossier_code: str | None, pickup_id: uuid.UUID | None) -> list[tuple[str, str]]:
        """Render and store the notice on each channel; the (channel, status) of the rows that are new."""
        settings, now, event_id = self.outbound.settings, self.clock(), str(envelope["event_id"])
        context = {**context, "portal_url": env("NOTIFY_PORTAL_URL", "http://localhost:8000")}
        prefs = repository.preferences_from_json(who["preferences"])
        queued: list[tuple[str, str]] = []
        for channel in preferences.channels_for(prefs, template_id, who["phone"], who["email"]):
            try:
                rendered = templates.render(template_id, channel, context, ascii_sms=settings.ascii_sms,
                                            language=prefs.language)
            except ValueError as exc:
                raise PermanentFailure(f"template {template_id}: {exc}") from exc  # retrying cannot fix it
            # E-mail is never held; an SMS in quiet hours waits for the morning.
            not_before = settings.sms_release(now) if channel == "sms" else now
            status = "held" if not_before > now else "queued"
            if repository.add_notification(session, {
                "dossier_code": dossier_code, "pickup_id": pickup_id, "event_id": event_id,
                "event_occurred_at": envelope["occurred_at"], "template_id": template_id,
                "template_version": rendered.template_version, "channel": channel,
                "to_address": who["phone"] if channel == "sms" else who["email"], "subject": rendered.subject,
                "body": rendered.body, "html": rendered.html, "length": rendered.length,
                "segments": rendered.segments, "encoding": rendered.encoding, "status": status, "attempts": 0,
                "created_at": now, "not_before": not_before, "updated_at": now,
            }):
                queued.append((channel, status))
        return queued

    @SendTimer.decorator
    def send_due(self) -> None:
        self.outbound.dispatch(self.db, self.clock)

    @http("POST", "/callbacks/sms-delivery")
    def sms_delivery_receipt(self, request):
        """The SMS gateway's delivery receipt, HMAC-signed with a timestamp; a replay is refused."""
        secret = env("NOTIFY_SMS_CALLBACK_SECRET")
        if not secret:
            raise ServiceUnavailable("Delivery receipts are not configured.")
        body, header, now = request.get_data(), request.headers.get("X-Signature"), self.clock()
        signature = webhooks.verify(secret.encode(), body, header, now, RECEIPT_TOLERANCE_SECONDS)
        if signature is None:
            raise Unauthorized("Bad or stale signature.")
        try:
            receipt = json.loads(body)
            message_id, status = str(receipt["id"]), RECEIPT_STATUSES.get(receipt["status"])
        except (ValueError, KeyError, TypeError):
            raise MalformedInput("Not a delivery receipt.") from None
        with self.db.unit_of_work() as uow:
            if not webhooks.remember_signature(uow.session, seen_signature, signature, body, now,
                                               RECEIPT_TOLERANCE_SECONDS):
                raise Unauthorized("This receipt was already received.")
            row = repository.find_by_provider_id(uow.session, message_id)
            if row is None:
                raise NotFound("No notification has this message id.")  # the gateway may retry: a race with `sent`
            moved = status is not None and repository.apply_receipt(uow.session, row["id"], status, now)
            uow.commit()
        if moved:
            NOTIFICATIONS.labels(row["channel"], row["template_id"], status).inc()
        return json_response({"status": "ok"})

    @rpc
    def notification_log(self, dossier_code: str) -> list[dict]:
        """What was sent for a dossier, when, on which channel, with which outcome (NotificationLogEntrySchema)."""
        if not isinstance(dossier_code, str):
            raise ValidationFailed("The dossier code must be a string.", {"dossier_code": ["Not a string."]})
        with self.db.unit_of_work() as uow:
            rows = repository.log_for(uow.session, dossier_code)
        return NotificationLogEntrySchema(many=True).dump(rows)

    @rpc
    def set_preferences(self, dossier_code: str, tracking_key: str, prefs: dict) -> dict:
        """The citizen changes how they hear about the dossier (NotificationPreferencesSchema in and out)."""
        try:
            loaded = NotificationPreferencesSchema().load(prefs)
        except ValidationError as exc:
            raise ValidationFailed("The preferences are invalid.", marshmallow_fields(exc.messages)) from None
        chosen = repository.preferences_from_json(loaded)
        with self.db.unit_of_work() as uow:
            who = repository.find_recipient(uow.session, dossier_code) if isinstance(dossier_code, str) else None
            if who is None or not key_matches(tracking_key, who["tracking_key_hash"]):
                raise NotFound("No dossier matches this code and tracking key.")  # the same for both
            repository.set_preferences(uow.session, dossier_code, chosen)
            uow.commit()
        return NotificationPreferencesSchema().dump(repository.preferences_json(chosen))
