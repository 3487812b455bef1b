"""notify's use cases: plain functions over their ports, one per thing a caller asks of notify.

The consumers store rows in the event's transaction (de-duplicated by a unique key), the sender
(notify.sending) sends the due ones, the callback records delivery receipts. A pickup's notices
(booked, collected, collection failed) come before its dossier exists: they are keyed by the
pickup, and join the dossier's log when intake's dossier_submitted names the pickup.

An online dossier's citizen is told at filing that it arrived and awaits the one-stop officer
(templates.filing_notice), in the transaction that records the contact; the receipt (01) follows
when status receives the dossier.

Each function takes the unit-of-work factory (`db`), the clock, the settings and the agency names
(`agency_name`: code -> name, None when catalog knows no such agency) it needs as arguments, so it
runs the same in the nameko service (notify.service, which only delegates) and in a unit test on SQLite.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from motcua import webhooks
from motcua.db import Db, TimeSource
from motcua.errors import (
    MalformedInput, NotFound, NotYet, PermanentFailure, ServiceUnavailable, Unauthorized, ValidationFailed,
    marshmallow_fields,
)
from motcua.logs import correlation_id_var, dossier_context, valid_correlation_id
from motcua.tracking import key_matches
from motcua_contracts.base import shared
from motcua_contracts.intake import NotificationPreferencesSchema
from motcua_contracts.notify import NotificationLogEntrySchema
from notify import repository
from notify.domain import preferences, templates
from notify.domain.templates import given_name
from notify.models import seen_signature
from notify.sending import NOTIFICATIONS
from notify.sending import Settings as SendingSettings
from notify.settings import NotifySettings

log = logging.getLogger(__name__)

AgencyName = Callable[[str], str | None]

RECEIPT_TOLERANCE_SECONDS = 300
# The gateway's word -> ours; a receipt of any other status (e.g. "accepted") changes nothing.
RECEIPT_STATUSES = {"delivered": "delivered", "undeliverable": "undeliverable", "failed": "undeliverable",
                    "expired": "undeliverable"}


def record_recipient(db: Db, clock: TimeSource, settings: NotifySettings, sending: SendingSettings,
                     agency_name: AgencyName, envelope: dict) -> None:
    """intake's `dossier_submitted`: keep whom to tell (the given name and the two addresses, nothing more of
    the applicant), how they chose to hear, and the tracking key's hash, for changing that choice later;
    and tell the citizen of an online dossier that it was filed.

    A dossier registered from a pickup's handover links the pickup's notices to its code, and is
    told the way the pickup was unless the event says otherwise."""
    data = envelope["data"]
    chosen = data["notification_preferences"]
    template_id = templates.filing_notice(data["channel"])
    agency = _name(agency_name, data["agency_code"]) if template_id is not None else None
    with dossier_context(data["dossier_code"]), db.unit_of_work() as uow:
        if not uow.claim_message("notify.on_dossier_submitted", str(envelope["event_id"])):
            return
        contact = _contact(data["applicant"], data["procedure_name"], data["agency_code"],
                           repository.preferences_from_json(chosen) if chosen else preferences.DEFAULT,
                           clock())
        pickup = None
        if data["pickup_id"] is not None:
            pickup = repository.link_pickup(uow.session, data["pickup_id"], data["dossier_code"], contact)
        if pickup is not None:
            contact["phone"] = contact["phone"] or pickup["phone"]
            contact["email"] = contact["email"] or pickup["email"]
            if not chosen:
                contact["preferences"] = pickup["preferences"]
        who = {**contact, "dossier_code": data["dossier_code"], "tracking_key_hash": data["tracking_key_hash"]}
        queued: list[tuple[str, str]] = []
        if not repository.save_recipient(uow.session, who):
            log.warning("dossier announced again under another event id; the first contact stands")
        elif template_id is not None:
            context = {**data, "given_name": who["given_name"], "agency_name": agency}
            queued = _add_rows(clock, settings, sending, uow.session, envelope, template_id, who, context,
                               dossier_code=data["dossier_code"], pickup_id=None)
        uow.commit()
    _count(template_id, queued)


def notify_dossier(db: Db, clock: TimeSource, settings: NotifySettings, sending: SendingSettings,
                   agency_name: AgencyName, producer: str, envelope: dict) -> None:
    """One row per channel the citizen is reached on, inserted with the event's inbox mark."""
    data, event_type = envelope["data"], envelope["event_type"]
    template_id = templates.template_for(producer, event_type)
    agency = _name(agency_name, data["agency_code"])
    with dossier_context(data["dossier_code"]), db.unit_of_work() as uow:
        if not uow.claim_message(f"notify.on_{event_type}", str(envelope["event_id"])):
            return  # a redelivery: its rows exist already
        who = repository.find_recipient(uow.session, data["dossier_code"])
        if who is None:
            # intake's event has not arrived yet (two exchanges, no order between them): retried later.
            raise NotYet(f"No recipient for dossier {data['dossier_code']} yet.")
        context = {**data, "given_name": who["given_name"], "procedure_name": who["procedure_name"],
                   "agency_name": agency}
        if event_type == "dossier_overdue":
            context["appointment_date"] = data["original_appointment_date"]
        elif event_type == "result_delivered":
            context["delivered_at"] = data["at"]
        queued = _add_rows(clock, settings, sending, uow.session, envelope, template_id, who, context,
                                dossier_code=data["dossier_code"], pickup_id=None)
        uow.commit()
    _count(template_id, queued)


