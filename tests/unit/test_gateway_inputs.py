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
                      "channel": "online", "return_method": "counter", "attachments": [],
                      "notification_preferences": None,  # None: notify's defaults
                      "delivery_address": None}


def test_notification_preferences_are_json_with_defaults_and_at_least_one_channel():
    assert inputs.notification_preferences(request(json={"channels": ["email"]})) == {
        "channels": ["email"], "language": "vi", "opted_out": False}
    with pytest.raises(ValidationFailed) as refused:
        inputs.notification_preferences(request(json={"channels": [], "language": "fr"}))
    assert set(refused.value.fields) == {"channels", "language"}
    with pytest.raises(UnsupportedMediaType):
        inputs.notification_preferences(request(data=b"channels=sms", content_type="application/x-www-form-urlencoded"))


@pytest.mark.parametrize("body", [b'{"procedure_code": ', b"", b"\xff\xfe{}"])
def test_malformed_json_is_malformed_input(body):
    with pytest.raises(MalformedInput) as refused:
        inputs.submission(request(data=body, content_type="application/json"))
    assert "body" in refused.value.fields


DEEP = b"[" * 100_000 + b"]" * 100_000


def nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("parse", [
    lambda: inputs.submission(request(data=DEEP, content_type="application/json")),
    lambda: inputs.submission(multipart({"submission": DEEP.decode()})),
    lambda: inputs.pickup_booking(request(data=DEEP, content_type="application/json")),
    lambda: inputs.submission(request(data=json.dumps({**SUBMISSION, "form": {"a": nested(inputs.MAX_JSON_DEPTH)}}),
                                      content_type="application/json")),
])
def test_json_nested_too_deeply_is_malformed_input_naming_the_body_or_part(parse):
    with pytest.raises(MalformedInput) as refused:
        parse()
    assert set(refused.value.fields) <= {"body", "submission"} and "nested" in refused.value.message


def test_json_nested_as_deep_as_allowed_is_read():
    value = nested(inputs.MAX_JSON_DEPTH)
    assert inputs.parse_json(json.dumps(value), "body") == value
    assert inputs.nesting_depth(value) == inputs.MAX_JSON_DEPTH


@pytest.mark.parametrize("change, field", [
    ({"procedure_code": "1.001\x00193"}, "procedure_code"),
    ({"applicant": {"full_name": "Nguy\u1ec5n\x1bVan"}}, "applicant.full_name"),
    ({"form": {"ho_ten_tre": "B\u00ecnh\x7f"}}, "form.ho_ten_tre"),
    ({"form": {"ho_ten_tre": "\ud800"}}, "form.ho_ten_tre"),
    ({"attachments": [{"document_code": "to-khai", "filename": "a\x00.pdf", "content_base64": "eA=="}]},
     "attachments.0.filename"),
])
def test_control_characters_in_any_text_are_422_naming_the_field(change, field):
    with pytest.raises(ValidationFailed) as refused:
        inputs.submission(request(data=json.dumps({**SUBMISSION, **change}), content_type="application/json"))
    assert refused.value.fields[field] == ["Must not contain control characters."]


def test_a_file_name_with_a_control_character_is_refused_from_multipart_too():
    with pytest.raises(ValidationFailed) as refused:
        inputs.submission(multipart({"submission": json.dumps(SUBMISSION),
                                     "document.to-khai": (BytesIO(b"%PDF-1.4"), "a\x00.pdf")}))
    assert any(field.endswith("filename") for field in refused.value.fields)


def test_lines_and_tabs_stay_allowed_in_free_text():
    loaded = inputs.submission(request(json={**SUBMISSION, "form": {"ghi_chu": "Dòng một\r\nDòng\thai"}}))
    assert loaded["form"]["ghi_chu"] == "Dòng một\r\nDòng\thai"


def test_a_search_with_a_nul_byte_is_422():
    with pytest.raises(ValidationFailed) as refused:
        inputs.search_query(MultiDict({"q": "khai\x00sinh"}))
    assert "q" in refused.value.fields


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


