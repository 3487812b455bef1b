"""Which data schema each event on the bus carries: (producer, event type) -> schema."""
from marshmallow import Schema

from motcua_contracts.catalog import ProcedurePublishedSchema
from motcua_contracts.desk import DossierOverdueSchema, TokenRevokedSchema
from motcua_contracts.intake import DossierSubmittedSchema, SupplementSubmittedSchema
from motcua_contracts.notify import NotificationFailedSchema
from motcua_contracts.postal import (
    DELIVERY_EVENTS, PICKUP_EVENTS, DeliveryEventSchema, PickupEventSchema, PickupHandedOverSchema,
)
from motcua_contracts.status import DossierTransitionSchema

STATUS_EVENTS = (
    "dossier_registered", "dossier_received", "dossier_refused", "dossier_assigned", "dossier_transferred",
    "supplement_requested", "supplement_received", "payment_requested", "payment_recorded",
    "dossier_completed", "dossier_stopped", "dossier_returned", "dossier_withdrawn",
)

EVENT_SCHEMAS: dict[tuple[str, str], type[Schema]] = {
    ("catalog", "procedure_published"): ProcedurePublishedSchema,
    ("intake", "dossier_submitted"): DossierSubmittedSchema,
    ("intake", "supplement_submitted"): SupplementSubmittedSchema,
    **{("status", name): DossierTransitionSchema for name in STATUS_EVENTS},
    ("status", "dossier_overdue"): DossierOverdueSchema,
    ("status", "token_revoked"): TokenRevokedSchema,
    ("notify", "notification_failed"): NotificationFailedSchema,
    **{("postal", name): PickupEventSchema for name in PICKUP_EVENTS},
    ("postal", "pickup_handed_over"): PickupHandedOverSchema,
    **{("postal", name): DeliveryEventSchema for name in DELIVERY_EVENTS},
}


class UnknownEvent(KeyError):
    pass


def event_schema(producer: str, event_type: str) -> Schema:
    try:
        return EVENT_SCHEMAS[(producer, event_type)]()
    except KeyError:
        raise UnknownEvent(f"{producer}.{event_type} is not in the contract") from None


def dump_event_data(producer: str, event_type: str, data: dict) -> dict:
    """Serialise event data to JSON types and check it loads back under the contract."""
    schema = event_schema(producer, event_type)
    dumped = schema.dump(data)
    schema.load(dumped)
    return dumped


def load_event_data(producer: str, event_type: str, data: dict) -> dict:
    return event_schema(producer, event_type).load(data)