def notify_pickup(db: Db, clock: TimeSource, settings: NotifySettings, sending: SendingSettings,
                  agency_name: AgencyName, envelope: dict) -> None:
    """A pickup's notice, keyed by the pickup; with the dossier code when the dossier is registered already."""
    data, event_type = envelope["data"], envelope["event_type"]
    template_id = templates.template_for("postal", event_type)
    agency = _name(agency_name, data["agency_code"])
    with db.unit_of_work() as uow:
        if not uow.claim_message(f"notify.on_{event_type}", str(envelope["event_id"])):
            return
        if data["applicant"] is not None:
            repository.save_pickup_recipient(uow.session, {
                **_contact(data["applicant"], data["procedure_name"], data["agency_code"],
                           preferences.DEFAULT, clock()),
                "pickup_id": data["pickup_id"]})
        who = repository.lock_pickup_recipient(uow.session, data["pickup_id"])
        if who is None:
            if event_type == "pickup_booked":
                raise PermanentFailure("pickup_booked carries no applicant: nobody to tell")
            # the booking's event has not arrived yet: retried later.
            raise NotYet(f"No recipient for pickup {data['pickup_id']} yet.")
        context = {**data, "given_name": who["given_name"], "procedure_name": who["procedure_name"],
                   "agency_name": agency}
        with dossier_context(who["dossier_code"]):
            queued = _add_rows(clock, settings, sending, uow.session, envelope, template_id, who, context,
                                    dossier_code=who["dossier_code"], pickup_id=data["pickup_id"])
        uow.commit()
    _count(template_id, queued)


def receive_sms_receipt(db: Db, clock: TimeSource, settings: NotifySettings, body: bytes,
                        signature_header: str | None) -> dict:
    """The SMS gateway's delivery receipt, HMAC-signed with a timestamp; a replay is refused."""
    secret = settings.sms_callback_secret
    if not secret:
        raise ServiceUnavailable("Delivery receipts are not configured.")
    now = clock()
    signature = webhooks.verify(secret.encode(), body, signature_header, now, RECEIPT_TOLERANCE_SECONDS)
    if signature is None:
        raise Unauthorized("Bad or stale signature.")
    try:
        receipt = json.loads(body)
        message_id, status = str(receipt["id"]), RECEIPT_STATUSES.get(receipt["status"])
    except (ValueError, KeyError, TypeError):
        raise MalformedInput("Not a delivery receipt.") from None
    with db.unit_of_work() as uow:
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
    return {"status": "ok"}


def notification_log(db: Db, dossier_code: object) -> list[dict]:
    """What was sent for a dossier, when, on which channel, with which outcome (NotificationLogEntrySchema)."""
    if not isinstance(dossier_code, str):
        raise ValidationFailed("The dossier code must be a string.", {"dossier_code": ["Not a string."]})
    with db.unit_of_work() as uow:
        rows = repository.log_for(uow.session, dossier_code)
    # A template since retired from the code keeps its rows, without a title.
    titles = {template_id: spec.title for template_id, spec in templates.TEMPLATES.items()}
    return shared(NotificationLogEntrySchema, many=True).dump(
        [dict(row, template_title=titles.get(row["template_id"])) for row in rows])


