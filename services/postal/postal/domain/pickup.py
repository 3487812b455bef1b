"""A pickup (Decision 45/2016/QD-TTg): the carrier collects the paper dossier at the citizen's address,
checks it against the procedure's required documents, seals it and hands it to the agency.

booked -> collected -> handed_over -> registered (intake gave it a dossier code), or
booked -> collection_failed. Rows and events are plain dicts; the service stores and sends them.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from motcua.errors import ValidationFailed
from motcua.shipments import Machine
from postal.domain.office import Office
from postal.domain.tariff import Tariff

PICKUP = Machine(
    kind="pickup",
    ranks={"booked": 0, "collected": 1, "collection_failed": 1, "handed_over": 2, "registered": 3},
    terminal=frozenset({"collection_failed", "registered"}),
    events={"collected": "collected", "collection_failed": "collection_failed", "handed_over": "handed_over"},
)
EVENT_FOR_STATE = {"booked": "pickup_booked", "collected": "pickup_collected",
                   "collection_failed": "pickup_collection_failed", "handed_over": "pickup_handed_over"}


def require_postal(version: dict) -> None:
    """Refuse a procedure whose catalogue entry does not take dossiers by post."""
    if "postal" not in version["channels"]:
        raise ValidationFailed("This procedure does not accept dossiers by post.", {"procedure_code": [
            f"Thủ tục này không nhận hồ sơ qua dịch vụ bưu chính công ích. This procedure cannot be filed by post; "
            f"it is filed by: {', '.join(version['channels'])}."]})


def _blank_parts(prefix: str, address: dict | None) -> dict[str, list[str]]:
    """The schema bounds lengths; an address of spaces is still incomplete."""
    if address is None:
        return {}
    return {f"{prefix}.{part}": ["Missing: the carrier needs the full address."]
            for part in ("province", "commune", "street") if not address[part].strip()}


def check_booking(version: dict, booking: dict, tariff: Tariff, now: datetime) -> None:
    """Every reason to refuse a loaded BookPickupSchema booking, reported together (422)."""
    require_postal(version)
    problems = {**_blank_parts("address", booking["address"]),
                **_blank_parts("delivery_address", booking["delivery_address"])}
    if booking["return_method"] not in version["return_methods"]:
        problems["return_method"] = [
            f"This procedure returns its result by: {', '.join(version['return_methods'])}."]
    if booking["window"]["end"] <= now:
        problems["window.end"] = ["This window is over; choose one that is still to come."]
    fee = tariff.pickup_fee(booking["address"]["province"])
    if booking["quoted_fee_vnd"] != fee:
        problems["quoted_fee_vnd"] = [f"The pickup fee for this address is {fee} VND; ask for a new quote."]
    if problems:
        raise ValidationFailed("The pickup cannot be booked.", problems)


def checklist(documents: list[dict]) -> list[dict]:
    """The procedure version's documents, each to be ticked by the carrier when it collects."""
    return [{"document_code": d["code"], "name": d["name"], "required": d["mandatory"], "present": None}
            for d in documents]


def new_pickup(pickup_id: uuid.UUID, booking: dict, version: dict, accepted: dict, tracking_key_hash: str,
               agency_fees_vnd: int | None, booked_at: datetime) -> dict:
    """The pickup's row once the carrier accepted the order."""
    return {
        "id": pickup_id, "waybill": accepted["waybill"], "carrier": accepted["carrier"], "state": "booked",
        "procedure_code": version["procedure_code"], "procedure_version": version["version"],
        "procedure_name": version["name"], "agency_code": version["agency"]["code"],
        "agency_name": version["agency"]["name"], "applicant": booking["applicant"], "address": booking["address"],
        "return_method": booking["return_method"],
        # The result goes back to the pickup address unless the citizen named another.
        "delivery_address": (booking["delivery_address"] or booking["address"])
        if booking["return_method"] == "postal" else None,
        "window_start": booking["window"]["start"], "window_end": booking["window"]["end"],
        "quoted_fee_vnd": booking["quoted_fee_vnd"], "agency_fees_vnd": agency_fees_vnd, "note": booking["note"],
        "checklist": checklist(version["documents"]), "tracking_key_hash": tracking_key_hash,
        "booked_at": booked_at, "updated_at": booked_at, "fees_collected_vnd": None, "seal_number": None,
        "carrier_staff": None, "received_by": None, "collected_at": None, "handed_over_at": None,
        "registered_at": None, "failure_reason": None, "dossier_code": None,
    }


def carrier_order(pickup_id: uuid.UUID, booking: dict, version: dict, agency_fees_vnd: int | None,
                  office: Office, callback_url: str) -> dict:
    """CarrierOrderSchema data: from the citizen's door to the agency, with the list to check the package against."""
    applicant = booking["applicant"]
    return {
        "client_reference": str(pickup_id), "kind": "pickup",
        "sender": {"name": applicant["full_name"], "phone": applicant["phone"], "address": booking["address"]},
        "recipient": office.party(version["agency"]["name"]), "window": booking["window"],
        "documents": [{"code": d["code"], "name": d["name"], "required": d["mandatory"]}
                      for d in version["documents"]],
        # The agency's own fees, collected on its behalf; the carrier's charge is its own business.
        "cash_on_delivery_vnd": agency_fees_vnd or 0,
        "callback_url": callback_url,
    }


