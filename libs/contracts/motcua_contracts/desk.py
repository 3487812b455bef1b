"""The officials' desk: who is acting, what they may see, and what they may do.

The gateway verifies the official's signed token and passes its claims as `OfficialSchema`
with every desk call; status applies the permission rules in its queries.
"""
from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema
from motcua_contracts.common import AGENCY_CODE, CHANNELS, DOSSIER_CODE, STATES, ActorSchema
from motcua_contracts.postal import DeliverySummarySchema
from motcua_contracts.status import ACTIONS

ROLES = ("receptionist", "handler", "approver", "city_admin")
DESK_ACTIONS = tuple(a for a in ACTIONS if a not in ("receive_supplement",))


class OfficialSchema(StrictSchema):
    """The verified claims of an official's token."""

    subject = fields.String(required=True, validate=validate.Length(min=1, max=128))
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                        validate=validate.Length(min=1))
    token_id = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)


class DeskQuerySchema(StrictSchema):
    """Filters of GET /api/v1/desk/dossiers; results are sorted by due date."""

    state = fields.List(fields.String(validate=validate.OneOf(STATES)), load_default=None)
    procedure = fields.String(load_default=None)
    assignee = fields.String(load_default=None)
    due_before = fields.Date(load_default=None)
    overdue = fields.Boolean(load_default=None)
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DeskDossierSchema(StrictSchema):
    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    national_status_code = fields.Integer(required=True)
    agency_code = fields.String(required=True)
    holder_agency_code = fields.String(required=True)
    assignee = fields.String(load_default=None, allow_none=True)
    channel = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)
    received_at = fields.AwareDateTime(load_default=None, allow_none=True)
    appointment_date = fields.Date(required=True)
    step = fields.Integer(load_default=None, allow_none=True)
    step_role = fields.String(load_default=None, allow_none=True)
    step_due_date = fields.Date(load_default=None, allow_none=True)
    warning = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("due_soon", "overdue")))
    overdue = fields.Boolean(required=True)
    version = fields.Integer(required=True)


class DeskPageSchema(StrictSchema):
    items = fields.List(fields.Nested(DeskDossierSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class DeskHistoryEntrySchema(StrictSchema):
    at = fields.AwareDateTime(required=True)
    action = fields.String(required=True)
    from_state = fields.String(load_default=None, allow_none=True)
    to_state = fields.String(required=True)
    agency_code = fields.String(required=True)
    actor = fields.Nested(ActorSchema, required=True)
    reason = fields.String(load_default=None, allow_none=True)
    details = fields.Dict(load_default=None, allow_none=True)


class ApologySchema(StrictSchema):
    """Template 04 of Circular 01/2018: the agency's apology with a new appointment date."""

    template = fields.String(required=True)
    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    issued_at = fields.AwareDateTime(required=True)
    original_appointment_date = fields.Date(required=True)
    new_appointment_date = fields.Date(required=True)
    reason = fields.String(required=True)


class DeskDossierDetailSchema(DeskDossierSchema):
    history = fields.List(fields.Nested(DeskHistoryEntrySchema), required=True)
    # What the official asking may do now (role, holding agency, state): the desk offers exactly these.
    available_actions = fields.List(fields.String(validate=validate.OneOf(DESK_ACTIONS)), load_default=list)
    apologies = fields.List(fields.Nested(ApologySchema), required=True)
    paused_working_days = fields.Integer(required=True)
    return_method = fields.String(load_default=None, allow_none=True)
    # The result's journey by post, once a delivery was ordered (as on the citizen's view).
    delivery = fields.Nested(DeliverySummarySchema, load_default=None, allow_none=True)


class ResultDocumentSchema(StrictSchema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_base64 = fields.String(required=True)


class DeskActionSchema(StrictSchema):
    """The body of POST /api/v1/desk/dossiers/{code}/actions (the key is the Idempotency-Key header)."""

    action = fields.String(required=True, validate=validate.OneOf(DESK_ACTIONS))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    to_agency_code = fields.String(load_default=None, allow_none=True, validate=AGENCY_CODE)
    assignee = fields.String(load_default=None, allow_none=True)
    missing_items = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None,
                                allow_none=True)
    fee_vnd = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    expected_version = fields.Integer(load_default=None, allow_none=True)
    result_document = fields.Nested(ResultDocumentSchema, load_default=None, allow_none=True)


class DossierOverdueSchema(StrictSchema):
    """status.events / dossier_overdue: the appointment passed; an apology with a new date was issued."""

    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    procedure_code = fields.String(required=True)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    original_appointment_date = fields.Date(required=True)
    new_appointment_date = fields.Date(required=True)
    reason = fields.String(required=True)


class TokenRevokedSchema(StrictSchema):
    token_id = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)
