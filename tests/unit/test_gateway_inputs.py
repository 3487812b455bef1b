"""Request parsing of the gateway: query validation, JSON and multipart bodies, keys."""
import base64
import json
from io import BytesIO

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

from motcua.errors import (
    MalformedInput, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed,
)

from gateway import inputs
from gateway.web import GatewayHttp, buffer_chunked_body

SUBMISSION = {"procedure_code": "1.001193", "applicant": {"full_name": "Nguyễn Văn An"}, "form": {"ho_ten_tre": "Bình"}}


def request(**kwargs):
    return EnvironBuilder(method="POST", path="/api/v1/dossiers", **kwargs).get_request()


def multipart(data):
    return request(data=data, content_type="multipart/form-data")


def test_search_query_is_typed_and_leaves_out_what_is_unset():
    query = inputs.search_query(MultiDict({"q": "khai sinh", "page": "3"}))
    assert query == {"q": "khai sinh", "page": 3, "per_page": 20}


@pytest.mark.parametrize("args, field", [
    ({"page": "0"}, "page"), ({"page": "two"}, "page"), ({"per_page": "101"}, "per_page"),
    ({"level": "5"}, "level"), ({"sort": "name"}, "sort"), ({"q": "x" * 201}, "q"),
])
def test_bad_search_query_names_the_field(args, field):
    with pytest.raises(ValidationFailed) as refused:
        inputs.search_query(MultiDict(args))
    assert field in refused.value.fields


def test_json_submission_is_loaded_with_the_contract():
    loaded = inputs.submission(request(json=SUBMISSION))
    assert loaded == {**SUBMISSION, "applicant": {"full_name": "Nguyễn Văn An", "phone": None, "email": None},
                      "channel": "online", "return_method": "counter", "attachments": []}


@pytest.mark.parametrize("body", [b'{"procedure_code": ', b"", b"\xff\xfe{}"])
def test_malformed_json_is_malformed_input(body):
    with pytest.raises(MalformedInput) as refused:
        inputs.submission(request(data=body, content_type="application/json"))
    assert "body" in refused.value.fields


