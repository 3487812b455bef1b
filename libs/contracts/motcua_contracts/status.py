"""Status shapes: lifecycle events, the citizen's public view, actions on a dossier."""
from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema
from motcua_contracts.common import ACTOR_KINDS, AGENCY_CODE, DOSSIER_CODE, RETURN_METHODS, STATES, ActorSchema
from motcua_contracts.postal import DeliverySummarySchema

ACTIONS = (
    "accept", "refuse", "assign", "transfer", "request_supplement", "receive_supplement",
    "request_payment", "record_payment", "complete", "stop", "return_result", "withdraw",
)


class DossierTransitionSchema(StrictSchema):
    """status.events / every lifecycle event (dossier_received, dossier_completed, ...)."""

    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    procedure_code = fields.String(required=True)
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS + ("register",)))
    from_state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATES))
    to_state = fields.String(required=True, validate=validate.OneOf(STATES))
    national_status_code = fields.Integer(required=True, validate=validate.Range(min=1, max=10))
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    channel = fields.String(required=True)
    actor = fields.Nested(ActorSchema, required=True)
    reason = fields.String(load_default=None, allow_none=True)
    appointment_date = fields.Date(required=True)
    to_agency_code = fields.String(load_default=None, allow_none=True, validate=AGENCY_CODE)
    assignee = fields.String(load_default=None, allow_none=True)
    missing_items = fields.List(fields.String(), load_default=None, allow_none=True)
    fee_vnd = fields.Integer(load_default=None, allow_none=True)
    # How the result goes back (counter, postal, online): postal orders a delivery on completion.
    return_method = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RETURN_METHODS))


class DossierActionSchema(StrictSchema):
    """A command on a dossier (desk, department system, citizen), with its idempotency key."""

    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    idempotency_key = fields.String(required=True, validate=validate.Length(min=8, max=128))
    actor = fields.Nested(ActorSchema, required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    to_agency_code = fields.String(load_default=None, allow_none=True, validate=AGENCY_CODE)
    assignee = fields.String(load_default=None, allow_none=True)
    missing_items = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None, allow_none=True)
    fee_vnd = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    expected_version = fields.Integer(load_default=None, allow_none=True)


class HistoryEntrySchema(StrictSchema):
    at = fields.AwareDateTime(required=True)
    action = fields.String(required=True)
    from_state = fields.String(load_default=None, allow_none=True)
    to_state = fields.String(required=True)
    agency_code = fields.String(required=True)
    actor_kind = fields.String(required=True, validate=validate.OneOf(ACTOR_KINDS))
    reason = fields.String(load_default=None, allow_none=True)


class PublicDossierViewSchema(StrictSchema):
    """What the citizen sees with the code and the tracking key, and nothing more."""

    dossier_code = fields.String(required=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    national_status_code = fields.Integer(required=True)
    holder_agency_code = fields.String(required=True)
    channel = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)
    appointment_date = fields.Date(required=True)
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    return_method = fields.String(load_default=None, allow_none=True)
    # The result's journey by post, once a delivery was ordered: its waybill and where it is.
    delivery = fields.Nested(DeliverySummarySchema, load_default=None, allow_none=True)


class ActionOutcomeSchema(StrictSchema):
    dossier_code = fields.String(required=True)
    state = fields.String(required=True)
    version = fields.Integer(required=True)
    appointment_date = fields.Date(required=True)
