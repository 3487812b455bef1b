"""The citizen's supplement: documents of the pinned version or "bo-sung", checked like a dossier's files."""
import base64
import hashlib
from datetime import datetime

import pytest
from marshmallow import ValidationError

from motcua.calendar import TIMEZONE
from motcua.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from motcua_contracts.events import dump_event_data
from motcua_contracts.intake import SupplementResultSchema, SupplementSchema

from intake.domain.attachments import MIB, Limits
from intake.domain.supplement import check_supplement, supplement_event, supplement_result
from tests.unit.test_intake_samples import AGENCY, birth_registration, tiny_docx, tiny_jpeg, tiny_pdf, tiny_png

DOCUMENTS = birth_registration()["documents"]
CODE = f"{AGENCY}-261127-0001"
RECEIVED_AT = datetime(2026, 12, 2, 9, 15, tzinfo=TIMEZONE)


def supplement(*files: tuple[str, bytes], note: str | None = "Bổ sung theo yêu cầu") -> dict:
    return SupplementSchema().load({"note": note, "attachments": [
        {"document_code": code, "filename": f"{code}.bin", "content_base64": base64.b64encode(content).decode()}
        for code, content in files]})


def test_documents_of_the_pinned_version_and_extra_ones_are_accepted_and_none_is_mandatory():
    checked = check_supplement(DOCUMENTS, supplement(("giay-chung-sinh", tiny_png()), ("bo-sung", tiny_jpeg())),
                               Limits())
    assert [(a.document_code, a.file_type, a.sha256) for a in checked] == [
        ("giay-chung-sinh", "png", hashlib.sha256(tiny_png()).hexdigest()),
        ("bo-sung", "jpg", hashlib.sha256(tiny_jpeg()).hexdigest())]


def test_a_document_code_the_procedure_does_not_list_is_refused_by_name():
    with pytest.raises(ValidationFailed) as caught:
        check_supplement(DOCUMENTS, supplement(("to-khai", tiny_pdf()), ("ho-chieu", tiny_pdf())), Limits())
    assert caught.value.fields == {"attachments.1.document_code": [
        "This procedure asks for no document 'ho-chieu'; send a document it does not list as 'bo-sung'."]}


def test_bad_base64_is_reported_at_its_position():
    bad = SupplementSchema().load({"attachments": [
        {"document_code": "ho-chieu", "filename": "x.pdf", "content_base64": "not base64!"}]})
    with pytest.raises(ValidationFailed) as caught:
        check_supplement(DOCUMENTS, bad, Limits())
    assert caught.value.fields == {"attachments.0.content_base64": ["Not valid base64."]}


def test_sizes_and_types_are_checked_as_for_a_dossier():
    with pytest.raises(PayloadTooLarge) as caught:  # giay-chung-sinh allows 5 MB
        check_supplement(DOCUMENTS, supplement(("giay-chung-sinh", tiny_png() + b"\0" * (5 * MIB))), Limits())
    assert list(caught.value.fields) == ["attachments.0"]
    with pytest.raises(UnsupportedMediaType) as caught:  # an extra document is a scan: pdf, jpg or png
        check_supplement(DOCUMENTS, supplement(("to-khai", tiny_docx()), ("bo-sung", tiny_docx())), Limits())
    assert caught.value.fields == {
        "attachments.1": ["The file is a Word document; this document accepts: pdf, jpg, png."]}


def test_a_supplement_needs_a_file_and_refuses_unknown_fields():
    with pytest.raises(ValidationError) as caught:
        SupplementSchema().load({"note": "x", "attachments": [], "dossier_code": CODE})
    assert set(caught.value.messages) == {"attachments", "dossier_code"}


def test_the_result_and_the_event_are_on_contract():
    attachments = check_supplement(DOCUMENTS, supplement(("to-khai", tiny_pdf()), ("bo-sung", tiny_png())), Limits())
    result = SupplementResultSchema().dump(supplement_result(CODE, "s-1", RECEIVED_AT, DOCUMENTS, attachments))
    assert SupplementResultSchema().load(result)
    assert result == {"dossier_code": CODE, "supplement_id": "s-1", "received_at": "2026-12-02T09:15:00+07:00",
                      "documents": [
                          {"document_code": "to-khai", "name": "Tờ khai đăng ký khai sinh", "filename": "to-khai.bin",
                           "sha256": hashlib.sha256(tiny_pdf()).hexdigest()},
                          {"document_code": "bo-sung", "name": "Tài liệu bổ sung", "filename": "bo-sung.bin",
                           "sha256": hashlib.sha256(tiny_png()).hexdigest()}]}

    data = dump_event_data("intake", "supplement_submitted",
                           supplement_event(result, AGENCY, RECEIVED_AT, "Bổ sung", attachments, ["a-1", "a-2"]))
    assert (data["dossier_code"], data["supplement_id"], data["agency_code"], data["note"]) == (
        CODE, "s-1", AGENCY, "Bổ sung")
    assert [(a["attachment_id"], a["document_code"], a["content_type"]) for a in data["attachments"]] == [
        ("a-1", "to-khai", "application/pdf"), ("a-2", "bo-sung", "image/png")]
