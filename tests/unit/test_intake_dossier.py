"""From submission to receipt: checks, appointment date, fees, receipt, event data, tracking key."""
import base64
import hashlib
from datetime import date, datetime, timezone

import pytest

from motcua.calendar import TIMEZONE
from motcua.errors import ValidationFailed
from motcua.samples import SAMPLE_ADDRESS, sample_submission
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.events import dump_event_data
from motcua_contracts.intake import ReceiptSchema, SubmitDossierSchema

from intake.domain.attachments import Limits
from motcua.fees import fee_schedule, fees_due
from intake.domain.dossier import (
    RECEIPT_TEMPLATE, dossier_code, prepare, published_on, receipt, submitted_event,
)
from motcua.tracking import request_hash
from tests.unit.test_intake_samples import AGENCY, birth_registration, good_form, tiny_pdf, tiny_png

# Friday 27 November 2026, 16:30 in Vietnam: after the 15:00 cut-off.
FRIDAY_AFTER_CUTOFF = datetime(2026, 11, 27, 16, 30, tzinfo=TIMEZONE)


def version(**changes) -> dict:
    return ProcedureVersionSchema().load(birth_registration(**changes))


def encoded(content: bytes) -> str:
    return base64.b64encode(content).decode()


def submission(**changes) -> dict:
    body = {"procedure_code": "1.001193", "channel": "online", "return_method": "counter",
            "applicant": {"full_name": "Nguyễn Văn Bình", "phone": "0912 345 678"}, "form": good_form(),
            "attachments": [
                {"document_code": "to-khai", "filename": "to-khai.pdf", "content_base64": encoded(tiny_pdf())},
                {"document_code": "giay-chung-sinh", "filename": "cs.png", "content_base64": encoded(tiny_png())}]}
    return SubmitDossierSchema().load(dict(body, **changes))


def fee(amount, online=None, confirmed=True) -> dict:
    return {"code": "f", "name": "Lệ phí", "amount_vnd": amount, "unit": "lần", "online_amount_vnd": online,
            "confirmed": confirmed, "note": None}


@pytest.mark.parametrize("fees, channel, due", [
    ([], "online", 0),
    ([fee(8000, online=0)], "online", 0),
    ([fee(8000, online=0)], "counter", 8000),
    ([fee(8000, online=0)], "postal", 8000),
    ([fee(8000), fee(2000, online=1000)], "online", None),  # alternatives or a sum: the agency says
    ([fee(8000, online=0), fee(2000, online=0)], "online", 0),
    ([fee(8000), fee(None, confirmed=False)], "counter", None),
    ([fee(8000, confirmed=False)], "counter", None),
    ([fee(None, online=0, confirmed=False)], "online", None),
])
def test_fees_due_for_the_channel(fees, channel, due):
    assert fees_due(fees, channel) == due


@pytest.mark.parametrize("channel, amounts", [("online", [0, None]), ("counter", [8000, None])])
def test_the_fee_schedule_for_the_channel_travels_with_the_dossier(channel, amounts):
    schedule = fee_schedule([fee(8000, online=0), fee(2000, confirmed=False)], channel)
    assert [item["amount_vnd"] for item in schedule] == amounts
    assert schedule[0] == {"code": "f", "name": "Lệ phí", "amount_vnd": amounts[0]}


def test_a_good_submission_is_prepared_with_its_appointment_and_fees():
    prepared = prepare(version(), submission(), FRIDAY_AFTER_CUTOFF, Limits())
    # After the cut-off on a Friday: counting starts Monday 30/11, three working days -> Thursday 3/12.
    assert prepared.appointment_date == date(2026, 12, 3)
    assert prepared.local_day == date(2026, 11, 27)
    assert prepared.fees_vnd == 0  # online: NQ 23/2026 rate
    assert prepared.applicant == {"full_name": "Nguyễn Văn Bình", "phone": "0912345678", "email": None}
    assert [a.file_type for a in prepared.attachments] == ["pdf", "png"]


