"""postal's tables: pickups, deliveries and what to deliver, every carrier event, booking retries."""
import sqlalchemy as sa

from motcua.db import UTCDateTime, service_metadata
from motcua.webhooks import seen_signature_table

metadata = service_metadata()

DOSSIER_CODE = sa.String(40)
AGENCY_CODE = sa.String(20)
WAYBILL = sa.String(64)

pickup = sa.Table(
    "pickup", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # the carrier order's client_reference
    sa.Column("waybill", WAYBILL, nullable=False, unique=True),
    sa.Column("carrier", sa.String(100), nullable=False),
    # booked, collected, collection_failed, handed_over, registered
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("procedure_code", sa.String(64), nullable=False),
    sa.Column("procedure_version", sa.Integer, nullable=False),
    sa.Column("procedure_name", sa.Text, nullable=False),
    sa.Column("agency_code", AGENCY_CODE, nullable=False),
    sa.Column("agency_name", sa.Text, nullable=False),
    # Name, phone and e-mail: the carrier calls before it comes, intake registers the dossier under the name.
    sa.Column("applicant", sa.JSON, nullable=False),
    sa.Column("address", sa.JSON, nullable=False),
    sa.Column("return_method", sa.String(8), nullable=False),
    sa.Column("delivery_address", sa.JSON),  # only when the result goes back by post
    sa.Column("window_start", UTCDateTime, nullable=False),
    sa.Column("window_end", UTCDateTime, nullable=False),
    sa.Column("quoted_fee_vnd", sa.Integer, nullable=False),
    sa.Column("agency_fees_vnd", sa.Integer),
    sa.Column("note", sa.Text),
    sa.Column("checklist", sa.JSON, nullable=False),  # ChecklistItemSchema items; present ticked at collection
    sa.Column("fees_collected_vnd", sa.Integer),
    sa.Column("seal_number", sa.String(64)),
    sa.Column("carrier_staff", sa.String(200)),
    sa.Column("received_by", sa.String(200)),
    sa.Column("tracking_key_hash", sa.String(64), nullable=False),
    sa.Column("booked_at", UTCDateTime, nullable=False),
    sa.Column("collected_at", UTCDateTime),
    sa.Column("handed_over_at", UTCDateTime),
    sa.Column("registered_at", UTCDateTime),
    sa.Column("failure_reason", sa.Text),
    sa.Column("dossier_code", DOSSIER_CODE, unique=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# A booking's Idempotency-Key (as its SHA-256): the first answer, and the salt its tracking key derives from.
booking_key = sa.Table(
    "booking_key", metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("pickup_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("response", sa.JSON, nullable=False),  # BookPickupResultSchema dump without the tracking key
    sa.Column("tracking_key_salt", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# From intake's dossier_submitted when the result goes back by post: whom and where, nothing more.
delivery_request = sa.Table(
    "delivery_request", metadata,
    sa.Column("dossier_code", DOSSIER_CODE, primary_key=True),
    sa.Column("agency_code", AGENCY_CODE, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(32)),
    sa.Column("address", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

delivery = sa.Table(
    "delivery", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # uuid5 of the dossier code: the carrier order's client_reference
    sa.Column("dossier_code", DOSSIER_CODE, nullable=False, unique=True),
    sa.Column("agency_code", AGENCY_CODE, nullable=False),
    sa.Column("waybill", WAYBILL, nullable=False, unique=True),
    sa.Column("carrier", sa.String(100), nullable=False),
    # ordered, picked_up, out_for_delivery, attempt_failed, delivered, returned_to_sender
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text),  # the last failed attempt's
    sa.Column("recipient_name", sa.String(200)),  # proof of delivery
    sa.Column("completed_at", UTCDateTime, nullable=False),  # status's dossier_completed: for completion-to-delivery
    sa.Column("ordered_at", UTCDateTime, nullable=False),
    sa.Column("state_at", UTCDateTime, nullable=False),  # when the carrier reported the current state
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Every carrier callback accepted, applied or not (an out-of-order one is kept, it moves nothing).
carrier_event = sa.Table(
    "carrier_event", metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),  # the carrier's: a duplicate changes nothing
    sa.Column("waybill", WAYBILL, nullable=False),
    sa.Column("order_kind", sa.String(8), nullable=False),
    sa.Column("event", sa.String(24), nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("applied", sa.Boolean, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),  # the callback as the carrier sent it
    sa.Index(None, "waybill", "occurred_at"),
)

# Signatures of accepted carrier callbacks, kept for the tolerance window: a replay is refused.
seen_signature = seen_signature_table(metadata)