def set_preferences(db: Db, dossier_code: object, tracking_key: object, prefs: object) -> dict:
    """The citizen changes how they hear about the dossier (NotificationPreferencesSchema in and out)."""
    try:
        loaded = shared(NotificationPreferencesSchema).load(prefs)
    except ValidationError as exc:
        raise ValidationFailed("The preferences are invalid.", marshmallow_fields(exc.messages)) from None
    chosen = repository.preferences_from_json(loaded)
    with db.unit_of_work() as uow:
        who = repository.find_recipient(uow.session, dossier_code) if isinstance(dossier_code, str) else None
        if who is None or not key_matches(tracking_key, who["tracking_key_hash"]):
            raise NotFound("No dossier matches this code and tracking key.")  # the same for both
        repository.set_preferences(uow.session, dossier_code, chosen)
        uow.commit()
    return shared(NotificationPreferencesSchema).dump(repository.preferences_json(chosen))


def _add_rows(clock: TimeSource, settings: NotifySettings, sending: SendingSettings, session, envelope: dict,
              template_id: str, who: Mapping[str, Any], context: dict, *,
              dossier_code: str | None, pickup_id: uuid.UUID | None) -> list[tuple[str, str]]:
    """Render and store the notice on each channel; the (channel, status) of the rows that are new.

    Each row keeps the event's correlation id (the worker's when the event's is not a valid one), for the
    sender to log the send under it."""
    now, event_id = clock(), str(envelope["event_id"])
    correlation_id = valid_correlation_id(envelope.get("correlation_id")) or correlation_id_var.get()
    context = {**context, "portal_url": settings.portal_url}
    prefs = repository.preferences_from_json(who["preferences"])
    queued: list[tuple[str, str]] = []
    for channel in preferences.channels_for(prefs, template_id, who["phone"], who["email"]):
        try:
            rendered = templates.render(template_id, channel, context, ascii_sms=sending.ascii_sms,
                                        language=prefs.language)
        except ValueError as exc:
            raise PermanentFailure(f"template {template_id}: {exc}") from exc  # retrying cannot fix it
        # E-mail is never held; an SMS in quiet hours waits for the morning.
        not_before = sending.sms_release(now) if channel == "sms" else now
        status = "held" if not_before > now else "queued"
        if repository.add_notification(session, {
            "dossier_code": dossier_code, "pickup_id": pickup_id, "event_id": event_id,
            "correlation_id": correlation_id, "event_occurred_at": envelope["occurred_at"], "template_id": template_id,
            "template_version": rendered.template_version, "channel": channel,
            "to_address": who["phone"] if channel == "sms" else who["email"], "subject": rendered.subject,
            "body": rendered.body, "html": rendered.html, "length": rendered.length,
            "segments": rendered.segments, "encoding": rendered.encoding, "status": status, "attempts": 0,
            "created_at": now, "not_before": not_before, "updated_at": now,
        }):
            queued.append((channel, status))
    return queued


def _contact(applicant: Mapping[str, Any], procedure_name: str, agency_code: str,
             prefs: preferences.Preferences, now: datetime) -> dict[str, Any]:
    """A recipient's columns: the given name and the two addresses, nothing more of the applicant."""
    return {"given_name": given_name(applicant["full_name"])[:64], "phone": applicant["phone"] or None,
            "email": applicant["email"] or None, "preferences": repository.preferences_json(prefs),
            "procedure_name": procedure_name, "agency_code": agency_code, "created_at": now}


def _name(agency_name: AgencyName, code: str) -> str | None:
    """The agency's name, asked before the transaction opens: catalog may take its time to answer."""
    name = agency_name(code)
    if name is None:
        log.warning("catalog knows no agency %s: the notice names none", code)
    return name


def _count(template_id: str | None, queued: list[tuple[str, str]]) -> None:
    for channel, status in queued:
        NOTIFICATIONS.labels(channel, template_id, status).inc()
