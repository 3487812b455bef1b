"""Postal shapes (Decision 45/2016/QD-TTg): booking a pickup, the pickup and delivery events, the carrier's API.

A pickup collects a paper dossier at the citizen's address and hands it to the agency;
the dossier gets its code only at that handover (intake registers it with channel
`postal`). A delivery carries a completed dossier's result to the citizen's door.

The carrier's HTTP API (`CarrierOrderSchema`, `CarrierCallbackSchema`) is this project's
own: `postal.carrier.HttpCarrier` speaks it, the carrier simulator serves it, and a city
whose postal operator speaks another API writes another adapter behind `postal.carrier.Carrier`.
"""
from marshmallow import ValidationError, fields, validate, validates_schema

from motcua_contracts.base import StrictSchema
from motcua_contracts.common import AGENCY_CODE, DOSSIER_CODE, RETURN_METHODS, ApplicantSchema, phone_field

PICKUP_STATES = ("booked", "collected", "handed_over", "registered", "collection_failed", "cancelled")
DELIVERY_STATES = ("ordered", "picked_up", "out_for_delivery", "attempt_failed", "delivered", "returned_to_sender")
# What a carrier's callback may report, for a pickup order and for a delivery order.
PICKUP_CARRIER_EVENTS = ("collected", "collection_failed", "handed_over")
DELIVERY_CARRIER_EVENTS = ("picked_up", "out_for_delivery", "attempt_failed", "delivered", "returned_to_sender")
CARRIER_EVENTS = PICKUP_CARRIER_EVENTS + DELIVERY_CARRIER_EVENTS
ORDER_KINDS = ("pickup", "delivery")


class AddressSchema(StrictSchema):
    """A Vietnamese postal address after the 2025 reform: province, commune, then the street line."""

    province = fields.String(required=True, validate=validate.Length(min=2, max=100))
    commune = fields.String(required=True, validate=validate.Length(min=2, max=100))
    street = fields.String(required=True, validate=validate.Length(min=2, max=200))


class TimeWindowSchema(StrictSchema):
    """When the citizen will be at the address (aware datetimes; at most one day long)."""

    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True, metadata={"description": "After `start`, at most a day later."})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["end"] <= data["start"]:
            raise ValidationError("The window must end after it starts.", "end")
        if (data["end"] - data["start"]).total_seconds() > 24 * 3600:
            raise ValidationError("The window can be at most one day long.", "end")


class PickupContactSchema(ApplicantSchema):
    """The applicant of a pickup: a phone is required, the carrier calls before it comes."""

    phone = phone_field(required=True)


class BookPickupSchema(StrictSchema):
    """POST /api/v1/pickups: the citizen asks the post office to collect the paper dossier."""

    procedure_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    applicant = fields.Nested(PickupContactSchema, required=True)
    address = fields.Nested(AddressSchema, required=True)
    window = fields.Nested(TimeWindowSchema, required=True)
    # The fee the citizen was quoted (GET /api/v1/pickups/quote); a stale quote is refused.
    quoted_fee_vnd = fields.Integer(required=True, validate=validate.Range(min=0))
    return_method = fields.String(load_default="counter", validate=validate.OneOf(RETURN_METHODS))
    # Where the result goes when return_method is postal; the pickup address when omitted.
    delivery_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class PickupQuoteSchema(StrictSchema):
    procedure_code = fields.String(required=True)
    province = fields.String(required=True)
    fee_vnd = fields.Integer(required=True)
    # The agency's own fees the carrier collects on its behalf, when the catalogue states them unambiguously.
    agency_fees_vnd = fields.Integer(load_default=None, allow_none=True)


class ChecklistItemSchema(StrictSchema):
    """One required document of the procedure, and whether the carrier found it in the package."""

    document_code = fields.String(required=True)
    name = fields.String(required=True)
    required = fields.Boolean(required=True)
    present = fields.Boolean(load_default=None, allow_none=True)  # None until collected


class PickupViewSchema(StrictSchema):
    """A pickup as its citizen sees it (with the tracking key) and as postal's RPCs return it."""

    pickup_id = fields.UUID(required=True)
    waybill = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(PICKUP_STATES))
    procedure_code = fields.String(required=True)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    window = fields.Nested(TimeWindowSchema, required=True)
    quoted_fee_vnd = fields.Integer(required=True)
    return_method = fields.String(required=True, validate=validate.OneOf(RETURN_METHODS))
    checklist = fields.List(fields.Nested(ChecklistItemSchema), required=True)
    fees_collected_vnd = fields.Integer(load_default=None, allow_none=True)
    booked_at = fields.AwareDateTime(required=True)
    collected_at = fields.AwareDateTime(load_default=None, allow_none=True)
    handed_over_at = fields.AwareDateTime(load_default=None, allow_none=True)
    dossier_code = fields.String(load_default=None, allow_none=True, validate=DOSSIER_CODE)
    failure_reason = fields.String(load_default=None, allow_none=True)


class BookPickupResultSchema(PickupViewSchema):
    """The booking's answer: the only time the tracking key is shown; it opens the dossier too, once registered."""

    tracking_key = fields.String(required=True)


# --- events on postal.events ------------------------------------------------------------------


class PickupEventSchema(StrictSchema):
    """postal.events / pickup_booked, pickup_collected, pickup_collection_failed.

    Before the handover there is no dossier code: notify keys these notices by pickup_id,
    and `applicant` (given name and addresses to reach the citizen) rides on pickup_booked only.
    """

    pickup_id = fields.UUID(required=True)
    waybill = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(PICKUP_STATES))
    procedure_code = fields.String(required=True)
    procedure_name = fields.String(required=True)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    at = fields.AwareDateTime(required=True)
    window = fields.Nested(TimeWindowSchema, required=True)
    applicant = fields.Nested(ApplicantSchema, load_default=None, allow_none=True)
    checklist = fields.List(fields.Nested(ChecklistItemSchema), load_default=list)
    fees_collected_vnd = fields.Integer(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True)


