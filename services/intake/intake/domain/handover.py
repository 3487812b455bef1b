"""A paper dossier the postal carrier handed over at the counter (Decision 45/2016/QD-TTg), ready for its code.

`handover` is `postal.pickup_handed_over` data as motcua_contracts.postal.PickupHandedOverSchema
loads it. Its documents and form travel on paper in the sealed package, so the dossier has no
electronic attachments and an empty form; the receipt lists what the carrier's checklist found
in the package. The catalogue allowed the postal channel when the pickup was booked: the package
is at the counter now, so it is registered rather than refused.
"""
from __future__ import annotations

from intake.domain.dossier import Prepared, appointment_date, fees_due

CHANNEL = "postal"


def paper_documents(checklist: list[dict]) -> tuple[dict, ...]:
    """The documents found in the package, as the receipt lists them (no file: they are on paper)."""
    return tuple({"document_code": item["document_code"], "name": item["name"], "filename": None, "sha256": None}
                 for item in checklist if item["present"])


def prepare_handover(version: dict, handover: dict) -> Prepared:
    """The dossier a handover registers: received when the officer signed for the package.

    The appointment date counts from that signature (after the cut-off hour, from the next working
    day). A result returned by post goes to the pickup address unless the citizen gave another.
    """
    received_at = handover["handover"]["handed_over_at"]
    by_post = handover["return_method"] == "postal"
    return Prepared(
        version=version, channel=CHANNEL, return_method=handover["return_method"],
        applicant=dict(handover["applicant"]), form={}, attachments=[], received_at=received_at,
        appointment_date=appointment_date(version, received_at), fees_vnd=fees_due(version["fees"], CHANNEL),
        notification_preferences=None,
        delivery_address=(handover["delivery_address"] or handover["address"]) if by_post else None,
        paper_documents=paper_documents(handover["checklist"]), pickup_id=str(handover["pickup_id"]),
    )
