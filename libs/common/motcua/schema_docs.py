"""What apispec's marshmallow converter needs to describe our contract schemas truthfully,
shared by the OpenAPI (gateway) and AsyncAPI (motcua.asyncapi) documents."""
from typing import Any

from marshmallow import fields

from motcua_contracts.base import TEXT_PATTERN


def decimal_as_string(self, field: fields.Field, ret: dict, **kwargs: Any) -> dict:
    """Decimals with `as_string` travel as strings ("1.5", exact): say so, and drop numeric bounds.

    An apispec attribute function: `plugin.converter.add_attribute_function(decimal_as_string)`.
    """
    if isinstance(field, fields.Decimal) and field.as_string:
        ret.pop("minimum", None)
        ret.pop("maximum", None)
        return {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    return {}


def text_without_control_characters(self, field: fields.Field, ret: dict, **kwargs: Any) -> dict:
    """Every string the contract schemas take refuses control characters (motcua_contracts.base): say so on
    each text that states no pattern of its own (those are narrower still).

    An apispec attribute function, added after `decimal_as_string`."""
    if ret.get("type") in ("string", ["string", "null"]) and "pattern" not in ret and "format" not in ret:
        return {"pattern": TEXT_PATTERN}
    return {}