@pytest.mark.parametrize("parse", [inputs.submission, inputs.supplement])
def test_a_multipart_part_without_a_readable_name_is_malformed_input(parse):
    body = (b'--X\r\nContent-Disposition: form-data; name="x\\"\r\n\r\nabc\r\n'
            b'--X\r\nContent-Disposition: form-data; name="note"\r\n\r\n\r\n--X--\r\n')
    with pytest.raises(MalformedInput) as refused:
        parse(request(data=body, content_type="multipart/form-data; boundary=X"))
    assert refused.value.fields == {"body": ["Every part needs a name."]}


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


# --- The desk, supplements and reports ------------------------------------------------------

def test_desk_query_is_typed_with_repeated_states_and_leaves_out_what_is_unset():
    args = MultiDict([("state", "received"), ("state", "in_progress"), ("due_before", "2026-12-01"),
                      ("overdue", "true"), ("per_page", "20")])
    assert inputs.desk_query(args) == {"state": ["received", "in_progress"], "due_before": "2026-12-01",
                                       "overdue": True, "page": 1, "per_page": 20}
    assert inputs.desk_query(MultiDict()) == {"page": 1, "per_page": 50}


@pytest.mark.parametrize("args, field", [
    ([("state", "received"), ("state", "lost")], "state.1"), ([("channel", "fax")], "channel"),
    ([("due_before", "01/12/2026")], "due_before"), ([("per_page", "201")], "per_page"), ([("sort", "x")], "sort"),
])
def test_bad_desk_query_names_the_field(args, field):
    with pytest.raises(ValidationFailed) as refused:
        inputs.desk_query(MultiDict(args))
    assert field in refused.value.fields


def test_idempotency_key_is_required_for_desk_actions():
    assert inputs.required_idempotency_key("act-00000001") == "act-00000001"
    for key in (None, "short"):
        with pytest.raises(MalformedInput) as refused:
            inputs.required_idempotency_key(key)
        assert "Idempotency-Key" in refused.value.fields


def test_json_action_is_loaded_with_the_contract():
    loaded = inputs.desk_action(request(json={"action": "transfer", "to_agency_code": "000.00.01.H49",
                                              "reason": "Thuộc thẩm quyền Sở Xây dựng"}))
    assert loaded["action"] == "transfer" and loaded["to_agency_code"] == "000.00.01.H49"
    with pytest.raises(ValidationFailed) as refused:
        inputs.desk_action(request(json={"action": "receive_supplement", "extra": 1}))
    assert set(refused.value.fields) == {"action", "extra"}


def test_multipart_action_carries_the_result_document_as_base64():
    content = bytes(range(256)) + "Quyết định".encode()
    loaded = inputs.desk_action(multipart({
        "command": json.dumps({"action": "complete", "expected_version": 3}),
        "result_document": (BytesIO(content), "quyet-dinh.pdf"),
    }))
    assert loaded["action"] == "complete" and loaded["expected_version"] == 3
    document = loaded["result_document"]
    assert document["filename"] == "quyet-dinh.pdf" and base64.b64decode(document["content_base64"]) == content


def test_multipart_action_without_a_file_has_no_result_document():
    assert inputs.desk_action(multipart({"command": json.dumps({"action": "accept"})}))["result_document"] is None


@pytest.mark.parametrize("data, field", [
    ({"result_document": (BytesIO(b"x"), "a.pdf")}, "command"),
    ({"command": json.dumps({"action": "complete", "result_document": {}})}, "command.result_document"),
    ({"command": json.dumps({"action": "complete"}), "result": (BytesIO(b"x"), "a.pdf")}, "result"),
    ({"command": json.dumps({"action": "complete"}), "reason": "x"}, "reason"),
    ({"command": json.dumps({"action": "complete"}), "result_document": "not a file"}, "result_document"),
    ({"command": json.dumps({"action": "complete"}), "result_document": (BytesIO(b"x"), "")},
     "result_document.filename"),
])
def test_bad_multipart_action_names_the_part(data, field):
    with pytest.raises(ValidationFailed) as refused:
        inputs.desk_action(multipart(data))
    assert field in refused.value.fields


