import functools
import re

from marshmallow import RAISE, Schema, ValidationError, pre_load

# C0 and C1 control characters but tab, line feed and carriage return (free text keeps its lines), and lone
# surrogates (JSON can spell them; no database stores them): never text a citizen or a system means to send.
# Written with \u escapes, which Python's and ECMAScript's regular expressions read alike: the documents
# (OpenAPI, AsyncAPI) state TEXT_PATTERN on every string, the schemas enforce CONTROL_CHARACTERS.
CONTROL_CHARACTER_RANGES = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
CONTROL_CHARACTERS = re.compile(f"[{CONTROL_CHARACTER_RANGES}\\ud800-\\udfff]")
TEXT_PATTERN = f"^[^{CONTROL_CHARACTER_RANGES}]*$"
CONTROL_CHARACTERS_MESSAGE = "Must not contain control characters."


def control_character_errors(value: object) -> dict | list | None:
    """marshmallow-shaped messages for every string (and every key) in `value` holding a control character."""
    if isinstance(value, str):
        return [CONTROL_CHARACTERS_MESSAGE] if CONTROL_CHARACTERS.search(value) else None
    if isinstance(value, dict):
        errors: dict = {}
        for key, inner in value.items():
            if isinstance(key, str) and CONTROL_CHARACTERS.search(key):
                errors.setdefault("_schema", []).append("A field name must not contain control characters.")
            elif (found := control_character_errors(inner)) is not None:
                errors[key] = found
        return errors or None
    if isinstance(value, (list, tuple)):
        errors = {index: found for index, inner in enumerate(value)
                  if (found := control_character_errors(inner)) is not None}
        return errors or None
    return None


class StrictSchema(Schema):
    """Unknown fields are refused on input, never silently dropped; so is text with control characters."""

    class Meta:
        unknown = RAISE

    @pre_load(pass_collection=True)
    def refuse_control_characters(self, data, **kwargs):
        if (errors := control_character_errors(data)) is not None:
            raise ValidationError(errors if isinstance(errors, dict) else {"_schema": errors})
        return data


@functools.cache
def shared(schema_class: type[Schema], **options) -> Schema:
    """One instance per schema class and options, built on first use and then reused: building a schema
    deep-copies its declared fields, which cost more than loading a dossier with it, and an instance keeps
    no state from one load or dump to the next."""
    return schema_class(**options)