class HandoverRecordSchema(StrictSchema):
    """The signed handover record (biên bản bàn giao) between the carrier and the agency's counter."""

    received_by = fields.String(required=True)  # the one-stop officer who signed for the package
    carrier_staff = fields.String(required=True)
    seal_number = fields.String(required=True)
    handed_over_at = fields.AwareDateTime(required=True)


class PickupHandedOverSchema(StrictSchema):
    """postal.events / pickup_handed_over: intake registers the dossier (channel postal) from this."""

    pickup_id = fields.UUID(required=True)
    waybill = fields.String(required=True)
    procedure_code = fields.String(required=True)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    applicant = fields.Nested(ApplicantSchema, required=True)
    address = fields.Nested(AddressSchema, required=True)
    return_method = fields.String(required=True, validate=validate.OneOf(RETURN_METHODS))
    delivery_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    tracking_key_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    checklist = fields.List(fields.Nested(ChecklistItemSchema), required=True)
    fees_collected_vnd = fields.Integer(load_default=None, allow_none=True)
    handover = fields.Nested(HandoverRecordSchema, required=True)
    booked_at = fields.AwareDateTime(required=True)


class DeliveryEventSchema(StrictSchema):
    """postal.events / delivery_ordered, result_shipped, delivery_out_for_delivery,
    delivery_attempt_failed, result_delivered, result_returned_to_sender."""

    delivery_id = fields.UUID(required=True)
    dossier_code = fields.String(required=True, validate=DOSSIER_CODE)
    agency_code = fields.String(required=True, validate=AGENCY_CODE)
    waybill = fields.String(required=True)
    carrier = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATES))
    at = fields.AwareDateTime(required=True)
    attempts = fields.Integer(required=True, validate=validate.Range(min=0))
    max_attempts = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(load_default=None, allow_none=True)  # a failed attempt's reason
    recipient_name = fields.String(load_default=None, allow_none=True)  # proof of delivery


PICKUP_EVENTS = ("pickup_booked", "pickup_collected", "pickup_collection_failed")
DELIVERY_EVENTS = ("delivery_ordered", "result_shipped", "delivery_out_for_delivery", "delivery_attempt_failed",
                   "result_delivered", "result_returned_to_sender")


class DeliverySummarySchema(StrictSchema):
    """The delivery of the result on the citizen's public view of the dossier."""

    waybill = fields.String(required=True)
    carrier = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATES))
    attempts = fields.Integer(required=True)
    updated_at = fields.AwareDateTime(required=True)


# --- the carrier's HTTP API ---------------------------------------------------------------------


class CarrierPartySchema(StrictSchema):
    name = fields.String(required=True)
    phone = fields.String(load_default=None, allow_none=True)
    address = fields.Nested(AddressSchema, required=True)


class CarrierDocumentSchema(StrictSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    required = fields.Boolean(required=True)


class CarrierOrderSchema(StrictSchema):
    """POST {carrier}/v1/orders: a pickup (citizen -> agency) or a delivery (agency -> citizen).

    `client_reference` is our pickup or delivery id: the carrier answers a repeated order with
    the waybill it issued the first time, so an order retried after a lost answer is not doubled.
    """

    client_reference = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True, validate=validate.OneOf(ORDER_KINDS))
    sender = fields.Nested(CarrierPartySchema, required=True)
    recipient = fields.Nested(CarrierPartySchema, required=True)
    window = fields.Nested(TimeWindowSchema, load_default=None, allow_none=True)  # pickups
    documents = fields.List(fields.Nested(CarrierDocumentSchema), load_default=list)  # pickups: the checklist
    cash_on_delivery_vnd = fields.Integer(load_default=0, validate=validate.Range(min=0))
    max_attempts = fields.Integer(load_default=2, validate=validate.Range(min=1, max=10))
    callback_url = fields.Url(required=True, require_tld=False)


class CarrierOrderAcceptedSchema(StrictSchema):
    waybill = fields.String(required=True)
    client_reference = fields.String(required=True)
    carrier = fields.String(required=True)


class CarrierChecklistEntrySchema(StrictSchema):
    code = fields.String(required=True)
    present = fields.Boolean(required=True)


class CarrierCallbackSchema(StrictSchema):
    """The carrier's callback to postal (`POST /callbacks/carrier` on postal's HTTP port), signed
    `X-Carrier-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "<t>." + body)>`.

    `event_id` is unique per carrier event: a duplicate delivery of one event changes nothing.
    """

    event_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    waybill = fields.String(required=True)
    client_reference = fields.String(load_default=None, allow_none=True)
    event = fields.String(required=True, validate=validate.OneOf(CARRIER_EVENTS))
    occurred_at = fields.AwareDateTime(required=True)
    reason = fields.String(load_default=None, allow_none=True)  # collection_failed, attempt_failed
    recipient_name = fields.String(load_default=None, allow_none=True)  # delivered
    checklist = fields.List(fields.Nested(CarrierChecklistEntrySchema), load_default=None, allow_none=True)  # collected
    fees_collected_vnd = fields.Integer(load_default=None, allow_none=True)  # collected
    seal_number = fields.String(load_default=None, allow_none=True)  # collected, handed_over
    carrier_staff = fields.String(load_default=None, allow_none=True)
    received_by = fields.String(load_default=None, allow_none=True)  # handed_over: the officer who signed
