"""Catalogue shapes: what `catalog` serves over RPC and HTTP and announces in events."""
from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema
from motcua_contracts.common import AGENCY_CODE, CHANNELS, RETURN_METHODS

FIELD_TYPES = ("text", "number", "date", "choice", "citizen_id", "phone", "email")
FILE_TYPES = ("pdf", "jpg", "png", "docx", "xml")


class AgencySchema(StrictSchema):
    code = fields.String(required=True, validate=AGENCY_CODE)
    name = fields.String(required=True)
    level = fields.String(required=True)
    parent_code = fields.String(load_default=None, allow_none=True)
    # Địa danh written before the date on its papers ("Vĩnh Bảo, ngày ..."); versions published earlier lack it.
    place_name = fields.String(load_default=None, allow_none=True)


class FieldOfWorkSchema(StrictSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class TimeLimitSchema(StrictSchema):
    working_days = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0))
    confirmed = fields.Boolean(required=True)
    note = fields.String(load_default=None, allow_none=True)


class FeeSchema(StrictSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    amount_vnd = fields.Integer(load_default=None, allow_none=True)
    unit = fields.String(load_default=None, allow_none=True)
    online_amount_vnd = fields.Integer(load_default=None, allow_none=True)
    confirmed = fields.Boolean(required=True)
    note = fields.String(load_default=None, allow_none=True)


class RequiredDocumentSchema(StrictSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    mandatory = fields.Boolean(required=True)
    accepted_types = fields.List(fields.String(validate=validate.OneOf(FILE_TYPES)), required=True)
    max_size_mb = fields.Float(load_default=None, allow_none=True)


class FormFieldSchema(StrictSchema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = fields.Boolean(required=True)
    choices = fields.List(fields.String(), load_default=None, allow_none=True)
    max_length = fields.Integer(load_default=None, allow_none=True)
    min = fields.Float(load_default=None, allow_none=True)
    max = fields.Float(load_default=None, allow_none=True)


class ServiceLevelSchema(StrictSchema):
    legacy = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=4))
    online = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("toan_trinh", "mot_phan")))


class WorkflowStepSchema(StrictSchema):
    agency = fields.String(required=True, validate=AGENCY_CODE)
    role = fields.String(required=True, validate=validate.OneOf(("receptionist", "handler", "approver")))
    working_days = fields.Decimal(required=True, as_string=True)


class ProcedureVersionSchema(StrictSchema):
    """One version of a procedure: a dossier is pinned to the version it was filed under."""

    procedure_code = fields.String(required=True)
    name = fields.String(required=True)
    field = fields.Nested(FieldOfWorkSchema, required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("draft", "published", "withdrawn")))
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    agency = fields.Nested(AgencySchema, required=True)
    # None only for a draft or withdrawn version whose sources state no limit (a published one has one).
    time_limit = fields.Nested(TimeLimitSchema, required=True, allow_none=True)
    cutoff_hour = fields.String(required=True, validate=validate.Regexp(r"^[0-2][0-9]:[0-5][0-9]$"))
    fees = fields.List(fields.Nested(FeeSchema), required=True)
    documents = fields.List(fields.Nested(RequiredDocumentSchema), required=True)
    form_fields = fields.List(fields.Nested(FormFieldSchema), required=True)
    service_level = fields.Nested(ServiceLevelSchema, required=True)
    channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), required=True)
    return_methods = fields.List(fields.String(validate=validate.OneOf(RETURN_METHODS)), required=True)
    legal_basis = fields.List(fields.String(), required=True)
    sources = fields.List(fields.String(), required=True)
    unconfirmed = fields.List(fields.String(), required=True)
    workflow = fields.List(fields.Nested(WorkflowStepSchema), required=True)
    note = fields.String(load_default=None, allow_none=True)  # why values are unconfirmed, caveats
    withdrawn_by = fields.String(load_default=None, allow_none=True)  # the repealing decision, once withdrawn


class ProcedureSummarySchema(StrictSchema):
    procedure_code = fields.String(required=True)
    name = fields.String(required=True)
    field = fields.Nested(FieldOfWorkSchema, required=True)
    agency = fields.Nested(AgencySchema, required=True)
    version = fields.Integer(required=True)
    time_limit_working_days = fields.Decimal(required=True, as_string=True)
    service_level = fields.Nested(ServiceLevelSchema, required=True)
    channels = fields.List(fields.String(), required=True)


class ProcedureSearchSchema(StrictSchema):
    """Query parameters of the catalogue search."""

    q = fields.String(load_default=None, validate=validate.Length(max=200))
    agency = fields.String(load_default=None)
    field = fields.String(load_default=None)
    level = fields.String(load_default=None, validate=validate.OneOf(("1", "2", "3", "4", "toan_trinh", "mot_phan")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ProcedurePageSchema(StrictSchema):
    items = fields.List(fields.Nested(ProcedureSummarySchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class ProcedurePublishedSchema(StrictSchema):
    """catalog.events / procedure_published: the whole definition, so consumers need no RPC."""

    procedure = fields.Nested(ProcedureVersionSchema, required=True)
