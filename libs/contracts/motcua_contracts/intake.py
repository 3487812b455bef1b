"""Intake shapes: submitting a dossier, its receipt, `dossier_submitted`, and the filed dossier for the desk."""
from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema
from motcua_contracts.catalog import WorkflowStepSchema
from motcua_contracts.common import (
    AGENCY_CODE, CHANNELS, DOSSIER_CODE, RETURN_METHODS, ApplicantSchema, AttachmentRefSchema,
)
from motcua_contracts.notify import NOTIFY_CHANNELS
from motcua_contracts.postal import AddressSchema

NOTIFY_LANGUAGES = ("vi", "en")


class NotificationPreferencesSchema(StrictSchema):
    """How the citizen wants to hear about the dossier; legally required notices (01-04) ignore opt-out."""

    channels = fields.List(fields.String(validate=validate.OneOf(NOTIFY_CHANNELS)), required=True,
                           validate=validate.Length(min=1))
    language = fields.String(load_default="vi", validate=validate.OneOf(NOTIFY_LANGUAGES))
    opted_out = fields.Boolean(load_default=False)


class AttachmentUploadSchema(StrictSchema):
    """An attachment as it crosses RPC from the gateway: bytes in base64."""

    document_code = fields.String(required=True)
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_base64 = fields.String(required=True)


class SubmitDossierSchema(StrictSchema):
    """The body of POST /api/v1/dossiers (JSON); multipart carries the same fields."""

    procedure_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    channel = fields.String(load_default="online", validate=validate.OneOf(CHANNELS))
    return_method = fields.String(load_default="counter", validate=validate.OneOf(RETURN_METHODS))
    applicant = fields.Nested(ApplicantSchema, required=True)
    form = fields.Dict(keys=fields.String(), required=True)
    attachments = fields.List(fields.Nested(AttachmentUploadSchema), load_default=list)
    notification_preferences = fields.Nested(NotificationPreferencesSchema, load_default=None, allow_none=True)
    # Required when return_method is postal: where the carrier delivers the result.
    delivery_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)


class ReceiptDocumentSchema(StrictSchema):
    document_code = fields.String(required=True)
    name = fields.String(required=True)
    filename = fields.String(load_default=None, allow_none=True)
    sha256 = fields.String(load_default=None, allow_none=True)


class ReceiptSchema(StrictSchema):
    """Template 01 of Circular 01/2018: receipt and appointment for returning the result."""

    template = fields.String(required=True)
    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    agency_name = fields.String(required=True)
    # The agency's địa danh, printed before the date; receipts stored earlier lack it (None: the date alone).
    place_name = fields.String(load_default=None, allow_none=True)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    procedure_version = fields.Integer(required=True)
    applicant_name = fields.String(required=True)
    channel = fields.String(required=True)
    return_method = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True)
    appointment_date = fields.Date(required=True)
    time_limit_working_days = fields.Decimal(required=True, as_string=True)
    documents = fields.List(fields.Nested(ReceiptDocumentSchema), required=True)
    fees_vnd = fields.Integer(load_default=None, allow_none=True)


class SubmitDossierResultSchema(StrictSchema):
    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    tracking_key = fields.String(required=True)
    state = fields.String(required=True)
    appointment_date = fields.Date(required=True)
    receipt = fields.Nested(ReceiptSchema, required=True)


class DossierFeeSchema(StrictSchema):
    """A fee of the procedure's schedule, with its amount for the dossier's channel (null: not confirmed)."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    amount_vnd = fields.Integer(load_default=None, allow_none=True)


class DossierSubmittedSchema(StrictSchema):
    """intake.events / dossier_submitted."""

    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    procedure_version = fields.Integer(required=True)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    return_method = fields.String(required=True, validate=validate.OneOf(RETURN_METHODS))
    submitted_at = fields.AwareDateTime(required=True)
    appointment_date = fields.Date(required=True)
    time_limit_working_days = fields.Decimal(required=True, as_string=True)
    cutoff_hour = fields.String(required=True)
    tracking_key_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    applicant = fields.Nested(ApplicantSchema, required=True)
    form = fields.Dict(keys=fields.String(), required=True)
    attachments = fields.List(fields.Nested(AttachmentRefSchema), required=True)
    fees_vnd = fields.Integer(load_default=None, allow_none=True)
    workflow = fields.List(fields.Nested(WorkflowStepSchema), load_default=list)
    fees = fields.List(fields.Nested(DossierFeeSchema), load_default=list)
    # None: the default preferences (every channel with an address, Vietnamese, not opted out).
    notification_preferences = fields.Nested(NotificationPreferencesSchema, load_default=None, allow_none=True)
    # Where the carrier delivers the result (return_method postal), for postal.
    delivery_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    # The pickup this dossier was collected by (channel postal), for postal and notify.
    pickup_id = fields.UUID(load_default=None, allow_none=True)


class SupplementSchema(StrictSchema):
    """The citizen's supplement: POST /api/v1/dossiers/{code}/supplements (attachments base64 over RPC)."""

    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    attachments = fields.List(fields.Nested(AttachmentUploadSchema), required=True,
                              validate=validate.Length(min=1))


class SupplementResultSchema(StrictSchema):
    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    supplement_id = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True)
    documents = fields.List(fields.Nested(ReceiptDocumentSchema), required=True)


class SupplementSubmittedSchema(StrictSchema):
    """intake.events / supplement_submitted: the citizen sent what the agency asked for."""

    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    supplement_id = fields.String(required=True)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    submitted_at = fields.AwareDateTime(required=True)
    note = fields.String(load_default=None, allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentRefSchema), required=True)


class DossierAttachmentSchema(StrictSchema):
    """A file the citizen filed, with the dossier or in a supplement, as intake lists it for the desk."""

    id = fields.String(required=True)
    document_code = fields.String(required=True)
    document_name = fields.String(required=True)  # as the dossier's pinned procedure version names it
    filename = fields.String(required=True)
    content_type = fields.String(required=True)  # detected from the bytes at intake, not from the name
    size_bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    supplement_id = fields.String(load_default=None, allow_none=True)  # null: filed with the dossier
    submitted_at = fields.AwareDateTime(required=True)


class FiledAnswerSchema(StrictSchema):
    """One answer of the dossier's form, under the label the pinned procedure version gives its field."""

    name = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True)  # the field's type (FIELD_TYPES), or "text" for one the form does not list
    value = fields.Raw(required=True, allow_none=True)


class FiledDossierSchema(StrictSchema):
    """What the citizen filed, as the officials' desk reads it: who, the form, where the result goes, the files."""

    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    applicant = fields.Nested(ApplicantSchema, required=True)
    form = fields.List(fields.Nested(FiledAnswerSchema), required=True)  # in the order of the procedure's form
    return_method = fields.String(required=True, validate=validate.OneOf(RETURN_METHODS))
    delivery_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    attachments = fields.List(fields.Nested(DossierAttachmentSchema), required=True)  # in the order filed


class AttachmentContentSchema(DossierAttachmentSchema):
    """One filed attachment with its bytes (base64 over RPC)."""

    content_base64 = fields.String(required=True)