def test_the_cutoff_hour_comes_from_the_version():
    before = datetime(2026, 11, 27, 14, 59, tzinfo=TIMEZONE)
    assert prepare(version(), submission(), before, Limits()).appointment_date == date(2026, 12, 2)
    early_cutoff = version(cutoff_hour="11:30")
    assert prepare(early_cutoff, submission(), before, Limits()).appointment_date == date(2026, 12, 3)


def test_every_field_problem_is_reported_at_once():
    bad = submission(channel="postal", return_method="online", form=dict(good_form(), child_sex="?"),
                     attachments=submission()["attachments"][:1])
    limited = version(channels=["counter", "online"], return_methods=["counter"])
    with pytest.raises(ValidationFailed) as caught:
        prepare(limited, bad, FRIDAY_AFTER_CUTOFF, Limits())
    assert set(caught.value.fields) == {"channel", "return_method", "form.child_sex", "attachments.giay-chung-sinh"}
    assert caught.value.fields["channel"] == ["This procedure cannot be filed by postal; allowed: counter, online."]


def test_published_on_follows_status_and_validity():
    procedure_version = version(valid_from="2026-01-01", valid_to="2026-12-01")
    assert published_on(procedure_version, date(2026, 1, 1)) and published_on(procedure_version, date(2026, 11, 30))
    assert (not published_on(procedure_version, date(2025, 12, 31))
            and not published_on(procedure_version, date(2026, 12, 1)))
    assert not published_on(version(status="draft"), date(2026, 6, 1))


def test_the_receipt_carries_template_01s_fields():
    prepared = prepare(version(), submission(), FRIDAY_AFTER_CUTOFF.astimezone(timezone.utc), Limits())
    code = dossier_code(prepared, 7)
    assert code == f"{AGENCY}-261127-0007"
    dumped = ReceiptSchema().dump(receipt(prepared, code))
    assert ReceiptSchema().load(dumped)  # on contract
    assert dumped == {
        "template": RECEIPT_TEMPLATE, "dossier_code": code, "agency_code": AGENCY,
        "agency_name": "Ủy ban nhân dân xã Vĩnh Bảo", "place_name": "Vĩnh Bảo", "procedure_code": "1.001193",
        "procedure_name": "Thủ tục đăng ký khai sinh", "procedure_version": 1, "applicant_name": "Nguyễn Văn Bình",
        "channel": "online", "return_method": "counter", "received_at": "2026-11-27T16:30:00+07:00",
        "appointment_date": "2026-12-03", "time_limit_working_days": "3", "fees_vnd": 0,
        "documents": [
            {"document_code": "to-khai", "name": "Tờ khai đăng ký khai sinh", "filename": "to-khai.pdf",
             "sha256": hashlib.sha256(tiny_pdf()).hexdigest()},
            {"document_code": "giay-chung-sinh", "name": "Giấy chứng sinh", "filename": "cs.png",
             "sha256": hashlib.sha256(tiny_png()).hexdigest()}],
    }


def test_the_receipt_names_no_place_when_the_agency_has_none():
    """A version catalog published before agencies had a place (or an agency without one): the date alone."""
    older = birth_registration()
    del older["agency"]["place_name"]
    for agency in (older["agency"], dict(older["agency"], place_name=None)):
        prepared = prepare(version(agency=agency), submission(), FRIDAY_AFTER_CUTOFF, Limits())
        issued = ReceiptSchema().dump(receipt(prepared, dossier_code(prepared, 1)))
        assert issued["place_name"] is None and ReceiptSchema().load(issued)["place_name"] is None


def test_a_receipt_stored_before_the_place_still_loads():
    prepared = prepare(version(), submission(), FRIDAY_AFTER_CUTOFF, Limits())
    stored = ReceiptSchema().dump(receipt(prepared, dossier_code(prepared, 1)))
    del stored["place_name"]
    assert ReceiptSchema().load(stored)["place_name"] is None


