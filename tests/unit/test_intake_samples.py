"""Sample data for intake's tests: one procedure version as catalog serves it, and tiny real files."""
import io
import struct
import zipfile
import zlib
from datetime import date
from decimal import Decimal

from motcua_contracts.catalog import ProcedureVersionSchema

from intake.domain.attachments import detect_type

AGENCY = "000.01.24.H24"  # a commune of the city; the city's own QCVN 102 code is not confirmed


def birth_registration(**changes) -> dict:
    """Thủ tục đăng ký khai sinh (1.001193), shaped like ProcedureVersionSchema().dump()."""
    definition = {
        "procedure_code": "1.001193",
        "name": "Thủ tục đăng ký khai sinh",
        "field": {"code": "ho-tich", "name": "Hộ tịch"},
        "version": 1,
        "status": "published",
        "valid_from": "2026-01-01",
        "valid_to": None,
        "agency": {"code": AGENCY, "name": "Ủy ban nhân dân xã Vĩnh Bảo", "level": "commune",
                   "parent_code": "000.00.00.H24", "place_name": "Vĩnh Bảo"},
        "time_limit": {"working_days": "3", "confirmed": True, "note": None},
        "cutoff_hour": "15:00",
        "fees": [{"code": "le-phi-khai-sinh", "name": "Lệ phí đăng ký khai sinh", "amount_vnd": 8000, "unit": "lần",
                  "online_amount_vnd": 0, "confirmed": True, "note": "NQ 12/2018; trực tuyến 0 đ (NQ 23/2026)"}],
        "documents": [
            {"code": "to-khai", "name": "Tờ khai đăng ký khai sinh", "mandatory": True,
             "accepted_types": ["pdf", "docx", "xml"], "max_size_mb": None},
            {"code": "giay-chung-sinh", "name": "Giấy chứng sinh", "mandatory": True,
             "accepted_types": ["pdf", "jpg", "png"], "max_size_mb": 5.0},
            {"code": "uy-quyen", "name": "Văn bản ủy quyền", "mandatory": False, "accepted_types": ["pdf"],
             "max_size_mb": None},
        ],
        "form_fields": [
            field("child_full_name", "Họ, chữ đệm và tên của trẻ", "text", True, max_length=100),
            field("child_birth_date", "Ngày, tháng, năm sinh", "date", True),
            field("child_sex", "Giới tính", "choice", True, choices=["Nam", "Nữ"]),
            field("declarant_citizen_id", "Số định danh cá nhân của người đi khai", "citizen_id", True),
            field("contact_phone", "Số điện thoại", "phone", False),
            field("contact_email", "Thư điện tử", "email", False),
            field("copies", "Số bản sao yêu cầu cấp", "number", False, min=0, max=10),
        ],
        "service_level": {"legacy": None, "online": "mot_phan"},
        "channels": ["counter", "online", "postal"],
        "return_methods": ["counter", "postal", "online"],
        "legal_basis": ["Luật Hộ tịch 60/2014/QH13", "Nghị định 123/2015/NĐ-CP"],
        "sources": ["https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001193"],
        "unconfirmed": [],
        "workflow": [{"agency": AGENCY, "role": "receptionist", "working_days": "0.5"},
                     {"agency": AGENCY, "role": "handler", "working_days": "2.5"}],
    }
    definition.update(changes)
    return definition


def field(name, label, kind, required, choices=None, max_length=None, min=None, max=None) -> dict:
    return {"name": name, "label": label, "type": kind, "required": required, "choices": choices,
            "max_length": max_length, "min": min, "max": max}


def good_form() -> dict:
    return {"child_full_name": "Nguyễn Minh An", "child_birth_date": "2026-11-20", "child_sex": "Nam",
            "declarant_citizen_id": "031099001234"}


def tiny_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def tiny_png() -> bytes:
    """A 1x1 grey PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def tiny_jpeg() -> bytes:
    """A 1x1 grey baseline JPEG: one block whose DC difference and AC run are both empty."""
    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"  # a single 1-bit Huffman code for symbol 0
    return (b"\xff\xd8" + segment(0xDB, b"\x00" + b"\x01" * 64)
            + segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
            + segment(0xC4, b"\x00" + one_code) + segment(0xC4, b"\x10" + one_code)
            + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x3f" + b"\xff\xd9")


def tiny_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buffer.getvalue()


def tiny_xml() -> bytes:
    return '<?xml version="1.0" encoding="UTF-8"?><ToKhai><HoTen>Nguyễn Minh An</HoTen></ToKhai>'.encode()


def test_the_sample_procedure_is_on_contract():
    loaded = ProcedureVersionSchema().load(birth_registration())  # unknown or missing fields raise
    assert (loaded["time_limit"]["working_days"], loaded["valid_from"]) == (Decimal("3"), date(2026, 1, 1))


def test_the_sample_files_are_what_they_claim():
    assert [detect_type(f()) for f in (tiny_pdf, tiny_png, tiny_jpeg, tiny_docx, tiny_xml)] == [
        "pdf", "png", "jpg", "docx", "xml"]
