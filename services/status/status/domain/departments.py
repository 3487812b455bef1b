"""Department systems on the bus (motcua_contracts.departments), as plain Python: the work a
lifecycle change puts on an agency's desk, and the checks and answers of a department's command.

A department's command is a desk action: the lifecycle's rules and the desk's holder rule apply
as they are (status.domain.lifecycle, status.domain.permissions); here is only what is its own.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from motcua.dossier_code import is_valid_agency_code
from motcua.errors import Forbidden, MotCuaError, marshmallow_fields
from motcua_contracts.departments import WORK_ITEM_TYPES
from status.domain.lifecycle import Actor, Change, Command, Dossier

# The department_command table's key: a longer command_id cannot be kept, so it cannot be answered.
MAX_COMMAND_ID = 128


def work_item(dossier: Dossier, change: Change) -> dict[str, Any] | None:
    """The work item (WorkItemSchema data) `change` puts on an agency's desk, or None if it puts none.

    It is for the agency holding the dossier after the change: a transfer's receiving agency.
    `dossier` is the aggregate after the change, for what the change does not move.
    """
    event, entry = change.event, change.entry
    if event.type not in WORK_ITEM_TYPES:
        return None
    if event.type == "dossier_registered" and dossier.channel != "online":
        return None  # a counter or postal dossier is accepted in the same breath: its dossier_received says it
    transfer = event.type == "dossier_transferred"
    return {
        "item_type": event.type, "agency_code": event.data["to_agency_code"] if transfer else entry.agency_code,
        "dossier_code": dossier.code, "procedure_code": dossier.procedure_code,
        "procedure_name": dossier.procedure_name, "state": entry.to_state,
        "version": entry.seq,  # the version this change produced: what the department's expected_version says
        "channel": dossier.channel, "received_at": dossier.received_at,
        "appointment_date": event.data["appointment_date"],
        "from_agency_code": entry.agency_code if transfer else None,
        "assignee": dossier.assignee, "reason": entry.reason, "occurred_at": entry.at,
    }


def sender(routing_key: str) -> tuple[str, str] | None:
    """(agency, action) of a command's routing key `<agency code>.<action>`; None if it is not one."""
    agency, _, action = routing_key.rpartition(".")
    return (agency, action) if is_valid_agency_code(agency) and action else None


def check_routing(agency: str, action: str, command: Mapping[str, Any]) -> None:
    """The routing key names the sender (the broker's topic permissions vouch for it): the body must agree."""
    errors = {}
    if command["agency_code"] != agency:
        errors["agency_code"] = [f"Not the agency of the routing key ({agency})."]
    if command["action"] != action:
        errors["action"] = [f"Not the action of the routing key ({action})."]
    if errors:
        raise Forbidden("The command's body does not match its routing key.", errors)


def answerable_id(data: Mapping[str, Any], agency: str) -> str | None:
    """The command_id of an off-contract command that can still be answered, or None.

    Answerable: its command_id is readable and it names the agency of its routing key (the
    answer goes to that agency's queue).
    """
    command_id = data.get("command_id")
    readable = isinstance(command_id, str) and 0 < len(command_id) <= MAX_COMMAND_ID
    return command_id if readable and data.get("agency_code") == agency else None


def command(data: Mapping[str, Any]) -> Command:
    """The lifecycle command a department's (DepartmentCommandSchema data, loaded) stands for."""
    agency = data["agency_code"]
    return Command(
        action=data["action"], actor=Actor("department_system", data["official_id"] or f"department:{agency}", agency),
        idempotency_key=data["command_id"], reason=data["reason"], to_agency_code=data["to_agency_code"],
        missing_items=tuple(data["missing_items"] or ()), expected_version=data["expected_version"],
    )


def accepted(data: Mapping[str, Any], dossier: Dossier, at: datetime) -> dict[str, Any]:
    """The outcome (CommandOutcomeSchema data) of a command done: the dossier as it left it."""
    return {"command_id": data["command_id"], "agency_code": data["agency_code"], "dossier_code": dossier.code,
            "action": data["action"], "outcome": "accepted", "state": dossier.state, "version": dossier.version,
            "appointment_date": dossier.appointment_date, "error": None, "decided_at": at}


def rejected(command_id: str, agency: str, data: Mapping[str, Any], error: MotCuaError,
             at: datetime) -> dict[str, Any]:
    """The outcome of a command refused with the desk's error; nothing changed.

    A stale expected_version carries the dossier's current state and version, so the department
    can decide again on what is there now.
    """
    fields = dict(error.fields)
    current = fields.pop("current", None) or {}
    return {"command_id": command_id, "agency_code": agency, "dossier_code": echo(data.get("dossier_code")),
            "action": echo(data.get("action")), "outcome": "rejected", "state": current.get("state"),
            "version": current.get("version"), "appointment_date": None,
            "error": {"code": error.code, "message": error.message, "fields_": marshmallow_fields(fields)},
            "decided_at": at}


def echo(value: object) -> str | None:
    """`value` if it is a short string, else None: what an off-contract command said, safe to echo back."""
    return value if isinstance(value, str) and len(value) <= MAX_COMMAND_ID else None