def test_the_event_data_is_on_contract():
    prepared = prepare(version(), submission(), FRIDAY_AFTER_CUTOFF, Limits())
    data = dump_event_data("intake", "dossier_submitted",
                           submitted_event(prepared, dossier_code(prepared, 1), "a" * 64, ["id-1", "id-2"]))
    assert data["submitted_at"] == "2026-11-27T16:30:00+07:00"
    assert [(a["attachment_id"], a["content_type"]) for a in data["attachments"]] == [
        ("id-1", "application/pdf"), ("id-2", "image/png")]
    assert (data["form"], data["cutoff_hour"], data["fees_vnd"]) == (good_form(), "15:00", 0)
    assert data["workflow"] == birth_registration()["workflow"]  # the pinned version's route, for status
    assert data["notification_preferences"] is None


def test_the_citizens_notification_preferences_travel_in_the_event():
    chosen = {"channels": ["sms"], "language": "en", "opted_out": True}
    prepared = prepare(version(), submission(notification_preferences=chosen), FRIDAY_AFTER_CUTOFF, Limits())
    data = dump_event_data("intake", "dossier_submitted", submitted_event(prepared, dossier_code(prepared, 1),
                                                                          "a" * 64, ["id-1", "id-2"]))
    assert data["notification_preferences"] == chosen


def test_the_request_hash_is_canonical():
    body = submission()
    assert request_hash(body) == request_hash(dict(reversed(list(body.items()))))
    assert request_hash(body) != request_hash(dict(body, return_method="postal"))


ADDRESS = {"province": "Thành phố Hải Phòng", "commune": "Xã Vĩnh Bảo", "street": "Số 12 đường Nguyễn Bỉnh Khiêm"}


def test_a_result_by_post_needs_a_delivery_address_and_it_travels_in_the_event():
    with pytest.raises(ValidationFailed) as caught:
        prepare(version(), submission(return_method="postal"), FRIDAY_AFTER_CUTOFF, Limits())
    assert caught.value.fields == {
        "delivery_address": ["Give the address the result is to be delivered to by post."]}
    prepared = prepare(version(), submission(return_method="postal", delivery_address=ADDRESS), FRIDAY_AFTER_CUTOFF,
                       Limits())
    assert prepared.delivery_address == ADDRESS
    data = dump_event_data("intake", "dossier_submitted",
                           submitted_event(prepared, dossier_code(prepared, 1), "a" * 64, ["id-1", "id-2"]))
    assert (data["return_method"], data["delivery_address"], data["pickup_id"]) == ("postal", ADDRESS, None)
    assert receipt(prepared, dossier_code(prepared, 1))["return_method"] == "postal"


@pytest.mark.parametrize("return_method", ["counter", "online"])
def test_an_address_for_a_result_not_sent_by_post_is_refused(return_method):
    with pytest.raises(ValidationFailed) as caught:
        prepare(version(), submission(return_method=return_method, delivery_address=ADDRESS), FRIDAY_AFTER_CUTOFF,
                Limits())
    assert caught.value.fields == {
        "delivery_address": ["Only a result returned by post needs a delivery address; leave it out."]}
    prepared = prepare(version(), submission(return_method=return_method), FRIDAY_AFTER_CUTOFF, Limits())
    assert prepared.delivery_address is None


def test_the_sample_submission_by_post_is_accepted():
    definition = birth_registration()
    body = SubmitDossierSchema().load(sample_submission(definition, return_method="postal"))
    body["attachments"] = submission()["attachments"]  # the sample's PDF does not fit the birth certificate's slot
    prepared = prepare(version(), body, FRIDAY_AFTER_CUTOFF, Limits())
    assert (prepared.return_method, prepared.delivery_address) == ("postal", SAMPLE_ADDRESS)
    assert "delivery_address" not in sample_submission(definition)  # counter first: no address