def test_json_that_breaks_the_contract_is_422_per_field():
    with pytest.raises(ValidationFailed) as refused:
        inputs.submission(request(json={**SUBMISSION, "channel": "fax", "extra": True}))
    assert set(refused.value.fields) == {"channel", "extra"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_other_content_types_are_415(content_type):
    with pytest.raises(UnsupportedMediaType):
        inputs.submission(request(data=b"{}", content_type=content_type))


def test_a_content_length_over_the_limit_is_413_as_json_or_as_a_page():
    oversize = request(json=SUBMISSION)
    oversize.max_content_length = 10
    with pytest.raises(RequestEntityTooLarge) as raised:
        inputs.submission(oversize)
    as_json = GatewayHttp("POST", "/").response_from_exception(raised.value)
    as_page = GatewayHttp("POST", "/", html=True).response_from_exception(raised.value)
    assert (as_json.status_code, as_page.status_code, as_page.mimetype) == (413, 413, "text/html")
    assert json.loads(as_json.get_data())["error"]["code"] == "payload_too_large"


def test_multipart_files_become_base64_attachments_in_order():
    first, second, other = b"%PDF-1 \x00\xff", bytes(range(256)), b"\x89PNG"
    loaded = inputs.submission(multipart(MultiDict([
        ("submission", json.dumps(SUBMISSION)),
        ("document.TK", (BytesIO(first), "a.pdf")),
        ("document.TK", (BytesIO(second), "b.pdf")),
        ("document.GKS", (BytesIO(other), "c.png")),
    ])))
    received = [(a["document_code"], a["filename"], base64.b64decode(a["content_base64"])) for a in loaded["attachments"]]
    assert received == [
        ("TK", "a.pdf", first), ("TK", "b.pdf", second), ("GKS", "c.png", other),
    ]
    assert loaded["procedure_code"] == "1.001193"


def test_the_submission_part_may_come_as_a_file():
    part = (BytesIO(json.dumps(SUBMISSION).encode()), "dossier.json", "application/json")
    loaded = inputs.submission(multipart({"submission": part, "document.TK": (BytesIO(b"%PDF"), "a.pdf")}))
    assert loaded["procedure_code"] == "1.001193" and [a["document_code"] for a in loaded["attachments"]] == ["TK"]


def test_an_empty_file_input_is_ignored():
    loaded = inputs.submission(multipart({"submission": json.dumps(SUBMISSION), "document.TK": (BytesIO(b""), "")}))
    assert loaded["attachments"] == []


@pytest.mark.parametrize("data, field", [
    ({"document.TK": (BytesIO(b"x"), "a.pdf")}, "submission"),
    ({"submission": json.dumps([1])}, "submission"),
    ({"submission": json.dumps({**SUBMISSION, "attachments": []})}, "submission.attachments"),
    ({"submission": json.dumps(SUBMISSION), "note": "hi"}, "note"),
    ({"submission": json.dumps(SUBMISSION), "document.TK": "not a file"}, "document.TK"),
    ({"submission": json.dumps(SUBMISSION), "scan": (BytesIO(b"x"), "a.pdf")}, "scan"),
    ({"submission": json.dumps(SUBMISSION), "document.": (BytesIO(b"x"), "a.pdf")}, "document."),
])
def test_bad_multipart_names_the_part(data, field):
    with pytest.raises(ValidationFailed) as refused:
        inputs.submission(multipart(data))
    assert field in refused.value.fields


def test_malformed_submission_part_is_malformed_input():
    with pytest.raises(MalformedInput) as refused:
        inputs.submission(multipart({"submission": "{not json"}))
    assert "submission" in refused.value.fields


def test_portal_form_fields_build_the_same_submission():
    form = MultiDict({"applicant.full_name": "Trần Thị Cúc", "applicant.phone": "", "form.ho_ten_tre": "Dũng",
                      "form.ghi_chu": "", "return_method": "postal"})
    files = MultiDict({"document.TK": FileStorage(BytesIO(b"%PDF"), filename="tk.pdf")})
    loaded = inputs.portal_submission("1.001193", form, files)
    assert loaded["applicant"] == {"full_name": "Trần Thị Cúc", "phone": None, "email": None}
    assert loaded["form"] == {"ho_ten_tre": "Dũng"}
    assert loaded["return_method"] == "postal"
    assert base64.b64decode(loaded["attachments"][0]["content_base64"]) == b"%PDF"


@pytest.mark.parametrize("key, ok", [
    (None, True), ("a" * 8, True), ("k" * 128, True), ("short", False), ("k" * 129, False), ("has space 123", False),
])
def test_idempotency_key(key, ok):
    if ok:
        assert inputs.idempotency_key(key) == key
    else:
        with pytest.raises(MalformedInput) as refused:
            inputs.idempotency_key(key)
        assert "Idempotency-Key" in refused.value.fields


def test_tracking_key_from_header_or_query_and_401_without():
    both = EnvironBuilder(headers={"X-Tracking-Key": "h"}, query_string="key=q").get_request()
    assert inputs.tracking_key(both) == "h"
    assert inputs.tracking_key(EnvironBuilder(query_string="key=q").get_request()) == "q"
    with pytest.raises(Unauthorized) as refused:
        inputs.tracking_key(EnvironBuilder().get_request())
    assert "key" in refused.value.fields


def test_a_string_that_cannot_be_a_dossier_code_is_not_found():
    assert inputs.dossier_code("000.00.00.H49-261125-0007") == "000.00.00.H49-261125-0007"
    with pytest.raises(NotFound):
        inputs.dossier_code("../../etc")


def test_chunked_body_is_buffered_up_to_the_limit():
    environ = {"wsgi.input": BytesIO(b"x" * 10), "HTTP_TRANSFER_ENCODING": "chunked"}
    buffer_chunked_body(environ, 10)
    assert environ["CONTENT_LENGTH"] == "10" and environ["wsgi.input"].read() == b"x" * 10
    assert "HTTP_TRANSFER_ENCODING" not in environ
    with pytest.raises(PayloadTooLarge):
        buffer_chunked_body({"wsgi.input": BytesIO(b"x" * 11), "HTTP_TRANSFER_ENCODING": "chunked"}, 10)
