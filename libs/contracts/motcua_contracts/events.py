"""Which data schema each event on the bus carries: (producer, event type) -> schema."""
from marshmallow import Schema, fields

from motcua_contracts.base import shared
from motcua_contracts.catalog import ProcedurePublishedSchema
from motcua_contracts.departments import CommandOutcomeSchema, DepartmentCommandSchema, WorkItemSchema
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


# Messages between status and the departments' own systems, on the departments.* exchanges
# (motcua_contracts.departments), not on a service's events exchange.
DEPARTMENT_MESSAGES: dict[tuple[str, str], type[Schema]] = {
    ("status", "work_item"): WorkItemSchema,
    ("status", "command_outcome"): CommandOutcomeSchema,
    ("department", "department_command"): DepartmentCommandSchema,
}
MESSAGE_SCHEMAS = {**EVENT_SCHEMAS, **DEPARTMENT_MESSAGES}
# Each producer's topic exchange: `<service>.events`.
EVENT_EXCHANGES = tuple(sorted({f"{producer}.events" for producer, _ in EVENT_SCHEMAS}))

# The current version of each message's data schema (1 unless listed). A new version may only add
# optional fields; a consumer that knows an older one ignores what it does not know.
EVENT_VERSIONS: dict[tuple[str, str], int] = {
    ("catalog", "procedure_published"): 2,  # 2: the agency's place_name
}


def event_version(producer: str, event_type: str) -> int:
    return EVENT_VERSIONS.get((producer, event_type), 1)


class UnknownEvent(KeyError):
    pass


def event_schema(producer: str, event_type: str) -> Schema:
    try:
        return shared(MESSAGE_SCHEMAS[(producer, event_type)])
    except KeyError:
        raise UnknownEvent(f"{producer}.{event_type} is not in the contract") from None


def dump_event_data(producer: str, event_type: str, data: dict) -> dict:
    """Serialise event data to JSON types and check it loads back under the contract."""
    schema = event_schema(producer, event_type)
    dumped = schema.dump(data)
    schema.load(dumped)
    return dumped


def load_event_data(producer: str, event_type: str, data: dict, schema_version: int = 1) -> dict:
    """`data` loaded by its contract schema. From a newer version than this code knows, the fields it
    does not know are dropped first (a newer version only adds optional fields); at a known version
    an unknown field is refused."""
    schema = event_schema(producer, event_type)
    if schema_version > event_version(producer, event_type):
        data = known_fields_only(schema, data)
    return schema.load(data)


def known_fields_only(schema: Schema, data: object) -> object:
    """`data` without the keys `schema` does not declare, at every depth of nesting."""
    if not isinstance(data, dict):
        return data
    by_key = {field.data_key or name: field for name, field in schema.load_fields.items()}
    return {key: _known(by_key[key], value) for key, value in data.items() if key in by_key}


def _known(field: fields.Field, value: object) -> object:
    if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
        if isinstance(value, list):
            return [known_fields_only(field.schema, item) for item in value]
        return known_fields_only(field.schema, value)
    if isinstance(field, fields.List) and isinstance(value, list):
        return [_known(field.inner, item) for item in value]
    return value
