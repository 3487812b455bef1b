"""The files filed for a dossier as the desk lists them: the dossier's own, then each supplement's, under the
pinned version's document names."""
from datetime import datetime, timedelta, timezone

from motcua.calendar import TIMEZONE
from motcua_contracts.intake import DossierAttachmentSchema

from intake.domain.filed import filed_answers, filed_attachments
from tests.unit.test_intake_samples import birth_registration

DOCUMENTS = birth_registration()["documents"]  # to-khai, giay-chung-sinh, uy-quyen
FILED_AT = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
SUPPLEMENTED_AT = FILED_AT + timedelta(days=5)


def row(document_code: str, filename: str, submitted_at: datetime = FILED_AT, supplement_id: str | None = None,
        id: str = "") -> dict:
    return {"id": id or f"id-{filename}", "dossier_code": "000.00.51.H24-261127-0001", "document_code": document_code,
            "filename": filename, "content_type": "application/pdf", "size_bytes": 125, "sha256": "a" * 64,
            "storage_key": "a" * 64, "supplement_id": supplement_id, "submitted_at": submitted_at}


def test_the_dossiers_files_come_first_in_the_document_lists_order_then_each_supplements():
    rows = [row("bo-sung", "xac-nhan.pdf", SUPPLEMENTED_AT, "sup-1"), row("giay-chung-sinh", "gcs.pdf"),
            row("giay-chung-sinh", "gcs-ro.pdf", SUPPLEMENTED_AT, "sup-1"), row("to-khai", "to-khai.pdf")]
    listed = filed_attachments(DOCUMENTS, rows)
    assert [(filed["document_name"], filed["filename"], filed["supplement_id"]) for filed in listed] == [
        ("Tờ khai đăng ký khai sinh", "to-khai.pdf", None), ("Giấy chứng sinh", "gcs.pdf", None),
        ("Giấy chứng sinh", "gcs-ro.pdf", "sup-1"), ("Tài liệu bổ sung", "xac-nhan.pdf", "sup-1")]


def test_a_listed_file_is_on_contract_in_vietnam_time_and_never_shows_where_its_bytes_are_kept():
    [listed] = filed_attachments(DOCUMENTS, [row("to-khai", "to-khai.pdf")])
    assert "storage_key" not in listed and "dossier_code" not in listed
    assert listed["submitted_at"] == FILED_AT and listed["submitted_at"].tzinfo == TIMEZONE
    dumped = DossierAttachmentSchema().dump(listed)
    assert dumped["submitted_at"] == "2026-11-27T16:30:00+07:00"
    assert DossierAttachmentSchema().load(dumped)


def test_the_pinned_versions_name_wins_over_the_extra_document_of_the_same_code():
    documents = [*DOCUMENTS, {"code": "bo-sung", "name": "Giấy tờ khác theo yêu cầu", "mandatory": False,
                              "accepted_types": ["pdf"], "max_size_mb": None}]
    [listed] = filed_attachments(documents, [row("bo-sung", "khac.pdf")])
    assert listed["document_name"] == "Giấy tờ khác theo yêu cầu"


def test_the_answers_follow_the_form_under_its_labels_and_an_unlisted_one_is_shown_under_its_name():
    form_fields = [{"name": "ho_ten", "label": "Họ, chữ đệm và tên", "type": "text"},
                   {"name": "ngay_sinh", "label": "Ngày sinh", "type": "date"}]
    answers = filed_answers(form_fields, {"ngay_sinh": "2026-11-20", "ghi_chu": "x", "ho_ten": "Nguyễn Văn An"})
    assert answers == [{"name": "ho_ten", "label": "Họ, chữ đệm và tên", "type": "text", "value": "Nguyễn Văn An"},
                       {"name": "ngay_sinh", "label": "Ngày sinh", "type": "date", "value": "2026-11-20"},
                       {"name": "ghi_chu", "label": "ghi_chu", "type": "text", "value": "x"}]