def _checked(items: list[dict], entries: list[dict]) -> list[dict]:
    """The checklist with the carrier's ticks; a document it did not report stays unknown (None)."""
    present = {entry["code"]: entry["present"] for entry in entries}
    unknown = sorted(set(present) - {item["document_code"] for item in items})
    if unknown:
        raise ValidationFailed("The checklist names documents this procedure does not list.",
                               {"checklist": [f"Not on the list: {', '.join(unknown)}."]})
    return [dict(item, present=present.get(item["document_code"], item["present"])) for item in items]


def apply_event(pickup: dict, callback: dict) -> dict | None:
    """The row changes a loaded carrier callback makes; None when it does not move the pickup (recorded only)."""
    new, at = PICKUP.state_for(callback["event"]), callback["occurred_at"]
    if new == "collection_failed" and not callback["reason"]:
        raise ValidationFailed("A failed collection needs its reason.", {"reason": ["Missing."]})
    # Checked even when the event will not move the pickup: a malformed report is refused, not recorded.
    items = _checked(pickup["checklist"], callback["checklist"] or []) if new == "collected" else None
    if new == "handed_over":
        _check_handover(pickup, callback)
    if not PICKUP.moves(pickup["state"], None, new, at):
        return None
    changes = {"state": new, "updated_at": at,
               "seal_number": callback["seal_number"] or pickup["seal_number"],
               "carrier_staff": callback["carrier_staff"] or pickup["carrier_staff"]}
    if new == "collected":
        changes.update(collected_at=at, checklist=items, fees_collected_vnd=callback["fees_collected_vnd"])
    elif new == "collection_failed":
        changes.update(failure_reason=callback["reason"])
    else:
        changes.update(handed_over_at=at, received_by=callback["received_by"])
    return changes


def _check_handover(pickup: dict, callback: dict) -> None:
    """The handover record must name who signed, who delivered and the seal: here, or from the collection."""
    missing = {}
    if not callback["received_by"]:
        missing["received_by"] = ["Missing: the officer who signed the handover record."]
    for name in ("seal_number", "carrier_staff"):
        if not (callback[name] or pickup[name]):
            missing[name] = ["Missing, and not given at the collection either."]
    if missing:
        raise ValidationFailed("The handover record is incomplete.", missing)


def register(dossier_code: str, at: datetime) -> dict:
    """intake registered the handed-over dossier: the pickup's journey ends with its code."""
    return {"state": "registered", "dossier_code": dossier_code, "registered_at": at, "updated_at": at}


def view(pickup: dict) -> dict:
    """PickupViewSchema data."""
    return {
        "pickup_id": pickup["id"], "waybill": pickup["waybill"], "state": pickup["state"],
        "procedure_code": pickup["procedure_code"], "agency_code": pickup["agency_code"],
        "window": {"start": pickup["window_start"], "end": pickup["window_end"]},
        "quoted_fee_vnd": pickup["quoted_fee_vnd"], "return_method": pickup["return_method"],
        "checklist": pickup["checklist"], "fees_collected_vnd": pickup["fees_collected_vnd"],
        "booked_at": pickup["booked_at"], "collected_at": pickup["collected_at"],
        "handed_over_at": pickup["handed_over_at"], "dossier_code": pickup["dossier_code"],
        "failure_reason": pickup["failure_reason"],
    }


def event_data(pickup: dict) -> dict:
    """PickupEventSchema data for the pickup's current state; the applicant rides on pickup_booked only."""
    state = pickup["state"]
    applicant = pickup["applicant"]
    return {
        "pickup_id": pickup["id"], "waybill": pickup["waybill"], "state": state,
        "procedure_code": pickup["procedure_code"], "procedure_name": pickup["procedure_name"],
        "agency_code": pickup["agency_code"], "at": pickup["updated_at"],
        "window": {"start": pickup["window_start"], "end": pickup["window_end"]},
        "applicant": {"full_name": applicant["full_name"], "phone": applicant["phone"],
                      "email": applicant.get("email")} if state == "booked" else None,
        "checklist": pickup["checklist"], "fees_collected_vnd": pickup["fees_collected_vnd"],
        "reason": pickup["failure_reason"],
    }


def handed_over_data(pickup: dict) -> dict:
    """PickupHandedOverSchema data: everything intake needs to register the dossier."""
    applicant = pickup["applicant"]
    return {
        "pickup_id": pickup["id"], "waybill": pickup["waybill"], "procedure_code": pickup["procedure_code"],
        "agency_code": pickup["agency_code"],
        "applicant": {"full_name": applicant["full_name"], "phone": applicant["phone"],
                      "email": applicant.get("email")},
        "address": pickup["address"], "return_method": pickup["return_method"],
        "delivery_address": pickup["delivery_address"], "tracking_key_hash": pickup["tracking_key_hash"],
        "checklist": pickup["checklist"], "fees_collected_vnd": pickup["fees_collected_vnd"],
        "handover": {"received_by": pickup["received_by"], "carrier_staff": pickup["carrier_staff"],
                     "seal_number": pickup["seal_number"], "handed_over_at": pickup["handed_over_at"]},
        "booked_at": pickup["booked_at"],
    }


# Fixed forever: a booking retried with its Idempotency-Key and body gets the same id, so the carrier the same waybill.
_NAMESPACE = uuid.UUID("2b0d3c8e-5f64-4a8f-8e0e-51a6c1d7e942")


def pickup_id_for(idempotency_key_hash: str | None, request_hash: str) -> uuid.UUID:
    """The pickup's id (the carrier order's client_reference): random without an Idempotency-Key."""
    if idempotency_key_hash is None:
        return uuid.uuid4()
    return uuid.uuid5(_NAMESPACE, f"{idempotency_key_hash}:{request_hash}")