def test_a_result_document_sent_as_text_must_be_a_file():
    with pytest.raises(ValidationFailed) as refused:
        inputs.desk_action(multipart({"command": json.dumps({"action": "complete"}), "result_document": "x"}))
    assert refused.value.fields == {"result_document": ["Must be a file."]}


def test_a_second_result_document_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        inputs.desk_action(multipart(MultiDict([
            ("command", json.dumps({"action": "complete"})),
            ("result_document", (BytesIO(b"1"), "a.pdf")), ("result_document", (BytesIO(b"2"), "b.pdf")),
        ])))
    assert "result_document" in refused.value.fields


def test_supplement_as_json_or_multipart():
    attachment = {"document_code": "GKS", "filename": "giay-khai-sinh.pdf", "content_base64": "JVBERg=="}
    as_json = inputs.supplement(request(json={"note": "Bổ sung giấy khai sinh", "attachments": [attachment]}))
    as_parts = inputs.supplement(multipart({"note": "Bổ sung giấy khai sinh",
                                            "document.GKS": (BytesIO(b"%PDF"), "giay-khai-sinh.pdf")}))
    assert as_json == as_parts == {"note": "Bổ sung giấy khai sinh", "attachments": [attachment]}
    assert inputs.supplement(multipart({"document.GKS": (BytesIO(b"%PDF"), "a.pdf")}))["note"] is None


@pytest.mark.parametrize("data, field", [
    ({"note": "nothing attached"}, "attachments"),
    ({"note": "x", "ghi_chu": "y", "document.GKS": (BytesIO(b"%PDF"), "a.pdf")}, "ghi_chu"),
    ({"scan": (BytesIO(b"%PDF"), "a.pdf")}, "scan"),
])
def test_bad_supplement_names_the_field(data, field):
    with pytest.raises(ValidationFailed) as refused:
        inputs.supplement(multipart(data))
    assert field in refused.value.fields


def test_report_query_and_the_export_period():
    args = MultiDict({"from": "2026-01-01", "to": "2026-03-31", "format": "csv"})
    assert inputs.report_query(args) == {"from": "2026-01-01", "to": "2026-03-31", "group_by": "agency"}
    period = inputs.report_query(args, ("date_from", "date_to"))
    assert period == {"from": "2026-01-01", "to": "2026-03-31"}
    with pytest.raises(ValidationFailed) as refused:
        inputs.report_query(MultiDict({"from": "2026-13-01", "group_by": "ward"}))
    assert set(refused.value.fields) == {"from", "to", "group_by"}
    with pytest.raises(ValidationFailed) as refused:
        inputs.report_query(MultiDict({"from": "2026-01-01", "to": "2026-01-31", "group_by": "city"}),
                            ("date_from", "date_to"))
    assert set(refused.value.fields) == {"group_by"}
    for only in (None, ("date_from", "date_to")):  # the rule the OpenAPI document states on `to`
        with pytest.raises(ValidationFailed) as refused:
            inputs.report_query(MultiDict({"from": "2026-02-01", "to": "2026-01-31"}), only)
        assert refused.value.fields == {"to": ["Before 'from'."]}
    assert inputs.report_query(MultiDict({"from": "2026-02-01", "to": "2026-02-01"}))["to"] == "2026-02-01"


@pytest.mark.parametrize("query, accept, expected", [
    ("", None, "json"), ("", "text/csv", "csv"), ("", "text/html,*/*;q=0.8", "json"),
    ("format=csv", "application/json", "csv"), ("format=json", "text/csv", "json"),
])
def test_report_format_from_the_parameter_or_the_accept_header(query, accept, expected):
    headers = {"Accept": accept} if accept else {}
    assert inputs.report_format(EnvironBuilder(query_string=query, headers=headers).get_request()) == expected


