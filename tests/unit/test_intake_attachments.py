"""Attachments: documents asked for, sizes, type by content, SHA-256."""
import base64
import hashlib

import pytest

from motcua.errors import PayloadTooLarge, UnsupportedMediaType

from intake.domain.attachments import (
    MIB, Limits, Upload, check_attachments, decode_uploads, detect_type, document_problems,
)
from intake.settings import IntakeSettings
from tests.unit.test_intake_samples import birth_registration, tiny_docx, tiny_jpeg, tiny_pdf, tiny_png, tiny_xml

DOCUMENTS = birth_registration()["documents"]


def both(birth_certificate: bytes = None, filename: str = "giay-chung-sinh.pdf") -> list[Upload]:
    return [Upload("to-khai", "to-khai.pdf", tiny_pdf()),
            Upload("giay-chung-sinh", filename, tiny_png() if birth_certificate is None else birth_certificate)]


def test_a_missing_mandatory_document_is_named_under_its_code():
    problems = document_problems(DOCUMENTS, [Upload("to-khai", "to-khai.pdf", tiny_pdf())])
    assert problems == {"attachments.giay-chung-sinh": ['The required document "Giấy chứng sinh" is missing.']}


def test_optional_documents_may_be_left_out_and_unknown_ones_are_refused():
    assert document_problems(DOCUMENTS, both()) == {}
    problems = document_problems(DOCUMENTS, both() + [Upload("ho-chieu", "a.pdf", tiny_pdf())])
    assert problems == {"attachments.2.document_code": ["This procedure asks for no document 'ho-chieu'."]}


@pytest.mark.parametrize("content, expected", [
    (b"\xef\xbb\xbf" + tiny_xml(), "xml"), (b"  <?xml version='1.0'?><a/>", None), (b"just text", None),
    (b"", None), (b"PK\x03\x04" + b"\x00" * 40, None), (b"GIF89a" + b"\x00" * 20, None),
])
def test_type_is_read_from_the_content(content, expected):
    assert detect_type(content) == expected


def test_a_png_named_pdf_is_refused_where_only_pdf_is_accepted():
    uploads = both() + [Upload("uy-quyen", "uy-quyen.pdf", tiny_png())]
    with pytest.raises(UnsupportedMediaType) as caught:
        check_attachments(DOCUMENTS, uploads, Limits())
    assert caught.value.fields == {"attachments.2": ["The file is a PNG image; this document accepts: pdf."]}


def test_a_pdf_named_jpg_is_accepted_as_the_pdf_it_is():
    [_, certificate] = check_attachments(DOCUMENTS, both(tiny_pdf(), "scan.jpg"), Limits())
    assert (certificate.file_type, certificate.content_type) == ("pdf", "application/pdf")
    assert certificate.filename == "scan.jpg"


def test_accepted_files_carry_type_size_and_sha256():
    uploads = [Upload("to-khai", "to-khai.docx", tiny_docx()), Upload("to-khai", "to-khai.xml", tiny_xml()),
               Upload("giay-chung-sinh", "a.jpg", tiny_jpeg())]
    checked = check_attachments(DOCUMENTS, uploads, Limits())
    assert [a.file_type for a in checked] == ["docx", "xml", "jpg"]
    assert [a.size_bytes for a in checked] == [len(u.content) for u in uploads]
    assert [a.sha256 for a in checked] == [hashlib.sha256(u.content).hexdigest() for u in uploads]


def padded(content: bytes, size: int) -> bytes:
    return content + b"\x00" * (size - len(content))


def test_a_documents_own_size_limit_applies_and_the_default_otherwise():
    limit = 5 * MIB  # giay-chung-sinh sets max_size_mb 5
    assert check_attachments(DOCUMENTS, both(padded(tiny_png(), limit)), Limits())
    with pytest.raises(PayloadTooLarge) as caught:
        check_attachments(DOCUMENTS, both(padded(tiny_png(), limit + 1)), Limits())
    assert caught.value.fields == {"attachments.1": ["The file is 5.0 MB; this document allows at most 5 MB."]}
    declaration = [Upload("to-khai", "t.pdf", padded(tiny_pdf(), 2 * MIB)), both()[1]]
    with pytest.raises(PayloadTooLarge) as caught:
        check_attachments(DOCUMENTS, declaration, Limits(file_mb=1.5))
    assert list(caught.value.fields) == ["attachments.0"]


def test_the_dossier_as_a_whole_has_a_limit():
    uploads = [Upload("to-khai", f"{i}.pdf", padded(tiny_pdf(), 4 * MIB)) for i in range(3)] + [both()[1]]
    assert check_attachments(DOCUMENTS, uploads, Limits(dossier_mb=13))
    with pytest.raises(PayloadTooLarge) as caught:
        check_attachments(DOCUMENTS, uploads, Limits(dossier_mb=12))
    assert caught.value.fields["attachments"] == ["The attachments total 12.0 MB; a dossier allows at most 12 MB."]


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("INTAKE_MAX_ATTACHMENT_MB", raising=False)
    monkeypatch.delenv("INTAKE_MAX_DOSSIER_MB", raising=False)
    assert IntakeSettings.from_env().limits == Limits(10, 30)
    monkeypatch.setenv("INTAKE_MAX_ATTACHMENT_MB", "2.5")
    monkeypatch.setenv("INTAKE_MAX_DOSSIER_MB", "8")
    assert IntakeSettings.from_env().limits == Limits(2.5, 8)


def test_bad_base64_is_named_by_position():
    raw = [{"document_code": "to-khai", "filename": "a.pdf", "content_base64": base64.b64encode(tiny_pdf()).decode()},
           {"document_code": "to-khai", "filename": "b.pdf", "content_base64": "not base64!"}]
    uploads, problems = decode_uploads(raw)
    assert uploads == [Upload("to-khai", "a.pdf", tiny_pdf())]
    assert problems == {"attachments.1.content_base64": ["Not valid base64."]}
