"""The citizen's form and contact details, checked against a procedure version's field list.

Messages are plain English: the gateway shows them next to the Vietnamese labels that come
from the catalogue.

Phone numbers and e-mail addresses follow the contract's one set of contact rules
(`motcua_contracts.common`).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from motcua.errors import marshmallow_fields
from motcua_contracts.common import ApplicantSchema, email_field, phone_field

CITIZEN_ID = r"^[0-9]{12}\Z"  # [0-9], not \d: \d also matches Arabic-Indic and other digits
MAX_TEXT_LENGTH = 2000  # a text field the catalogue gives no length still has one
REQUIRED = {"required": "This field is required.", "null": "This field is required."}


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
        longest = spec.get("max_length") or MAX_TEXT_LENGTH
        limit = [validate.Length(max=longest, error="At most {max} characters.")]
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


def load_applicant(applicant: dict) -> tuple[dict, dict[str, list[str]]]:
    """(the applicant with a normalised phone, problems keyed "applicant.<name>").

    The contract only says these are strings; notify will text and mail them, so check them here.
    """
    schema = ApplicantSchema()
    try:
        return schema.dump(schema.load(applicant)), {}
    except ValidationError as exc:
        return {}, marshmallow_fields({"applicant": exc.messages})
