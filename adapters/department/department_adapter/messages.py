"""What comes in (work items, command outcomes) and what goes out (commands), checked against the contract."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from marshmallow import ValidationError

from motcua_contracts.departments import (
    COMMAND_OUTCOME, CommandOutcomeSchema, DepartmentCommandSchema, WorkItemSchema,
)
from motcua_contracts.envelope import EnvelopeSchema

WORK_ITEM = "work_item"
DEPARTMENT_COMMAND = "department_command"
_DATA_SCHEMAS = {WORK_ITEM: WorkItemSchema(), COMMAND_OUTCOME: CommandOutcomeSchema()}
_envelope_schema = EnvelopeSchema()
_command_schema = DepartmentCommandSchema()
# Fixed forever: command ids derived from it must come out the same after any restart or upgrade.
_COMMAND_NAMESPACE = uuid.UUID("6f1c2b0e-3d4a-5b6c-8d7e-9f0a1b2c3d4e")


class Malformed(ValueError):
    """A message no handler can use: it is rejected, not retried."""


class InvalidDecision(ValueError):
    def __init__(self, messages: dict):
        super().__init__(json.dumps(messages, ensure_ascii=False))
        self.messages = messages


def parse_incoming(body: bytes, agency_code: str) -> dict:
    """The envelope as received (JSON types, so a handler can write it out as is), once it passed the contract."""
    try:
        envelope = json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise Malformed(f"not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise Malformed("not a JSON object")
    try:
        _envelope_schema.load(envelope)
        schema = _DATA_SCHEMAS.get(envelope["event_type"])
        if schema is None:
            raise Malformed(f"unexpected event_type {envelope['event_type']!r}")
        schema.load(envelope["data"])
    except ValidationError as exc:
        raise Malformed(f"off contract: {json.dumps(exc.messages, ensure_ascii=False)}") from None
    if envelope["data"]["agency_code"] != agency_code:
        raise Malformed(f"for agency {envelope['data']['agency_code']}, not {agency_code}")
    return envelope


def command_id_for(item_event_id: str, action: str) -> str:
    """The same decision on the same work item always gets the same id, so status applies it once."""
    return str(uuid.uuid5(_COMMAND_NAMESPACE, f"{item_event_id}:{action}"))


def build_command(decision: dict, item: dict, agency_code: str) -> dict:
    """A DepartmentCommandSchema body from a handler's decision on `item`, filling what the decision left out."""
    if not isinstance(decision, dict):
        raise InvalidDecision({"_schema": ["A decision is a JSON object."]})
    dossier_code = item["data"]["dossier_code"]
    body = dict(decision)
    errors: dict[str, list[str]] = {}
    for name, ours in (("agency_code", agency_code), ("dossier_code", dossier_code)):
        if not body.get(name):
            body[name] = ours
        elif body[name] != ours:
            errors[name] = [f"Must be {ours}, the work item's."]
    if not body.get("command_id") and isinstance(body.get("action"), str):
        body["command_id"] = command_id_for(item["event_id"], body["action"])
    try:
        loaded = _command_schema.load(body)
    except ValidationError as exc:
        errors.update(exc.messages)
    if errors:
        raise InvalidDecision(errors)
    return _command_schema.dump(loaded)


def command_envelope(command: dict, correlation_id: str) -> dict:
    envelope = {
        # Derived from the command id: every publication of one command is the same message.
        "event_id": str(uuid.uuid5(_COMMAND_NAMESPACE, f"envelope:{command['command_id']}")),
        "event_type": DEPARTMENT_COMMAND,
        "schema_version": 1,
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "producer": "department",
        "dossier_code": command["dossier_code"],
        "correlation_id": correlation_id,
        "data": command,
    }
    _envelope_schema.load(envelope)
    return envelope
