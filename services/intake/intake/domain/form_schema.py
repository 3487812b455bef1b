"""The citizen's form and contact details, checked against a procedure version's field list.

Messages are plain English: the gateway shows them next to the Vietnamese labels that come
from the catalogue.

Phone numbers: `^(?:0|\\+84)(?:2[0-9]{9}|[35789][0-9]{8})$`. Since the 2017-2018 renumbering a
Vietnamese number after the trunk 0 (or +84) is either a landline, 2 + area code + subscriber,
10 digits (Hai Phong 0225 xxx xxxx, Ha Noi 024 xxxx xxxx), or a mobile, 9 digits starting 3, 5,
7, 8 or 9. The looser `^(0|\\+84)[1-9][0-9]{8,9}$` also accepts the retired 11-digit 01xx
mobiles and numbers under 04/06/1x that belong to nobody, so an SMS would go nowhere. Spaces,
dots, dashes and brackets people type are dropped before the check.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from motcua.errors import marshmallow_fields

PHONE = r"^(?:0|\+84)(?:2[0-9]{9}|[35789][0-9]{8})\Z"
CITIZEN_ID = r"^[0-9]{12}\Z"  # [0-9], not \d: \d also matches Arabic-Indic and other digits
REQUIRED = {"required": "This field is required.", "null": "This field is required."}


class Phone(fields.String):
    """A Vietnamese phone number, stored without the separators people type."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return re.sub(r"[\s.\-()]", "", super()._deserialize(value, attr, data, **kwargs))


def phone_field(**kwargs: Any) -> Phone:
    return Phone(validate=validate.Regexp(PHONE, error="Not a Vietnamese phone number."), **kwargs)


def email_field(messages: dict | None = None, **kwargs: Any) -> fields.Email:
    return fields.Email(error_messages={"invalid": "Not a valid e-mail address.", **(messages or {})}, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _bound(value: float | None) -> Decimal | None:
    # Through str: Decimal(0.1) is 0.1000000000000000055..., which would refuse an input of 0.1.
    return None if value is None else Decimal(str(value))


def _field(spec: dict) -> fields.Field:
    kind, required = spec["type"], spec["required"]
    options: dict[str, Any] = {"data_key": spec["name"], "required": required, "allow_none": not required}
    messages = REQUIRED if required else {}
    non_empty = [validate.Length(min=1, error="This field is required.")] if required else []
    if kind == "text":
        longest = spec.get("max_length")
        limit = [validate.Length(max=longest, error="At most {max} characters.")] if longest else []
        return fields.String(validate=non_empty + limit, error_messages=messages, **options)
    if kind == "number":
        within = validate.Range(_bound(spec.get("min")), _bound(spec.get("max")))
        return fields.Decimal(as_string=True, validate=within, error_messages=messages, **options)
    if kind == "date":
        return fields.Date(error_messages={"invalid": "Not a valid date (YYYY-MM-DD).", **messages}, **options)
    if kind == "choice":
        one_of = validate.OneOf(spec.get("choices") or [], error="Must be one of: {choices}.")
        return fields.String(validate=one_of, error_messages=messages, **options)
    if kind == "citizen_id":
        twelve = validate.Regexp(CITIZEN_ID, error="A citizen ID number has exactly 12 digits.")
        return fields.String(validate=twelve, error_messages=messages, **options)
    if kind == "phone":
        return phone_field(error_messages=messages, **options)
    if kind == "email":
        return email_field(messages, **options)
    raise ValueError(f"unknown form field type {kind!r}")


def form_schema(form_fields: list[dict]) -> type[Schema]:
    """A Schema class for one procedure version's form (unknown fields refused).

    Attributes are positional (`f0`, `f1`...) and the catalogue's names are data keys, so a
    field named like a Schema method ("load", "validate") cannot shadow it.
    """
    return _Strict.from_dict({f"f{i}": _field(spec) for i, spec in enumerate(form_fields)}, name="FormSchema")


def load_form(form_fields: list[dict], form: dict) -> tuple[dict, dict[str, list[str]]]:
    """(the form as JSON values, problems keyed "form.<name>")."""
    schema = form_schema(form_fields)()
    try:
        return schema.dump(schema.load(form)), {}
    except ValidationError as exc:
        return {}, marshmallow_fields({"form": exc.messages})


class _ApplicantSchema(_Strict):
    full_name = fields.String(required=True, validate=[validate.Length(min=1, error="This field is required."),
                                                       validate.Length(max=200, error="At most {max} characters.")])
    phone = phone_field(load_default=None, allow_none=True)
    email = email_field(load_default=None, allow_none=True)


def load_applicant(applicant: dict) -> tuple[dict, dict[str, list[str]]]:
    """(the applicant with a normalised phone, problems keyed "applicant.<name>").

    The contract only says these are strings; notify will text and mail them, so check them here.
    """
    schema = _ApplicantSchema()
    try:
        return schema.dump(schema.load(applicant)), {}
    except ValidationError as exc:
        return {}, marshmallow_fields({"applicant": exc.messages})