def test_an_unknown_report_format_is_422():
    with pytest.raises(ValidationFailed) as refused:
        inputs.report_format(EnvironBuilder(query_string="format=xlsx").get_request())
    assert "format" in refused.value.fields


# --- postal pickups ---------------------------------------------------------------------------

BOOKING = {
    "procedure_code": "1.001193",
    "applicant": {"full_name": "Trần Thị Cúc", "phone": "0912345678"},
    "address": {"province": "Hải Phòng", "commune": "Phường Hồng Bàng", "street": "12 Lê Lợi"},
    "window": {"start": "2026-11-27T08:00:00+07:00", "end": "2026-11-27T11:30:00+07:00"},
    "quoted_fee_vnd": 25000,
}
PORTAL_BOOKING = {
    "procedure_code": "1.001193", "quoted_fee_vnd": "25000", "applicant.full_name": " Trần Thị Cúc ", "applicant.phone": "0912 345 678", "applicant.email": "",
    "address.province": "Hải Phòng", "address.commune": "Phường Hồng Bàng", "address.street": "12 Lê Lợi",
    "window.date": "2026-11-27", "window.start": "08:00", "window.end": "11:30", "return_method": "counter",
    "delivery_address.province": "", "delivery_address.commune": "", "delivery_address.street": "", "note": "",
}


def test_a_json_booking_is_loaded_with_the_contract_and_dumped_for_the_rpc():
    loaded = inputs.pickup_booking(request(json=BOOKING))
    assert loaded["applicant"] == {"full_name": "Trần Thị Cúc", "phone": "0912345678", "email": None}
    assert loaded["window"] == {"start": "2026-11-27T08:00:00+07:00", "end": "2026-11-27T11:30:00+07:00"}
    assert (loaded["return_method"], loaded["delivery_address"], loaded["note"]) == ("counter", None, None)


@pytest.mark.parametrize("change, field", [
    ({"address": {"province": "Hải Phòng", "commune": "Hồng Bàng"}}, "address.street"),
    ({"applicant": {"full_name": "Cúc"}}, "applicant.phone"),
    ({"window": {"start": "2026-11-27T11:00:00+07:00", "end": "2026-11-27T08:00:00+07:00"}}, "window.end"),
    ({"quoted_fee_vnd": -1}, "quoted_fee_vnd"),
    ({"courier": "fast"}, "courier"),
    # One address, never a list or a header: every notice once went to both of these.
    ({"applicant": {"full_name": "Cúc", "phone": "0912345678", "email": "a@example.org, b@example.net"}},
     "applicant.email"),
    ({"applicant": {"full_name": "Cúc", "phone": "0912345678", "email": "a@example.org\r\nBcc: b@example.net"}},
     "applicant.email"),
    ({"applicant": {"full_name": "Cúc", "phone": "0912345678", "email": "a" * 250 + "@example.org"}},
     "applicant.email"),
    ({"applicant": {"full_name": "Cúc", "phone": "0112345678"}}, "applicant.phone"),  # the rule intake applies
    ({"applicant": {"full_name": "C" * 201, "phone": "0912345678"}}, "applicant.full_name"),
    ({"applicant": {"full_name": "", "phone": "0912345678"}}, "applicant.full_name"),
])
def test_a_bad_booking_is_422_naming_the_field(change, field):
    with pytest.raises(ValidationFailed) as refused:
        inputs.pickup_booking(request(json={**BOOKING, **change}))
    assert field in refused.value.fields


def test_a_booking_is_json_only():
    with pytest.raises(UnsupportedMediaType):
        inputs.pickup_booking(request(data={"procedure_code": "1.001193"}, content_type="multipart/form-data"))
    with pytest.raises(MalformedInput):
        inputs.pickup_booking(request(data=b"{", content_type="application/json"))


