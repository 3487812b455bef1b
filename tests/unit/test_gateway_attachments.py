"""A filed attachment as the file an official opens: its bytes, its type, shown or saved, its name in UTF-8."""
import base64
from urllib.parse import unquote

import pytest

from gateway.attachments import attachment_response, filename_parameters

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def attachment(content_type: str, filename: str, content: bytes = b"%PDF-1.7 \x00\xff") -> dict:
    return {"id": "7d1b2c3a-0000-4000-8000-000000000001", "content_type": content_type, "filename": filename,
            "content_base64": base64.b64encode(content).decode()}


@pytest.mark.parametrize("content_type, disposition", [
    ("application/pdf", "inline"), ("image/png", "inline"), ("image/jpeg", "inline"),
    (DOCX, "attachment"), ("application/xml", "attachment"),
])
def test_pdfs_and_images_open_in_the_browser_and_other_types_are_saved(content_type, disposition):
    response = attachment_response(attachment(content_type, "giay-to"))
    assert response.get_data() == b"%PDF-1.7 \x00\xff"
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Disposition"] == f"{disposition}; filename=\"giay-to\"; filename*=UTF-8''giay-to"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_vietnamese_name_travels_whole_in_filename_star_and_without_its_marks_in_filename():
    parameters = filename_parameters("Đơn đề nghị cấp giấy khai sinh.pdf")
    plain, star = parameters.split("; ")
    assert plain == 'filename="Don de nghi cap giay khai sinh.pdf"'
    assert star.startswith("filename*=UTF-8''") and " " not in star
    assert unquote(star.removeprefix("filename*=UTF-8''")) == "Đơn đề nghị cấp giấy khai sinh.pdf"


def test_a_name_cannot_end_the_header_or_its_quoted_string():
    parameters = filename_parameters('a"b\\c;d\r\nX-Injected: 1/..%.pdf')
    assert parameters.startswith('filename="a_b_c_d_X-Injected_ 1_.._.pdf"; ')
    assert "\r" not in parameters and "\n" not in parameters and '"' not in parameters.split("; ", 1)[1]
    star = parameters.split("filename*=UTF-8''")[1]
    assert unquote(star) == 'a"b\\c;d\r\nX-Injected: 1/..%.pdf'
    assert set(star) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~%")
