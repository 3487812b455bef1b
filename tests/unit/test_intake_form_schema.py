"""The form schema built from a procedure version's field list, one field type at a time."""
import pytest
from marshmallow import ValidationError

from intake.domain.form_schema import form_schema, load_applicant, load_form
from tests.unit.test_intake_samples import birth_registration, field, good_form


def load_one(spec: dict, value):
    schema = form_schema([spec])()
    return schema.dump(schema.load({spec["name"]: value}))[spec["name"]]


def refusal(spec: dict, value) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        form_schema([spec])().load({spec["name"]: value})
    return caught.value.messages[spec["name"]]


CASES = [
    # spec, accepted value -> stored value, refused value -> message
    (field("name", "Họ tên", "text", True, max_length=5), "Lan", "Lan", "Nguyễn", "At most 5 characters."),
    (field("n", "Số", "number", True, min=0.1, max=10), "0.1", "0.1", 10.5,
     "Must be greater than or equal to 0.1 and less than or equal to 10."),
    (field("n", "Số", "number", True), 3, "3", True, "Not a valid number."),
    (field("d", "Ngày", "date", True), "2026-02-17", "2026-02-17", "17/02/2026", "Not a valid date (YYYY-MM-DD)."),
    (field("c", "Giới tính", "choice", True, choices=["Nam", "Nữ"]), "Nữ", "Nữ", "nu", "Must be one of: Nam, Nữ."),
    (field("id", "CCCD", "citizen_id", True), "031099001234", "031099001234", "03109900123",
     "A citizen ID number has exactly 12 digits."),
    (field("id", "CCCD", "citizen_id", True), "031099001234", "031099001234", "031099001234\n",
     "A citizen ID number has exactly 12 digits."),
    (field("id", "CCCD", "citizen_id", True), "031099001234", "031099001234", "٠٣١٠٩٩٠٠١٢٣٤",
     "A citizen ID number has exactly 12 digits."),
    (field("p", "Điện thoại", "phone", True), "0912 345 678", "0912345678", "01234567890",
     "Not a Vietnamese phone number."),
    (field("e", "Email", "email", True), "an@example.vn", "an@example.vn", "an@", "Not a valid e-mail address."),
]


@pytest.mark.parametrize("spec, good, stored, bad, message", CASES)
def test_each_type_accepts_a_good_value_and_refuses_a_bad_one(spec, good, stored, bad, message):
    assert load_one(spec, good) == stored
    assert refusal(spec, bad) == [message]


@pytest.mark.parametrize("number, stored", [
    ("0912345678", "0912345678"), ("+84912345678", "+84912345678"), ("0352345678", "0352345678"),
    ("02253123456", "02253123456"), ("(0225) 3.123.456", "02253123456"), ("024-3826-1234", "02438261234"),
])
def test_phone_accepts_mobiles_and_landlines(number, stored):
    assert load_one(field("p", "Điện thoại", "phone", True), number) == stored


@pytest.mark.parametrize("number", [
    "091234567", "09123456789", "0412345678", "0212345678", "84912345678", "+840912345678", "01234567890",
])
def test_phone_refuses_numbers_nobody_has(number):
    assert refusal(field("p", "Điện thoại", "phone", True), number) == ["Not a Vietnamese phone number."]


@pytest.mark.parametrize("kind", ["text", "number", "date", "citizen_id", "phone", "email"])
def test_required_fields_must_be_given_and_not_empty(kind):
    schema = form_schema([field("x", "X", kind, True)])()
    with pytest.raises(ValidationError) as missing:
        schema.load({})
    assert missing.value.messages == {"x": ["This field is required."]}
    with pytest.raises(ValidationError) as null:
        schema.load({"x": None})
    assert null.value.messages == {"x": ["This field is required."]}
    if kind in ("text", "citizen_id", "phone"):
        assert refusal(field("x", "X", kind, True), "")


def test_optional_fields_may_be_left_out_or_null():
    schema = form_schema([field("x", "X", "phone", False), field("y", "Y", "number", False)])()
    assert schema.load({}) == {}
    assert schema.dump(schema.load({"x": None})) == {"x": None}


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as caught:
        form_schema([field("x", "X", "text", False)])().load({"x": "a", "extra": "b"})
    assert caught.value.messages == {"extra": ["Unknown field."]}


def test_a_field_named_like_a_schema_method_still_works():
    schema = form_schema([field("load", "X", "text", True), field("validate", "Y", "number", True)])()
    assert schema.dump(schema.load({"load": "a", "validate": "2"})) == {"load": "a", "validate": "2"}


def test_load_form_gives_json_values_or_problems_under_form():
    fields = birth_registration()["form_fields"]
    form, problems = load_form(fields, dict(good_form(), copies=2, contact_phone="+84 912 345 678"))
    assert problems == {}
    assert form == dict(good_form(), copies="2", contact_phone="+84912345678")
    _, problems = load_form(fields, dict(good_form(), child_sex="X", declarant_citizen_id="12"))
    assert set(problems) == {"form.child_sex", "form.declarant_citizen_id"}


def test_the_applicants_phone_and_email_are_checked_too():
    applicant, problems = load_applicant({"full_name": "Trần Thị Bình", "phone": "0912.345.678", "email": None})
    assert (applicant, problems) == ({"full_name": "Trần Thị Bình", "phone": "0912345678", "email": None}, {})
    _, problems = load_applicant({"full_name": "", "phone": "12345", "email": "x"})
    assert problems == {"applicant.full_name": ["This field is required."],
                        "applicant.phone": ["Not a Vietnamese phone number."],
                        "applicant.email": ["Not a valid e-mail address."]}
