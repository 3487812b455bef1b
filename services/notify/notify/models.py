"""notify's tables: whom to tell about a dossier or a pickup, and every notification with its outcome."""
import sqlalchemy as sa

from motcua.db import UTCDateTime, service_metadata
from motcua.webhooks import seen_signature_table

metadata = service_metadata()


DOSSIER_CODE = sa.String(40)

# Filled from intake's dossier_submitted, the only place the contact arrives: the given name and
# the two addresses, nothing more of the applicant.
recipient = sa.Table(
    "recipient", metadata,
    sa.Column("dossier_code", DOSSIER_CODE, primary_key=True),
    sa.Column("given_name", sa.String(64), nullable=False),
    sa.Column("phone", sa.String(32)),
    sa.Column("email", sa.String(254)),
    sa.Column("preferences", sa.JSON, nullable=False),
    # SHA-256 of the dossier's tracking key: the citizen proves it to change the preferences.
    # Null for recipients stored before it was kept: their preferences cannot be changed.
    sa.Column("tracking_key_hash", sa.String(64)),
    sa.Column("procedure_name", sa.Text, nullable=False),
    sa.Column("agency_code", sa.String(20), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Filled from postal's pickup_booked: a pickup has no dossier code until the agency registers the
# handed-over package, so its notices are keyed by the pickup. `dossier_code` is set when intake's
# dossier_submitted names the pickup.
pickup_recipient = sa.Table(
    "pickup_recipient", metadata,
    sa.Column("pickup_id", sa.Uuid, primary_key=True),
    sa.Column("given_name", sa.String(64), nullable=False),
    sa.Column("phone", sa.String(32)),
    sa.Column("email", sa.String(254)),
    sa.Column("preferences", sa.JSON, nullable=False),
    sa.Column("procedure_name", sa.Text, nullable=False),
    sa.Column("agency_code", sa.String(20), nullable=False),
    sa.Column("dossier_code", DOSSIER_CODE),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# One row per (event, template, channel): the row is the durable send job and its log entry.
notification = sa.Table(
    "notification", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    # A pickup's notice carries pickup_id, and the dossier code once the handed-over dossier is registered.
    sa.Column("dossier_code", DOSSIER_CODE),
    sa.Column("pickup_id", sa.Uuid),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("event_occurred_at", UTCDateTime, nullable=False),  # for the event-to-send histogram
    # The correlation id of the event that queued it: the sender logs the send, and writes its failure's event,
    # under it, so the request's id finds the notice too. Null for rows queued before it was kept.
    sa.Column("correlation_id", sa.String(64)),
    sa.Column("template_id", sa.String(32), nullable=False),
    sa.Column("template_version", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("to_address", sa.String(254), nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("html", sa.Text),
    sa.Column("length", sa.Integer, nullable=False),
    sa.Column("segments", sa.Integer, nullable=False),
    sa.Column("encoding", sa.String(8), nullable=False),
    # queued, held (quiet hours), sending, sent, delivered, failed, undeliverable
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("provider_message_id", sa.String(128)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # When the row may next be sent: quiet hours, retry backoff, or the lease of a send in flight.
    sa.Column("not_before", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("event_id", "template_id", "channel"),  # de-duplication of redelivered events
    sa.Index(None, "status", "channel", "not_before"),  # the sender's due rows
    sa.Index(None, "dossier_code", "created_at"),  # the log per dossier
    sa.Index(None, "provider_message_id"),  # delivery receipts
    sa.Index(None, "pickup_id"),  # linking a pickup's notices to its dossier
    sa.CheckConstraint("dossier_code IS NOT NULL OR pickup_id IS NOT NULL", name="about"),
)

# Signatures of accepted delivery receipts, kept for the tolerance window: a replay is refused.
seen_signature = seen_signature_table(metadata)
