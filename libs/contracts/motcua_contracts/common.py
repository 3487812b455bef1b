"""Value shapes shared by several messages."""
from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema

STATES = (
    "submitted", "received", "refused", "in_progress", "awaiting_supplement",
    "awaiting_payment", "withdrawn", "stopped", "completed", "returned",
)
CHANNELS = ("counter", "online", "postal")
RETURN_METHODS = ("counter", "postal", "online")
ACTOR_KINDS = ("citizen", "official", "department_system", "carrier", "scheduler", "system")

AGENCY_CODE = validate.Regexp(r"^[0-9]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}$", error="Not a QCVN 102 agency code.")
DOSSIER_CODE = validate.Regexp(
    r"^[0-9]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4,}$", error="Not a dossier code."
)


class ActorSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(ACTOR_KINDS))
    id = fields.String(load_default=None, allow_none=True)
    agency_code = fields.String(load_default=None, allow_none=True)


class AttachmentRefSchema(StrictSchema):
    attachment_id = fields.String(required=True)
    document_code = fields.String(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class ApplicantSchema(StrictSchema):
    full_name = fields.String(required=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
