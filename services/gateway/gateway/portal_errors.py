"""A refusal of what a citizen sent from a portal form, put next to the inputs it is about, in Vietnamese.

The API answers developers in English with field paths of the contract (`applicant.phone`,
`attachments.0`, `attachments.<document code>`); the portal's inputs have names of their own
(`applicant.phone`, `document.<document code>`). `input_errors` maps the one onto the other
and says each message in Vietnamese; what it cannot place stays with the form as a whole.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

GENERIC = "Thông tin này chưa hợp lệ."
REQUIRED = "Bắt buộc: hãy điền thông tin này."

_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^(Missing data for required field|This field is required|Field may not be null)\.$"),
     lambda found: REQUIRED),
    (re.compile(r"^Not a Vietnamese phone number\.$"),
     lambda found: "Số điện thoại chưa đúng: 10 chữ số bắt đầu bằng 0, ví dụ 0912 345 678."),
    (re.compile(r"^Not a valid email address\.$"), lambda found: "Thư điện tử chưa đúng, ví dụ ten@example.vn."),
    (re.compile(r"^(?:At most|Longer than maximum length) (\d+)(?: characters)?\.$"),
     lambda found: f"Tối đa {found.group(1)} ký tự."),
    (re.compile(r"^A citizen ID number has exactly 12 digits\.$"),
     lambda found: "Số định danh cá nhân gồm đúng 12 chữ số."),
    (re.compile(r"^Must be one of: .*\.$"), lambda found: "Hãy chọn một trong các lựa chọn có sẵn."),
    (re.compile(r"^Not a valid (date|datetime)\.$"), lambda found: "Ngày chưa đúng định dạng."),
    (re.compile(r"^Not a valid (number|integer)\.$"), lambda found: "Hãy nhập một số."),
    (re.compile(r'^The required document "(.+)" is missing\.$'),
     lambda found: f"Chưa đính kèm: {found.group(1)}."),
    (re.compile(r"^The file is [\d.]+ MB; this document allows at most ([\d.]+) MB\.$"),
     lambda found: f"Tệp quá lớn: tối đa {found.group(1).replace('.', ',')} MB."),
    (re.compile(r"^The attachments total [\d.]+ MB; a dossier allows at most ([\d.]+) MB\.$"),
     lambda found: f"Các tệp đính kèm quá lớn: tổng cộng tối đa {found.group(1).replace('.', ',')} MB."),
    (re.compile(r"^The file is .*; this document accepts: (.+)\.$"),
     lambda found: f"Loại tệp không được nhận; chỉ nhận tệp {found.group(1)}."),
]


def in_vietnamese(message: str) -> str:
    for pattern, say in _MESSAGES:
        if found := pattern.match(message):
            return say(found)
    return GENERIC


def input_errors(fields: Mapping[str, Iterable[str]],
                 document_codes: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """({input name: messages}, messages about the form as a whole) for a refusal's `fields`.

    `document_codes` are the document codes of the attachments sent, in order: the contract names a file by
    its position (`attachments.3`)."""
    placed: dict[str, list[str]] = {}
    general: list[str] = []
    for path, messages in fields.items():
        said = list(dict.fromkeys(in_vietnamese(message) for message in messages))
        name = _input_for(path, document_codes)
        if name is None:
            general += said
        else:
            placed.setdefault(name, []).extend(said)
    return placed, general


def _input_for(path: str, document_codes: list[str]) -> str | None:
    parts = path.split(".")
    if parts[0] == "attachments" and len(parts) > 1:
        if parts[1].isdigit():
            position = int(parts[1])
            return f"document.{document_codes[position]}" if position < len(document_codes) else None
        return f"document.{parts[1]}"
    if parts[0] in ("applicant", "form", "delivery_address") and len(parts) > 1:
        return f"{parts[0]}.{parts[1]}"
    if parts[0] in ("return_method", "note", "delivery_address"):
        return parts[0]
    return None
