"""A paper dossier the carrier handed over: what intake registers from postal's pickup_handed_over."""
import uuid
from datetime import date, datetime

import pytest

from motcua.calendar import TIMEZONE
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.events import dump_event_data, load_event_data
from motcua_contracts.intake import ReceiptSchema

from intake.domain.dossier import dossier_code, receipt, submitted_event
from intake.domain.handover import paper_documents, prepare_handover
from tests.unit.test_intake_samples import AGENCY, birth_registration

PICKUP_ID = uuid.UUID("0b3f4c1e-6a0d-4a8e-bf51-5d3b9b6f2e70")
PICKUP_ADDRESS = {"province": "Thành phố Hải Phòng", "commune": "Xã Vĩnh Bảo", "street": "Thôn Nam Tiến, số 4"}
OFFICE_ADDRESS = {"province": "Thành phố Hải Phòng", "commune": "Phường Hồng Bàng", "street": "Số 18 Hoàng Văn Thụ"}


def handover(at: datetime, **changes) -> dict:
    """pickup_handed_over data as intake's handler receives it (loaded by the contract)."""
    return load_event_data("postal", "pickup_handed_over", {
        "pickup_id": str(PICKUP_ID), "waybill": "PK000123VN", "procedure_code": "1.001193", "agency_code": AGENCY,
        "applicant": {"full_name": "Nguyễn Văn Bình", "phone": "0912345678", "email": None},
        "address": PICKUP_ADDRESS, "return_method": "counter", "tracking_key_hash": "c" * 64,
        "checklist": [
            {"document_code": "to-khai", "name": "Tờ khai đăng ký khai sinh", "required": True, "present": True},
            {"document_code": "giay-chung-sinh", "name": "Giấy chứng sinh", "required": True, "present": True},
            {"document_code": "uy-quyen", "name": "Văn bản ủy quyền", "required": False, "present": False}],
        "fees_collected_vnd": 8000,
        "handover": {"received_by": "Trần Thị Lan", "carrier_staff": "Lê Văn Tâm", "seal_number": "S-99812",
                     "handed_over_at": at.isoformat()},
        "booked_at": "2026-11-26T09:00:00+07:00", **changes})


def version() -> dict:
    return ProcedureVersionSchema().load(birth_registration())


@pytest.mark.parametrize("at, appointment", [
    # Three working days; the handover's signature starts the count, the cut-off applies to it.
    (datetime(2026, 11, 27, 10, 0, tzinfo=TIMEZONE), date(2026, 12, 2)),  # Friday morning: Mon 30, Tue 1, Wed 2
    (datetime(2026, 11, 27, 16, 30, tzinfo=TIMEZONE), date(2026, 12, 3)),  # after 15:00: counted from Monday
])
def test_the_dossier_is_received_when_the_officer_signed_for_the_package(at, appointment):
    prepared = prepare_handover(version(), handover(at))
    assert (prepared.channel, prepared.received_at, prepared.appointment_date) == ("postal", at, appointment)
    assert prepared.local_day == date(2026, 11, 27)
    assert (prepared.form, prepared.attachments, prepared.notification_preferences) == ({}, [], None)
    assert prepared.applicant == {"full_name": "Nguyễn Văn Bình", "phone": "0912345678", "email": None}
    assert prepared.fees_vnd == 8000  # not the online rate
    assert prepared.pickup_id == str(PICKUP_ID)


def test_the_receipt_lists_the_papers_found_in_the_package():
    at = datetime(2026, 11, 27, 10, 0, tzinfo=TIMEZONE)
    prepared = prepare_handover(version(), handover(at))
    code = dossier_code(prepared, 3)
    issued = ReceiptSchema().dump(receipt(prepared, code))
    assert ReceiptSchema().load(issued)  # on contract
    assert (issued["channel"], issued["received_at"], issued["dossier_code"]) == (
        "postal", "2026-11-27T10:00:00+07:00", f"{AGENCY}-261127-0003")
    assert issued["documents"] == [
        {"document_code": "to-khai", "name": "Tờ khai đăng ký khai sinh", "filename": None, "sha256": None},
        {"document_code": "giay-chung-sinh", "name": "Giấy chứng sinh", "filename": None, "sha256": None}]
    assert paper_documents([]) == ()


def test_the_event_carries_the_pickup_and_the_delivery_address():
    at = datetime(2026, 11, 27, 10, 0, tzinfo=TIMEZONE)
    counter = prepare_handover(version(), handover(at, delivery_address=OFFICE_ADDRESS))
    assert counter.delivery_address is None  # not returned by post: no address kept
    by_post = prepare_handover(version(), handover(at, return_method="postal"))
    assert by_post.delivery_address == PICKUP_ADDRESS  # none given: the pickup address
    elsewhere = prepare_handover(version(), handover(at, return_method="postal", delivery_address=OFFICE_ADDRESS))
    assert elsewhere.delivery_address == OFFICE_ADDRESS

    data = dump_event_data("intake", "dossier_submitted",
                           submitted_event(by_post, dossier_code(by_post, 1), "c" * 64, []))
    assert (data["channel"], data["return_method"], data["pickup_id"]) == ("postal", "postal", str(PICKUP_ID))
    assert (data["delivery_address"], data["tracking_key_hash"], data["attachments"], data["form"]) == (
        PICKUP_ADDRESS, "c" * 64, [], {})
    assert data["submitted_at"] == "2026-11-27T10:00:00+07:00"
