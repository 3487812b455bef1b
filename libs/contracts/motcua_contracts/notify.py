"""Notify shapes: the `notification_failed` event and the per-dossier notification log."""
from marshmallow import fields, validate

from motcua_contracts.base import StrictSchema
from motcua_contracts.common import DOSSIER_CODE

NOTIFY_CHANNELS = ("sms", "email")
NOTIFICATION_STATUSES = ("queued", "held", "sending", "sent", "delivered", "failed", "undeliverable")


class NotificationFailedSchema(StrictSchema):
    """notify.events / notification_failed: retries ran out; the citizen was not reached on this channel.

    A pickup's notice before the handover has no dossier code yet: `dossier_code` is None and
    `pickup_id` says which pickup it was about.
    """

    notification_id = fields.UUID(required=True)
    dossier_code = fields.String(required=True, allow_none=True, validate=DOSSIER_CODE)
    pickup_id = fields.UUID(load_default=None, allow_none=True)
    channel = fields.String(required=True, validate=validate.OneOf(NOTIFY_CHANNELS))
    template_id = fields.String(required=True)
    attempts = fields.Integer(required=True, validate=validate.Range(min=0))
    error = fields.String(required=True)


class NotificationLogEntrySchema(StrictSchema):
    """One notification as `notify.notification_log` lists it: no address, no body."""

    notification_id = fields.UUID(required=True)
    template_id = fields.String(required=True)
    template_version = fields.Integer(required=True)
    template_title = fields.String(load_default=None, allow_none=True)  # the citizen's words for it
    channel = fields.String(required=True, validate=validate.OneOf(NOTIFY_CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(NOTIFICATION_STATUSES))
    attempts = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    not_before = fields.AwareDateTime(required=True)
    sent_at = fields.AwareDateTime(load_default=None, allow_none=True)
    updated_at = fields.AwareDateTime(required=True)
    last_error = fields.String(load_default=None, allow_none=True)
