"""Valid sample submissions built from a procedure's own definition.

The end-to-end tests and the benchmarks file dossiers for whatever the catalogue
holds, so they follow the catalogue instead of hard-coding one procedure's form.
"""
from __future__ import annotations

import base64
from datetime import date

# The smallest file every content sniffer accepts as a PDF.
SAMPLE_PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"

# Where a result returned by post goes (motcua_contracts.postal.AddressSchema).
SAMPLE_ADDRESS = {"province": "Thành phố Hải Phòng", "commune": "Xã Vĩnh Bảo",
                  "street": "Số 12 đường Nguyễn Bỉnh Khiêm, thôn Nam Tiến"}

_VALUES = {
    "text": "Nguyễn Văn An",
    "date": "2026-01-15",
    "citizen_id": "031099001234",
    "phone": "0912345678",
    "email": "an.nguyen@example.org",
}


def form_value(field: dict):
    if field["type"] == "choice":
        return field["choices"][0]
    if field["type"] == "number":
        return field.get("min") or 1
    if field["type"] == "text" and field.get("max_length"):
        return _VALUES["text"][: field["max_length"]]
    if field["type"] == "date":
        return date(2026, 1, 15).isoformat()
    return _VALUES[field["type"]]


def sample_form(definition: dict) -> dict:
    return {field["name"]: form_value(field) for field in definition["form_fields"] if field["required"]}


def sample_attachments(definition: dict, content: bytes = SAMPLE_PDF) -> list[dict]:
    """One PDF for each mandatory document that accepts PDF."""
    return [
        {"document_code": doc["code"], "filename": f"{doc['code']}.pdf",
         "content_base64": base64.b64encode(content).decode()}
        for doc in definition["documents"]
        if doc["mandatory"] and "pdf" in doc["accepted_types"]
    ]


def sample_submission(definition: dict, channel: str = "online", return_method: str | None = None) -> dict:
    """A submission the procedure accepts; by post (`return_method="postal"`) it carries a delivery address."""
    method = return_method or definition["return_methods"][0]
    submission = {
        "procedure_code": definition["procedure_code"],
        "channel": channel,
        "return_method": method,
        "applicant": {"full_name": "Nguyễn Văn An", "phone": "0912345678", "email": "an.nguyen@example.org"},
        "form": sample_form(definition),
        "attachments": sample_attachments(definition),
    }
    if method == "postal":
        submission["delivery_address"] = dict(SAMPLE_ADDRESS)
    return submission