def test_the_quote_needs_a_procedure_and_a_province():
    assert inputs.pickup_quote_query(MultiDict({"procedure_code": "1.001193", "province": "Hải Phòng"})) == {
        "procedure_code": "1.001193", "province": "Hải Phòng"}
    with pytest.raises(ValidationFailed) as refused:
        inputs.pickup_quote_query(MultiDict({"province": "H", "page": "1"}))
    assert set(refused.value.fields) == {"procedure_code", "province", "page"}


def test_a_pickup_id_is_a_uuid_or_400():
    assert inputs.pickup_id("7D1B2C3A-0000-4000-8000-000000000001") == "7d1b2c3a-0000-4000-8000-000000000001"
    with pytest.raises(MalformedInput) as refused:
        inputs.pickup_id("../../etc")
    assert "pickup_id" in refused.value.fields
    with pytest.raises(Unauthorized) as missing:
        inputs.tracking_key(EnvironBuilder().get_request(), "pickup")
    assert "pickup" in missing.value.message


def test_an_attachment_id_is_a_uuid_or_400():
    assert inputs.attachment_id("7D1B2C3A-0000-4000-8000-000000000001") == "7d1b2c3a-0000-4000-8000-000000000001"
    for malformed in ("../../etc", "", "7d1b2c3a-0000-4000-8000-00000000000"):
        with pytest.raises(MalformedInput) as refused:
            inputs.attachment_id(malformed)
        assert refused.value.fields == {"attachment_id": ["Must be a UUID."]}


def test_the_portal_booking_form_reads_the_day_and_hours_in_vietnam_time():
    loaded = inputs.portal_booking(MultiDict(PORTAL_BOOKING))
    assert loaded["window"] == {"start": "2026-11-27T08:00:00+07:00", "end": "2026-11-27T11:30:00+07:00"}
    assert loaded["applicant"] == {"full_name": "Trần Thị Cúc", "phone": "0912345678", "email": None}
    assert loaded["delivery_address"] is None and loaded["quoted_fee_vnd"] == 25000
    postal = inputs.portal_booking(MultiDict({
        **PORTAL_BOOKING, "return_method": "postal", "delivery_address.province": "Hà Nội",
        "delivery_address.commune": "Phường Ba Đình", "delivery_address.street": "1 Hùng Vương"}))
    assert postal["delivery_address"] == {"province": "Hà Nội", "commune": "Phường Ba Đình",
                                          "street": "1 Hùng Vương"}


def test_a_portal_booking_names_every_bad_field_at_once():
    form = MultiDict({**PORTAL_BOOKING, "window.date": "", "address.street": "", "applicant.phone": "call me",
                      "quoted_fee_vnd": "much"})
    with pytest.raises(ValidationFailed) as refused:
        inputs.portal_booking(form)
    assert set(refused.value.fields) == {"window", "address.street", "applicant.phone", "quoted_fee_vnd"}
    before_the_quote = MultiDict({key: value for key, value in PORTAL_BOOKING.items() if key != "quoted_fee_vnd"})
    assert inputs.portal_booking(before_the_quote, quoted=False)["quoted_fee_vnd"] == 0


def test_the_portal_sends_a_delivery_address_only_for_a_postal_return():
    form = MultiDict({"applicant.full_name": "Cúc", "form.ho_ten_tre": "Dũng", "return_method": "counter",
                      "delivery_address.province": "Hải Phòng", "delivery_address.commune": "Hồng Bàng",
                      "delivery_address.street": "12 Lê Lợi"})
    assert inputs.portal_submission("1.001193", form, MultiDict())["delivery_address"] is None
    form["return_method"] = "postal"
    assert inputs.portal_submission("1.001193", form, MultiDict())["delivery_address"] == {
        "province": "Hải Phòng", "commune": "Hồng Bàng", "street": "12 Lê Lợi"}
