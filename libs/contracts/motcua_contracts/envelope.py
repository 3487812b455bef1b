from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema


class EnvelopeSchema(StrictSchema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True)
    dossier_code = fields.String(load_default=None, allow_none=True)
    correlation_id = fields.String(required=True)
    data = fields.Dict(required=True)
