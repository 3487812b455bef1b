"""A delivery: the carrier takes a completed dossier's result from the office to the citizen's door.

ordered -> picked_up -> out_for_delivery <-> attempt_failed -> delivered | returned_to_sender.
The carrier decides when the allowed attempts are used up and reports returned_to_sender.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from motcua.errors import ValidationFailed
from motcua.shipments import DELIVERY
from postal.domain.office import Office

EVENT_FOR_STATE = {"ordered": "delivery_ordered", "picked_up": "result_shipped",
                   "out_for_delivery": "delivery_out_for_delivery", "attempt_failed": "delivery_attempt_failed",
                   "delivered": "result_delivered", "returned_to_sender": "result_returned_to_sender"}
OUTCOMES = DELIVERY.terminal

# Fixed forever: a delivery's id is derived from its dossier code, so a redelivered completion cannot order twice.
_NAMESPACE = uuid.UUID("6f1c7a52-3d1e-4b8e-9a57-0c2f4e8d9b13")


def delivery_id(dossier_code: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, dossier_code)


def delivery_request(submitted: dict) -> dict | None:
    """From intake's dossier_submitted: whom and where to deliver, nothing more of the applicant.

    None when the result does not go by post, or no address came with it.
    """
    if submitted["return_method"] != "postal" or submitted["delivery_address"] is None:
        return None
    applicant = submitted["applicant"]
    return {"dossier_code": submitted["dossier_code"], "agency_code": submitted["agency_code"],
            "name": applicant["full_name"], "phone": applicant["phone"], "address": submitted["delivery_address"]}


def carrier_order(request: dict, office: Office, max_attempts: int, callback_url: str) -> dict:
    """CarrierOrderSchema data: from the office to the citizen's door."""
    return {
        "client_reference": str(delivery_id(request["dossier_code"])), "kind": "delivery",
        "sender": office.party(f"Bộ phận Một cửa {request['agency_code']}"),
        "recipient": {"name": request["name"], "phone": request["phone"], "address": request["address"]},
        "max_attempts": max_attempts, "callback_url": callback_url,
    }


def new_delivery(request: dict, accepted: dict, max_attempts: int, completed_at: datetime, now: datetime) -> dict:
    """The delivery's row once the carrier accepted the order."""
    return {
        "id": delivery_id(request["dossier_code"]), "dossier_code": request["dossier_code"],
        "agency_code": request["agency_code"], "waybill": accepted["waybill"], "carrier": accepted["carrier"],
        "state": "ordered", "attempts": 0, "max_attempts": max_attempts, "completed_at": completed_at,
        "ordered_at": now, "state_at": now, "updated_at": now, "reason": None, "recipient_name": None,
        "delivered_at": None,
    }


def apply_event(delivery: dict, callback: dict) -> dict | None:
    """The row changes a loaded carrier callback makes; None when it does not move the delivery (recorded only)."""
    new, at = DELIVERY.state_for(callback["event"]), callback["occurred_at"]
    if new == "attempt_failed" and not callback["reason"]:
        raise ValidationFailed("A failed attempt needs its reason.", {"reason": ["Missing."]})
    if new == "delivered" and not callback["recipient_name"]:
        raise ValidationFailed("Proof of delivery needs the recipient's name.", {"recipient_name": ["Missing."]})
    if not DELIVERY.moves(delivery["state"], delivery["state_at"], new, at):
        return None
    changes = {"state": new, "state_at": at, "updated_at": at}
    if new == "attempt_failed":
        changes.update(attempts=delivery["attempts"] + 1, reason=callback["reason"])
    elif new == "delivered":
        changes.update(recipient_name=callback["recipient_name"], delivered_at=at)
    return changes


def event_data(delivery: dict) -> dict:
    """DeliveryEventSchema data for the delivery's current state."""
    state = delivery["state"]
    return {
        "delivery_id": delivery["id"], "dossier_code": delivery["dossier_code"],
        "agency_code": delivery["agency_code"], "waybill": delivery["waybill"], "carrier": delivery["carrier"],
        "state": state, "at": delivery["state_at"], "attempts": delivery["attempts"],
        "max_attempts": delivery["max_attempts"], "reason": delivery["reason"] if state == "attempt_failed" else None,
        "recipient_name": delivery["recipient_name"] if state == "delivered" else None,
    }
