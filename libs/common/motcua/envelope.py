"""The one envelope every message on the bus carries (docs/architecture.md section 5)."""
import uuid
from datetime import datetime, timezone

from motcua_contracts.envelope import EnvelopeSchema
from motcua_contracts.events import dump_event_data

_envelope_schema = EnvelopeSchema()


def make_envelope(
    event_type: str,
    producer: str,
    data: dict,
    dossier_code: str | None = None,
    correlation_id: str | None = None,
    schema_version: int = 1,
) -> dict:
    """Build and validate an envelope; the data must match the event's contract schema."""
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": schema_version,
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "producer": producer,
        "dossier_code": dossier_code,
        "correlation_id": correlation_id or uuid.uuid4().hex,
        "data": dump_event_data(producer, event_type, data),
    }
    # Round-trip through the schema so an off-contract event fails here, not at a consumer.
    _envelope_schema.load(envelope)
    return envelope
